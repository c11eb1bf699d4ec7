import type * as tf from '@tensorflow/tfjs-core';

/**
 * Options every attention variant accepts. Shapes: queries `[batch, heads, Lq, dk]`, keys
 * `[batch, heads, Lk, dk]`, values `[batch, heads, Lk, dv]`.
 *
 * Masks follow one convention across `@dl` (the README's "Masks" section is the reference):
 * - `mask`: boolean, **true = may attend** (as `F.scaled_dot_product_attention`'s boolean `attn_mask`).
 *   Shape `[Lq, Lk]` or `[batch|1, heads|1, Lq, Lk]`. Use it for graphs (attend only along edges) or
 *   any hand-made pattern. `torch.nn.MultiheadAttention`'s boolean `attn_mask` means the opposite
 *   (true = blocked): {@link invertMask} converts it.
 * - `keyPaddingMask`: boolean `[batch, Lk]`, **true = padding, ignore this key** (PyTorch's
 *   `key_padding_mask`; the name says what true marks).
 * - `causal`: query i may attend key j only when j ≤ i + (Lk − Lq) (aligned to the end, so a single new
 *   query attends to every cached key).
 * - `returnWeights`: also return the weights (the one name for it everywhere in `@dl`).
 *
 * A query whose every key is masked gets all-zero weights and an all-zero output (never NaN).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { scaledDotProductAttention, type AttentionOptions } from '@dl/attention';
 * const q = tf.randomNormal([1, 2, 4, 8]);
 * const opts: AttentionOptions = { causal: true, returnWeights: true };
 * const { output, weights } = scaledDotProductAttention(q, q, q, opts); // [1,2,4,8], [1,2,4,4]
 * ```
 */
export interface AttentionOptions {
  /** Boolean mask, true = may attend; `[Lq, Lk]` or `[batch|1, heads|1, Lq, Lk]`. */
  mask?: tf.Tensor;
  /** Boolean `[batch, Lk]`, true = padding (ignored key), as PyTorch's `key_padding_mask`. */
  keyPaddingMask?: tf.Tensor;
  /** Causal (autoregressive) masking: query i sees keys j ≤ i + (Lk − Lq). */
  causal?: boolean;
  /** Also return the attention weights `[batch, heads, Lq, Lk]` (dense: costs Lq·Lk memory). */
  returnWeights?: boolean;
}

/**
 * What an attention call returns: the output `[batch, heads, Lq, dv]` and, when
 * {@link AttentionOptions.returnWeights} was set, the weights `[batch, heads, Lq, Lk]` (rows sum to 1,
 * or to 0 for fully masked queries).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { scaledDotProductAttention } from '@dl/attention';
 * const x = tf.ones([1, 1, 3, 4]);
 * const r = scaledDotProductAttention(x, x, x);
 * r.output.shape; // [1, 1, 3, 4]
 * ```
 */
export type AttentionResult = {
  /** `[batch, heads, Lq, dv]`. */
  output: tf.Tensor;
  /** `[batch, heads, Lq, Lk]` when requested. */
  weights?: tf.Tensor;
};

/**
 * The one interface of every variant: `(q, k, v, options) → { output, weights? }`. A model picks a
 * variant per layer (pass a different function) and per head (see {@link perHead}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { localAttention, scaledDotProductAttention, type AttentionFn } from '@dl/attention';
 * const variants: AttentionFn[] = [scaledDotProductAttention, localAttention({ lookBack: 2, lookForward: 2 })];
 * const x = tf.randomNormal([1, 1, 8, 4]);
 * for (const attend of variants) attend(x, x, x).output.print();
 * ```
 */
export type AttentionFn = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options?: AttentionOptions) => AttentionResult;
