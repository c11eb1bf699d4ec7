import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, checkShape, DLArgumentError, isTensor } from '@dl/core';

/**
 * The guided-attention penalty matrix of Tachibana et al. 2018 for one pair of lengths:
 *
 * $$
 * W_{tn} = 1 - \exp\!\left(-\frac{(n/N - t/T)^2}{2g^2}\right)
 * $$
 *
 * for target (decoder) position $t < T$ and source (encoder) position $n < N$, counted from 0. It is 0 on the diagonal n/N = t/T and approaches 1 far from it, so
 * `Σ A·W` is small when the attention `A` moves through the source monotonically at a steady pace.
 *
 * @param tgtLength T, the target length (rows).
 * @param srcLength N, the source length (columns).
 * @param g the width of the band around the diagonal. Default 0.2 (the paper's).
 * @param reverse measure from the anti-diagonal (n counted from the end: outputs that read the source
 * backwards). Default false.
 * @returns `[T, N]` (a new tensor).
 *
 * @example
 * ```ts
 * import { guidedAttentionMatrix } from '@dl/transformer';
 * const w = guidedAttentionMatrix(2, 2, 0.5); // [[0, 0.3935], [0.3935, 0]]: 1 − e^(−0.25 / 0.5) off the diagonal
 * ```
 */
export function guidedAttentionMatrix(tgtLength: number, srcLength: number, g = 0.2, reverse = false): tf.Tensor2D {
  const where = 'guidedAttentionMatrix';
  const T = checkInt(where, 'tgtLength', tgtLength);
  const N = checkInt(where, 'srcLength', srcLength);
  const width = checkNumber(where, 'g', g, 0, Infinity, true);
  if (typeof reverse !== 'boolean') throw new DLArgumentError(where, 'reverse', 'a boolean', reverse);
  return tf.tidy(() => tf.squeeze(penalty([T], [N], T, N, width, reverse), [0]) as tf.Tensor2D); // [T, N]
}

/** Options of {@link guidedAttentionLoss}. */
export interface GuidedAttentionOptions {
  /** Width g of the band around the diagonal. Default 0.2 (Tachibana et al. 2018). */
  g?: number;
  /** Real source length of each row (padding at the end). Default: every position is real. */
  srcLengths?: readonly number[];
  /** Real target length of each row (padding at the end). Default: every position is real. */
  tgtLengths?: readonly number[];
  /** Boolean `[B, Ls]`, true = source padding (at the end), as `EncoderDecoder`'s masks; or give `srcLengths`. */
  srcKeyPaddingMask?: tf.Tensor;
  /** Boolean `[B, Lt]`, true = target padding (at the end); or give `tgtLengths`. */
  tgtKeyPaddingMask?: tf.Tensor;
  /** Which entries of the weight list enter the average: `'all'` (default), `'last'`, or indices. */
  layers?: 'all' | 'last' | readonly number[];
  /** Which heads enter the average: `'all'` (default) or head indices. */
  heads?: 'all' | readonly number[];
  /**
   * Measure from the anti-diagonal: source positions count from the end of each row's real source, for
   * outputs that read the source backwards (reversal). Default false.
   */
  reverse?: boolean;
}

const KEYS = ['g', 'srcLengths', 'tgtLengths', 'srcKeyPaddingMask', 'tgtKeyPaddingMask', 'layers', 'heads', 'reverse'];

/**
 * The guided-attention loss (Tachibana et al. 2018, "Efficiently Trainable Text-to-Speech System Based
 * on Deep Convolutional Networks with Guided Attention"), for tasks whose alignment is nearly monotonic
 * (transliteration, grapheme-to-phoneme, reversal read backwards, speech): it penalises cross-attention
 * weight far from the diagonal,
 *
 * $$
 * L = \operatorname*{mean}_{\ell,\, h,\, b,\, t < T_b,\, n < N_b} A^{(\ell h)}_{b,tn}\, W_{tn}, \qquad W_{tn} = 1 - \exp\!\left(-\frac{(n/N_b - t/T_b)^2}{2g^2}\right)
 * $$
 *
 * (see {@link guidedAttentionMatrix}) built from each
 * row's real lengths, so padding neither counts nor dilutes the mean (the masked mean ESPnet's
 * `GuidedAttentionLoss` takes). With `reverse: true` n counts from the end of the real source
 * (N_b − 1 − n), for outputs that read the source backwards, such as reversal. Add λ times it to the training loss; the paper uses λ = 1 and notes that
 * the alignment, and so the model, is learnt in far fewer steps.
 *
 * Feed it `crossWeights` from `EncoderDecoder.forward(src, tgtIn, { returnWeights: true })`: one
 * `[B, H, Lt, Ls]` tensor per decoder layer (a single tensor is one layer). Differentiable in the weights.
 *
 * @param weights cross-attention weights, one `[B, H, Lt, Ls]` tensor per layer.
 * @returns a scalar.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { EncoderDecoder, guidedAttentionLoss } from '@dl/transformer';
 * const model = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 9, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 2, dropout: 0, padId: 0, seed: 0 });
 * const src = [[3, 4, 5, 6], [7, 8, 0, 0]];
 * const tgtIn = [[1, 6, 5, 4], [1, 8, 0, 0]];
 * const { logits, crossWeights } = model.forward(src, tgtIn, { returnWeights: true });
 * // The targets reverse the sources: penalise distance from the anti-diagonal.
 * const ga = guidedAttentionLoss(crossWeights!, { srcLengths: [4, 2], tgtLengths: [4, 2], layers: 'last', reverse: true }); // scalar
 * ```
 */
export function guidedAttentionLoss(weights: tf.Tensor | readonly tf.Tensor[], options: GuidedAttentionOptions = {}): tf.Scalar {
  const where = 'guidedAttentionLoss';
  checkKeys(where, options, KEYS);
  const list = isTensor(weights) ? [weights] : weights;
  if (!Array.isArray(list) || list.length === 0) throw new DLArgumentError(where, 'weights', 'a [B, H, Lt, Ls] tensor or a non-empty list of them (one per layer)', weights);
  list.forEach((w, i) => checkShape(where, `weights[${i}]`, w, { rank: 4, dtype: 'float32' }));
  const [B, H, Lt, Ls] = list[0].shape;
  list.forEach((w, i) => {
    if (w.shape.join(',') !== list[0].shape.join(',')) throw new DLArgumentError(where, `weights[${i}]`, `of shape [${list[0].shape.join(',')}] (as weights[0])`, w);
  });
  const g = checkNumber(where, 'g', options.g ?? 0.2, 0, Infinity, true);
  const reverse = options.reverse ?? false;
  if (typeof reverse !== 'boolean') throw new DLArgumentError(where, 'reverse', 'a boolean', reverse);
  const layers = options.layers ?? 'all';
  let chosen: number[];
  if (layers === 'all') chosen = list.map((_, i) => i);
  else if (layers === 'last') chosen = [list.length - 1];
  else if (Array.isArray(layers) && layers.length > 0 && layers.every((i) => Number.isInteger(i) && i >= 0 && i < list.length) && new Set(layers).size === layers.length) chosen = [...layers];
  else throw new DLArgumentError(where, 'layers', `'all', 'last' or distinct indices in [0, ${list.length})`, layers);
  const heads = options.heads ?? 'all';
  if (heads !== 'all' && !(Array.isArray(heads) && heads.length > 0 && heads.every((h) => Number.isInteger(h) && h >= 0 && h < H) && new Set(heads).size === heads.length)) {
    throw new DLArgumentError(where, 'heads', `'all' or distinct head indices in [0, ${H})`, heads);
  }
  const srcLen = lengthsOf(where, 'srcLengths', 'srcKeyPaddingMask', options.srcLengths, options.srcKeyPaddingMask, B, Ls);
  const tgtLen = lengthsOf(where, 'tgtLengths', 'tgtKeyPaddingMask', options.tgtLengths, options.tgtKeyPaddingMask, B, Lt);
  return tf.tidy(() => {
    const w = tf.expandDims(penalty(tgtLen(), srcLen(), Lt, Ls, g, reverse), 1); // [B, 1, Lt, Ls], 0 outside the real lengths
    const headIdx = heads === 'all' ? null : tf.tensor1d(heads as number[], 'int32');
    let total: tf.Tensor = tf.scalar(0); // []
    for (const i of chosen) {
      const a = headIdx ? tf.gather(list[i], headIdx, 1) : list[i]; // [B, h, Lt, Ls]
      total = tf.add(total, tf.sum(tf.mul(a, w))); // []
    }
    // Every chosen (layer, head) contributes Σ_b T_b·N_b real entries.
    const real = tf.sum(tf.mul(tf.cast(tgtLen(), 'float32'), tf.cast(srcLen(), 'float32'))); // []
    const count = tf.mul(real, chosen.length * (heads === 'all' ? H : heads.length)); // []
    return tf.div(total, tf.maximum(count, 1)) as tf.Scalar;
  });
}

/** `W` for each row, zero outside its lengths: `[B, Lt, Ls]`. `tgtLen`, `srcLen`: int32 `[B]` tensors or arrays. */
function penalty(tgtLen: tf.Tensor | number[], srcLen: tf.Tensor | number[], Lt: number, Ls: number, g: number, reverse: boolean): tf.Tensor {
  return tf.tidy(() => {
    const T = tf.reshape(tf.cast(isTensor(tgtLen) ? tgtLen : tf.tensor1d(tgtLen, 'int32'), 'float32'), [-1, 1, 1]); // [B, 1, 1]
    const N = tf.reshape(tf.cast(isTensor(srcLen) ? srcLen : tf.tensor1d(srcLen, 'int32'), 'float32'), [-1, 1, 1]); // [B, 1, 1]
    const t = tf.reshape(tf.range(0, Lt, 1, 'float32'), [1, Lt, 1]); // [1, Lt, 1]
    const n = tf.reshape(tf.range(0, Ls, 1, 'float32'), [1, 1, Ls]); // [1, 1, Ls]
    const pos = reverse ? tf.sub(tf.sub(N, 1), n) : n; // [B, 1, Ls] or [1, 1, Ls]: N − 1 − n backwards
    const d = tf.sub(tf.div(pos, N), tf.div(t, T)); // [B, Lt, Ls]
    const w = tf.sub(1, tf.exp(tf.div(tf.neg(tf.square(d)), 2 * g * g))); // [B, Lt, Ls]
    const inside = tf.logicalAnd(tf.less(t, T), tf.less(n, N)); // [B, Lt, Ls]
    return tf.where(inside, w, tf.zerosLike(w)); // [B, Lt, Ls]
  });
}

/** Checks lengths or a padding mask and returns a maker of the int32 `[B]` lengths tensor (new each call). */
function lengthsOf(where: string, lengthsArg: string, maskArg: string, lengths: readonly number[] | undefined, mask: tf.Tensor | undefined, B: number, L: number): () => tf.Tensor {
  if (lengths !== undefined && mask !== undefined) throw new DLArgumentError(where, lengthsArg, `given either as ${lengthsArg} or as ${maskArg}, not both`, 'both');
  if (mask !== undefined) {
    checkShape(where, maskArg, mask, { rank: 2, dims: { 0: B, 1: L }, dtype: 'bool' });
    return () => tf.tidy(() => tf.sub(tf.scalar(L, 'int32'), tf.sum(tf.cast(mask, 'int32'), 1))); // [B]
  }
  if (lengths !== undefined) {
    if (!Array.isArray(lengths) || lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > L)) {
      throw new DLArgumentError(where, lengthsArg, `${B} integers in [1, ${L}]`, lengths);
    }
    return () => tf.tensor1d(lengths as number[], 'int32');
  }
  return () => tf.fill([B], L, 'int32');
}
