import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, DLArgumentError, matMul } from '@dl/core';
import { eluFeatureMap, reluFeatureMap, type FeatureMap } from './feature-maps.js';
import { checkQKV, denseAllowed, emptyAttention, type QKVDims } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { checkOptionKeys, LINEAR_KEYS } from './option-keys.js';

/** Options of {@link linearAttention}. */
export interface LinearAttentionOptions {
  /** φ: `'elu'` (elu + 1, default), `'relu'`, or a {@link FeatureMap} such as {@link favorFeatureMap}. */
  featureMap?: FeatureMap | 'elu' | 'relu';
  /** Causal, by prefix sums. */
  causal?: boolean;
  /** Positions per chunk of the causal prefix sums (1 = per-position prefix sums). Default 64. */
  chunkSize?: number;
  /** Added to the normaliser. Default 1e-6. */
  eps?: number;
}

/**
 * Resolves a feature-map option.
 *
 * @example
 * ```ts
 * import { resolveFeatureMap } from '@dl/attention';
 * const phi = resolveFeatureMap('example', 'elu'); // elu(x) + 1
 * phi.featureDim(64); // 64
 * ```
 */
export function resolveFeatureMap(where: string, f: LinearAttentionOptions['featureMap']): FeatureMap {
  if (f === undefined || f === 'elu') return eluFeatureMap;
  if (f === 'relu') return reluFeatureMap;
  if (typeof f === 'object' && typeof f.apply === 'function' && typeof f.featureDim === 'function') return f;
  throw new DLArgumentError(where, 'featureMap', "'elu', 'relu' or a FeatureMap", f);
}

/**
 * Exclusive cumulative sum over axis 1 of a rank-4 tensor (rank 5 trips WebGPU kernels). tfjs 4.22's Cumsum gradient is wrong when the
 * axis is not the last one, so the axis is moved last, summed there, and moved back.
 */
function exclusivePrefixSum(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.transpose(x, [0, 2, 3, 1]); // [BH, a, b, nC]
    return tf.transpose(tf.cumsum(t, 3, true), [0, 3, 1, 2]); // [BH, nC, a, b]
  });
}

/** φ(q) and φ(k) (padded keys zeroed). */
function features(fm: FeatureMap, q: tf.Tensor, k: tf.Tensor, dims: QKVDims, options: AttentionOptions): [tf.Tensor, tf.Tensor] {
  fm.featureDim(dims.dk);
  const fq = fm.apply(q, true); // [B, H, Lq, m]
  let fk = fm.apply(k, false); // [B, H, Lk, m]
  if (options.keyPaddingMask) fk = tf.mul(fk, tf.reshape(tf.sub(1, tf.cast(options.keyPaddingMask, 'float32')), [dims.batch, 1, dims.lk, 1])); // [B, H, Lk, m]
  return [fq, fk];
}

/**
 * The quadratic form of linear attention, for reference and for arbitrary masks:
 *
 * $$
 * b_i = \frac{\sum_j \left(\phi(q_i)\cdot\phi(k_j)\right) v_j}{\sum_j \phi(q_i)\cdot\phi(k_j) + \epsilon}
 * $$
 *
 * over the allowed $j$. $O(L_q L_k)$ memory.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { linearAttentionQuadratic } from '@dl/attention';
 * const x = tf.randomNormal([1, 1, 6, 4]);
 * linearAttentionQuadratic(x, x, x, {}, { causal: true }).output.shape; // [1, 1, 6, 4]
 * ```
 */
export function linearAttentionQuadratic(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, config: LinearAttentionOptions = {}, options: AttentionOptions = {}): AttentionResult {
  const where = 'linearAttentionQuadratic';
  checkOptionKeys(where, config, LINEAR_KEYS);
  const dims = checkQKV(where, q, k, v, options);
  const fm = resolveFeatureMap(where, config.featureMap);
  const eps = checkNumber(where, 'eps', config.eps ?? 1e-6, 0);
  const causal = (config.causal ?? false) || (options.causal ?? false);
  const empty = emptyAttention(dims, options);
  if (empty) return empty;
  return tf.tidy(() => {
    const [fq, fk] = features(fm, q, k, dims, options);
    let A = matMul(fq, fk, false, true); // [B, H, Lq, Lk]
    const allowed = denseAllowed(dims, { ...options, causal, keyPaddingMask: undefined }); // [.., Lq, Lk]
    if (allowed) A = tf.mul(A, allowed); // [B, H, Lq, Lk]
    const weights = tf.div(A, tf.add(tf.sum(A, -1, true), eps)); // [B, H, Lq, Lk]
    const output = matMul(weights, v); // [B, H, Lq, dv]
    return options.returnWeights ? { output, weights } : { output };
  });
}

/**
 * Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"): replace $\exp(q\cdot k)$ by $\phi(q)\cdot\phi(k)$,
 * then
 *
 * $$
 * b_i = \frac{\phi(q_i)^\top \sum_j \phi(k_j)\, v_j^\top}{\phi(q_i)^\top \sum_j \phi(k_j)}.
 * $$
 *
 * Non-causal: compute φ(K)ᵀV (`[m, dv]`, m templates shared
 * by every query) and Σφ(k) once, then each query only selects from them: 2·m·dv·N multiplications
 * instead of (d + dv)·N². Causal: prefix sums of φ(kⱼ)vⱼᵀ, computed per chunk (an exclusive cumulative
 * sum of chunk states plus a small masked c×c term inside each chunk).
 *
 * Cost in N: O(N·m·dv) time, O(N·(m + dv) + (N/c)·m·dv + N·c) memory. An arbitrary `mask` (or
 * `returnWeights`) falls back to the O(N²) quadratic form {@link linearAttentionQuadratic}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { linearAttention } from '@dl/attention';
 * const attend = linearAttention({ featureMap: 'elu', causal: true });
 * const x = tf.randomNormal([1, 2, 128, 16]);
 * attend(x, x, x).output.shape; // [1, 2, 128, 16]
 * ```
 */
export function linearAttention(config: LinearAttentionOptions = {}): AttentionFn {
  const where = 'linearAttention';
  checkOptionKeys(where, config, LINEAR_KEYS);
  const fm = resolveFeatureMap(where, config.featureMap);
  const chunk = checkInt(where, 'chunkSize', config.chunkSize ?? 64);
  const eps = checkNumber(where, 'eps', config.eps ?? 1e-6, 0);
  return (q, k, v, options: AttentionOptions = {}): AttentionResult => {
    const dims = checkQKV(where, q, k, v, options);
    const causal = (config.causal ?? false) || (options.causal ?? false);
    if (options.mask || options.returnWeights) return linearAttentionQuadratic(q, k, v, { ...config, causal }, options);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    const { batch: B, heads: H, lq: L, dv } = dims;
    return tf.tidy(() => {
      const [fq, fk] = features(fm, q, k, dims, options);
      if (!causal) {
        const kv = matMul(fk, v, true, false); // [B, H, m, dv]
        const z = tf.sum(fk, 2, true); // [B, H, 1, m]
        const num = matMul(fq, kv); // [B, H, Lq, dv]
        const den = matMul(fq, z, false, true); // [B, H, Lq, 1]
        return { output: tf.div(num, tf.add(den, eps)) };
      }
      if (dims.lq !== dims.lk) throw new DLArgumentError(where, 'k', `of the same length as q (${dims.lq}) when causal (use LinearAttentionState to decode step by step)`, dims.lk);
      const c = Math.min(chunk, L);
      const nC = Math.ceil(L / c);
      const pad = nC * c - L;
      const chunked = (x: tf.Tensor) => tf.reshape(pad ? tf.pad(x, [[0, 0], [0, 0], [0, pad], [0, 0]]) : x, [B * H, nC, c, sh(x)[3]]); // [BH, nC, c, ·]
      // Nested tidies free each intermediate as soon as the next step has it (peak memory O(N·(m + dv))).
      const Q = chunked(fq); // [BH, nC, c, m]
      const K = chunked(fk); // [BH, nC, c, m]
      const V = chunked(v); // [BH, nC, c, dv]
      const A = tf.tidy(() => tf.mul(matMul(Q, K, false, true), tf.linalg.bandPart(tf.ones([c, c]), -1, 0))); // [BH, nC, c, c]
      const num = tf.tidy(() => {
        const state = exclusivePrefixSum(matMul(K, V, true, false)); // [BH, nC, m, dv] Σ over earlier chunks
        return tf.add(matMul(Q, state), matMul(A, V)); // [BH, nC, c, dv]
      });
      const den = tf.tidy(() => {
        const zState = exclusivePrefixSum(tf.sum(K, 2, true)); // [BH, nC, 1, m]
        return tf.add(tf.add(matMul(Q, zState, false, true), tf.sum(A, -1, true)), eps); // [BH, nC, c, 1]
      });
      tf.dispose([Q, K, V, A, fq, fk]);
      const out = tf.reshape(tf.div(num, den), [B, H, nC * c, dv]); // [B, H, L+pad, dv]
      return { output: pad ? tf.slice(out, [0, 0, 0, 0], [B, H, L, dv]) : out }; // [B, H, L, dv]
    });
  };
}
