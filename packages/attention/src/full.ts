import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkShape, DLArgumentError, getRng, type Rng } from '@dl/core';
import { checkQKV, denseAllowed, emptyAttention, maskedSoftmax } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { checkOptionKeys, FULL_EXTRA_KEYS, FULL_KEYS } from './option-keys.js';

/** Options of {@link scaledDotProductAttention}. */
export interface FullAttentionOptions extends AttentionOptions {
  /** Multiplies q·k. Default 1/√dk. */
  scale?: number;
  /** Dropout probability on the attention weights (only when `training`). Default 0. */
  dropout?: number;
  /** Apply dropout. Default false. */
  training?: boolean;
  /** Generator for the dropout mask (default the global one). */
  rng?: Rng;
  /** Float scores added before the softmax, broadcastable to `[B, H, Lq, Lk]` (PyTorch's float `attn_mask`). */
  scoreBias?: tf.Tensor;
}

/**
 * Full scaled dot-product attention (Vaswani et al. 2017): every query is compared with every key,
 *
 * $$
 * A = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right) \text{ row by row}, \qquad O = A\,V
 * $$
 *
 * where $\frac{1}{\sqrt{d_k}}$ is the default `scale` and $M$ is $-\infty$ where a mask forbids a key (0 elsewhere,
 * plus any `scoreBias`). The picture: an N×N attention matrix, each row normalised, then a weighted sum of
 * the value vectors. Causal weights of random queries and keys (rows are queries, columns keys, dark = 0,
 * drawn with {@link heatmapPng}):
 *
 * ![Causal attention weights](../../../docs/figures/attention-causal.png)
 *
 * Cost: time O(Lq·Lk·d), memory O(Lq·Lk) (the score matrix). Without masks this is exactly
 * `matMul → softmax → matMul` (the scale is applied to q, an O(N·d) op).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { scaledDotProductAttention } from '@dl/attention';
 * const q = tf.randomNormal([2, 4, 10, 16]);
 * const { output, weights } = scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
 * ```
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: FullAttentionOptions = {}): AttentionResult {
  const where = 'scaledDotProductAttention';
  const dims = checkQKV(where, q, k, v, options, FULL_EXTRA_KEYS);
  const empty = emptyAttention(dims, options);
  if (empty) return empty;
  const scale = options.scale === undefined ? 1 / Math.sqrt(dims.dk) : checkNumber(where, 'scale', options.scale);
  const p = options.dropout === undefined ? 0 : checkNumber(where, 'dropout', options.dropout, 0, 1, false, true);
  if (options.scoreBias != null) {
    checkShape(where, 'scoreBias', options.scoreBias, { dtype: 'float32' });
    try {
      tf.broadcast_util.assertAndGetBroadcastShape(options.scoreBias.shape, [dims.batch, dims.heads, dims.lq, dims.lk]);
    } catch {
      throw new DLArgumentError(where, 'scoreBias', `broadcastable to [${dims.batch}, ${dims.heads}, ${dims.lq}, ${dims.lk}]`, options.scoreBias);
    }
  }
  return tf.tidy(() => {
    const weights = tf.tidy(() => {
      const qs = scale === 1 ? q : tf.mul(q, scale); // [B, H, Lq, dk]
      let scores = tf.matMul(qs, k, false, true); // [B, H, Lq, Lk]
      if (options.scoreBias) scores = tf.add(scores, options.scoreBias); // [B, H, Lq, Lk]
      const allowed = denseAllowed(dims, options); // [B|1, H|1, Lq, Lk] or null
      let w = maskedSoftmax(scores, allowed); // [B, H, Lq, Lk]
      if (options.training && p > 0) {
        const keep = tf.greaterEqual(tf.randomUniform(w.shape, 0, 1, 'float32', (options.rng ?? getRng()).seedForOp()), p); // [B, H, Lq, Lk]
        w = tf.mul(w, tf.div(tf.cast(keep, 'float32'), 1 - p)); // [B, H, Lq, Lk]
      }
      return w;
    });
    const output = tf.matMul(weights, v); // [B, H, Lq, dv]
    return options.returnWeights ? { output, weights } : { output };
  });
}

/**
 * {@link scaledDotProductAttention} with fixed options, as an {@link AttentionFn} (per-call options
 * are merged over these).
 *
 * @example
 * ```ts
 * import { fullAttention } from '@dl/attention';
 * const attend = fullAttention({ scale: 0.5 });
 * ```
 */
export function fullAttention(defaults: FullAttentionOptions = {}): AttentionFn {
  checkOptionKeys('fullAttention', defaults, FULL_KEYS);
  return (q, k, v, options = {}) => scaledDotProductAttention(q, k, v, { ...defaults, ...options });
}
