import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkShape, DLArgumentError } from '@dl/core';
import type { AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { ATTENTION_KEYS, checkOptionKeys, GRAPH_MASK_KEYS } from './option-keys.js';

/** Score given to masked pairs before the softmax (finite, so fully masked rows never make NaN). */
export const MASKED_SCORE = -1e9;

/**
 * Sizes read from checked queries, keys and values.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkQKV } from '@dl/attention';
 * const x = tf.zeros([2, 4, 16, 8]);
 * checkQKV('myAttention', x, x, x); // { batch: 2, heads: 4, lq: 16, lk: 16, dk: 8, dv: 8 }
 * ```
 */
export interface QKVDims {
  /** Batch size. */
  batch: number;
  /** Number of heads. */
  heads: number;
  /** Query length. */
  lq: number;
  /** Key (and value) length. */
  lk: number;
  /** Query/key feature size. */
  dk: number;
  /** Value feature size. */
  dv: number;
}

/**
 * Checks that q `[B,H,Lq,dk]`, k `[B,H,Lk,dk]`, v `[B,H,Lk,dv]` agree, that `options` has only known keys
 * (those of {@link AttentionOptions} plus `extraKeys`), and that its masks have valid shapes and dtypes.
 * Throws a {@link DLArgumentError} naming the argument otherwise.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkQKV } from '@dl/attention';
 * checkQKV('f', tf.zeros([1, 1, 3, 4]), tf.zeros([1, 1, 5, 4]), tf.zeros([1, 1, 5, 2])).lk; // 5
 * ```
 */
export function checkQKV(where: string, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}, extraKeys: readonly string[] = []): QKVDims {
  checkOptionKeys(where, options, extraKeys.length ? [...ATTENTION_KEYS, ...extraKeys] : ATTENTION_KEYS);
  checkShape(where, 'q', q, { rank: 4, dtype: 'float32' });
  checkShape(where, 'k', k, { rank: 4, dtype: 'float32' });
  checkShape(where, 'v', v, { rank: 4, dtype: 'float32' });
  const [batch, heads, lq, dk] = sh(q);
  if (sh(k)[0] !== batch || sh(k)[1] !== heads) throw new DLArgumentError(where, 'k', `of shape [${batch}, ${heads}, Lk, ${dk}] (batch and heads as q)`, k);
  if (sh(k)[3] !== dk) throw new DLArgumentError(where, 'k', `of head dim ${dk} (as q)`, k);
  const lk = sh(k)[2];
  if (sh(v)[0] !== batch || sh(v)[1] !== heads || sh(v)[2] !== lk) throw new DLArgumentError(where, 'v', `of shape [${batch}, ${heads}, ${lk}, dv] (batch, heads and length as k)`, v);
  if (lq < 1 || lk < 1 || dk < 1 || sh(v)[3] < 1) throw new DLArgumentError(where, 'q', 'non-empty', q);
  const dims = { batch, heads, lq, lk, dk, dv: sh(v)[3] };
  checkMasks(where, dims, options);
  return dims;
}

/**
 * Attention over an empty batch (batch or heads 0): empty output `[B, H, Lq, dv]` and, when asked,
 * weights `[B, H, Lq, weightsWidth]`, made without running any attention kernel (several wasm kernels
 * trap on empty inputs: "divide by zero", "remainder by zero"). Null when the batch is not empty.
 * Package-internal.
 */
export function emptyAttention(dims: QKVDims, options: AttentionOptions, weightsWidth = dims.lk): AttentionResult | null {
  if (dims.batch > 0 && dims.heads > 0) return null;
  const output = tf.zeros([dims.batch, dims.heads, dims.lq, dims.dv]); // [0, H, Lq, dv]
  return options.returnWeights ? { output, weights: tf.zeros([dims.batch, dims.heads, dims.lq, weightsWidth]) } : { output }; // [0, H, Lq, ·]
}

/**
 * Checks the shapes and dtypes of `options.mask` and `options.keyPaddingMask` against `dims`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkMasks } from '@dl/attention';
 * checkMasks('f', { batch: 1, heads: 1, lq: 2, lk: 2, dk: 4, dv: 4 }, { mask: tf.ones([2, 2], 'bool') });
 * ```
 */
export function checkMasks(where: string, dims: QKVDims, options: AttentionOptions): void {
  const { mask, keyPaddingMask } = options;
  if (mask != null) {
    checkShape(where, 'mask', mask, { rank: [2, 4], dtype: 'bool' });
    const [b, h, r, c] = mask.rank === 2 ? [1, 1, ...mask.shape] : mask.shape;
    const ok = r === dims.lq && c === dims.lk && (b === 1 || b === dims.batch) && (h === 1 || h === dims.heads);
    if (!ok) throw new DLArgumentError(where, 'mask', `of shape [${dims.lq}, ${dims.lk}] or [${dims.batch}|1, ${dims.heads}|1, ${dims.lq}, ${dims.lk}]`, mask);
  }
  if (keyPaddingMask != null) {
    checkShape(where, 'keyPaddingMask', keyPaddingMask, { rank: 2, dtype: 'bool' });
    if (sh(keyPaddingMask)[0] !== dims.batch || sh(keyPaddingMask)[1] !== dims.lk) {
      throw new DLArgumentError(where, 'keyPaddingMask', `of shape [${dims.batch}, ${dims.lk}]`, keyPaddingMask);
    }
  }
  if (options.causal != null && typeof options.causal !== 'boolean') throw new DLArgumentError(where, 'causal', 'a boolean', options.causal);
}

/** The user mask as rank 4 `[B|1, H|1, Lq, Lk]` (a reshape, caller disposes). */
export function mask4d(mask: tf.Tensor): tf.Tensor {
  return mask.rank === 4 ? tf.clone(mask) : tf.reshape(mask, [1, 1, ...mask.shape]);
}

/**
 * Boolean causal mask `[lq, lk]`, true where query i may attend key j, i.e. j ≤ i + (lk − lq).
 *
 * @example
 * ```ts
 * import { causalMask } from '@dl/attention';
 * causalMask(3, 3).print(); // lower triangle of trues
 * ```
 */
export function causalMask(lq: number, lk = lq): tf.Tensor {
  checkInt('causalMask', 'lq', lq);
  checkInt('causalMask', 'lk', lk);
  const data = new Uint8Array(lq * lk);
  const off = lk - lq;
  for (let i = 0; i < lq; i++) for (let j = 0; j < lk; j++) data[i * lk + j] = j <= i + off ? 1 : 0;
  return tf.tensor(data, [lq, lk], 'bool');
}

/**
 * A boolean mask with every entry flipped, for masks written in the opposite convention: PyTorch's
 * `nn.MultiheadAttention` and `nn.Transformer` take boolean `attn_mask` / `tgt_mask` with **true =
 * blocked**, while every `mask` in `@dl` means **true = may attend** (see the README's "Masks").
 * `invertMask(torchMask)` is the `mask` to pass. Caller disposes the result.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { invertMask } from '@dl/attention';
 * const torchCausal = tf.tensor2d([[false, true], [false, false]], [2, 2], 'bool'); // true = blocked
 * invertMask(torchCausal).print(); // [[true, false], [true, true]]: true = may attend
 * ```
 */
export function invertMask(mask: tf.Tensor): tf.Tensor {
  checkShape('invertMask', 'mask', mask, { dtype: 'bool' });
  return tf.logicalNot(mask);
}

/**
 * Key padding mask `[batch, length]` from sequence lengths: true at the padded positions (PyTorch's
 * `key_padding_mask` convention).
 *
 * @example
 * ```ts
 * import { keyPaddingFromLengths } from '@dl/attention';
 * keyPaddingFromLengths([2, 4], 4).print(); // [[F,F,T,T],[F,F,F,F]]
 * ```
 */
export function keyPaddingFromLengths(lengths: number[], length: number): tf.Tensor {
  checkInt('keyPaddingFromLengths', 'length', length);
  const data = new Uint8Array(lengths.length * length);
  lengths.forEach((n, b) => {
    checkInt('keyPaddingFromLengths', `lengths[${b}]`, n, 0);
    for (let j = n; j < length; j++) data[b * length + j] = 1;
  });
  return tf.tensor(data, [lengths.length, length], 'bool');
}

/**
 * Attention along a graph's edges (graph attention, Veličković et al. 2018: on a graph only connected nodes are scored; the rest
 * is 0): a boolean `[n, n]` mask, true where an edge `[from, to]` lets node `from` attend node `to`.
 * With `undirected` (default) both directions; with `selfLoops` (default) every node attends itself.
 *
 * @example
 * ```ts
 * import { graphMask } from '@dl/attention';
 * const m = graphMask(3, [[0, 1], [1, 2]]); // a path 0–1–2
 * ```
 */
export function graphMask(n: number, edges: [number, number][], options: { undirected?: boolean; selfLoops?: boolean } = {}): tf.Tensor {
  checkInt('graphMask', 'n', n);
  checkOptionKeys('graphMask', options, GRAPH_MASK_KEYS);
  const data = new Uint8Array(n * n);
  if (options.selfLoops ?? true) for (let i = 0; i < n; i++) data[i * n + i] = 1;
  edges.forEach(([a, b], e) => {
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= n || b >= n) {
      throw new DLArgumentError('graphMask', `edges[${e}]`, `a pair of node indices in [0, ${n})`, [a, b]);
    }
    data[a * n + b] = 1;
    if (options.undirected ?? true) data[b * n + a] = 1;
  });
  return tf.tensor(data, [n, n], 'bool');
}

/**
 * Everything in `options` as one float 0/1 tensor broadcastable to `[B, H, Lq, Lk]` (1 = may attend),
 * or null when nothing is masked. Dense: Lq·Lk. Caller disposes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkQKV, denseAllowed } from '@dl/attention';
 * const q = tf.zeros([1, 1, 4, 8]);
 * const allowed = denseAllowed(checkQKV('example', q, q, q, { causal: true }), { causal: true }); // lower-triangular 0/1
 * ```
 */
export function denseAllowed(dims: QKVDims, options: AttentionOptions): tf.Tensor | null {
  if (!options.causal && !options.keyPaddingMask && !options.mask) return null;
  return tf.tidy(() => {
    let allowed: tf.Tensor | null = null;
    const and = (m: tf.Tensor) => {
      allowed = allowed == null ? m : tf.mul(allowed, m);
    };
    if (options.causal) {
      const c = causalMask(dims.lq, dims.lk); // [Lq, Lk]
      and(tf.cast(c, 'float32'));
    }
    if (options.keyPaddingMask) {
      const keep = tf.sub(1, tf.cast(options.keyPaddingMask, 'float32')); // [B, Lk]
      and(tf.reshape(keep, [dims.batch, 1, 1, dims.lk]));
    }
    if (options.mask) and(tf.cast(mask4d(options.mask), 'float32')); // [B|1, H|1, Lq, Lk]
    return allowed as unknown as tf.Tensor;
  });
}

/**
 * Softmax over the last axis where `allowed` (0/1 floats, broadcastable) is 1; masked entries get weight
 * exactly 0 and a fully masked row is all zeros. With `allowed` null, the plain softmax.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { maskedSoftmax } from '@dl/attention';
 * const w = maskedSoftmax(tf.tensor2d([[1, 2, 3], [1, 1, 1]]), tf.tensor2d([[1, 1, 0], [0, 0, 0]])); // row 2 is all zeros
 * ```
 */
export function maskedSoftmax(scores: tf.Tensor, allowed: tf.Tensor | null): tf.Tensor {
  if (allowed == null) return tf.softmax(scores);
  return tf.tidy(() => {
    const bias = tf.mul(tf.sub(allowed, 1), -MASKED_SCORE); // 0 allowed, -1e9 masked
    return tf.mul(tf.softmax(tf.add(scores, bias)), allowed);
  });
}
