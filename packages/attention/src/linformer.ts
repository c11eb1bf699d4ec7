import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, checkShape, DLArgumentError, matMul, Module, type Rng, uniform } from '@dl/core';
import { checkQKV, emptyAttention } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { checkOptionKeys, LINFORMER_KEYS } from './option-keys.js';

/**
 * Linformer attention with given projections (Wang et al. 2020: fewer keys and values, the same number
 * of queries, since the output length must not change):
 *
 * $$
 * K' = E K, \qquad V' = F V, \qquad O = \operatorname{softmax}\!\left(\frac{Q K'^\top}{\sqrt{d_k}}\right) V'
 * $$
 *
 * with `E`, `F` `[kProj, ≥Lk]` (only the first Lk columns are used), then full attention of the Lq queries
 * over the kProj projected keys. Padded keys (`keyPaddingMask`) are zeroed before projecting. Not
 * causal, and an arbitrary `mask` over the Lk original keys is meaningless after projection: both throw.
 *
 * Cost in N: O(N·kProj·d) time and O(N·kProj) memory.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { linformerAttention } from '@dl/attention';
 * const x = tf.randomNormal([1, 2, 64, 8]);
 * const E = tf.randomNormal([16, 64], 0, 0.125);
 * linformerAttention(x, x, x, E, E).output.shape; // [1, 2, 64, 8]
 * ```
 */
export function linformerAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, E: tf.Tensor, F: tf.Tensor, options: AttentionOptions & { scale?: number } = {}): AttentionResult {
  const where = 'linformerAttention';
  const dims = checkQKV(where, q, k, v, options, ['scale']);
  checkShape(where, 'E', E, { rank: 2, dtype: 'float32' });
  checkShape(where, 'F', F, { rank: 2, dims: { 0: sh(E)[0] }, dtype: 'float32' });
  if (sh(E)[1] < dims.lk) throw new DLArgumentError(where, 'E', `of shape [kProj, ≥ ${dims.lk}] (at least the key length)`, E);
  if (sh(F)[1] < dims.lk) throw new DLArgumentError(where, 'F', `of shape [kProj, ≥ ${dims.lk}] (at least the key length)`, F);
  if (options.causal) throw new DLArgumentError(where, 'causal', 'false (projected keys mix all positions, so Linformer cannot be causal)', true);
  if (options.mask) throw new DLArgumentError(where, 'mask', 'absent (keys are projected from N to kProj; use keyPaddingMask)', options.mask);
  const scale = options.scale === undefined ? 1 / Math.sqrt(dims.dk) : checkNumber(where, 'scale', options.scale);
  const { batch: B, heads: H, lk, dk, dv } = dims;
  const kp = sh(E)[0];
  const empty = emptyAttention(dims, options, kp);
  if (empty) return empty;
  return tf.tidy(() => {
    const e = sh(E)[1] === lk ? E : tf.slice(E, [0, 0], [kp, lk]); // [kProj, Lk]
    const f = sh(F)[1] === lk ? F : tf.slice(F, [0, 0], [kp, lk]); // [kProj, Lk]
    let kk = k;
    let vv = v;
    if (options.keyPaddingMask) {
      const keep = tf.reshape(tf.sub(1, tf.cast(options.keyPaddingMask, 'float32')), [B, 1, lk, 1]); // [B, 1, Lk, 1]
      kk = tf.mul(k, keep); // [B, H, Lk, dk]
      vv = tf.mul(v, keep); // [B, H, Lk, dv]
    }
    const project = (x: tf.Tensor, p: tf.Tensor, d: number) => {
      const xt = tf.reshape(tf.transpose(x, [0, 1, 3, 2]), [B * H * d, lk]); // [B·H·d, Lk]
      return tf.transpose(tf.reshape(matMul(xt, p, false, true), [B, H, d, kp]), [0, 1, 3, 2]); // [B, H, kProj, d]
    };
    const kProj = project(kk, e, dk); // [B, H, kProj, dk]
    const vProj = project(vv, f, dv); // [B, H, kProj, dv]
    const weights = tf.softmax(matMul(tf.mul(q, scale), kProj, false, true)); // [B, H, Lq, kProj]
    const output = matMul(weights, vProj); // [B, H, Lq, dv]
    return options.returnWeights ? { output, weights } : { output };
  });
}

/** Options of {@link Linformer}. */
export interface LinformerOptions {
  /** Use one projection for keys and values (E = F). Default false. */
  shareKV?: boolean;
  /** Generator for the initial projections. */
  rng?: Rng;
}

/**
 * Linformer's learned projections as a module: parameters `E` (and `F` unless `shareKV`) of shape
 * `[kProj, maxLen]`, initialised U(±1/√maxLen). `forward` runs {@link linformerAttention}. Note the
 * weights it returns are `[B, H, Lq, kProj]` (over projected keys).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Linformer } from '@dl/attention';
 * const lin = new Linformer(128, 32);
 * const x = tf.randomNormal([1, 4, 128, 16]);
 * lin.forward(x, x, x).output.shape; // [1, 4, 128, 16]
 * ```
 */
export class Linformer extends Module {
  /** Key projection `[kProj, maxLen]`. */
  readonly E: tf.Variable;
  /** Value projection `[kProj, maxLen]` (E itself when shared). */
  readonly F: tf.Variable;

  /**
   * @param maxLen the longest key sequence.
   * @param kProj projected length (k in the paper).
   */
  constructor(
    readonly maxLen: number,
    readonly kProj: number,
    options: LinformerOptions = {},
  ) {
    super();
    checkOptionKeys('Linformer', options, LINFORMER_KEYS);
    checkInt('Linformer', 'maxLen', maxLen);
    checkInt('Linformer', 'kProj', kProj);
    const init = uniform(-1 / Math.sqrt(maxLen), 1 / Math.sqrt(maxLen));
    this.E = this.registerParameter('E', init([kProj, maxLen], options.rng));
    this.F = options.shareKV ? this.E : this.registerParameter('F', init([kProj, maxLen], options.rng));
  }

  /**
   * Projects keys and values to kProj positions and attends over them.
   *
   * @param q `[B, H, Lq, dk]`, `k` `[B, H, Lk ≤ maxLen, dk]`, `v` `[B, H, Lk, dv]`.
   */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
    return linformerAttention(q, k, v, this.E, this.F, options);
  }

  /** This module as an {@link AttentionFn}. */
  readonly attend: AttentionFn = (q, k, v, options) => this.forward(q, k, v, options);
}
