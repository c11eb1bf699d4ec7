import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, DLArgumentError, matMul, Rng } from '@dl/core';
import { clusteredAttention } from './clustered.js';
import { checkQKV, emptyAttention } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { checkOptionKeys, LSH_KEYS } from './option-keys.js';

/** Options of {@link lshAttention}. */
export interface LSHAttentionOptions {
  /** Number of hash buckets: 1, or an even number ≥ 2 (angular LSH uses ±projections). */
  nBuckets: number;
  /** Queries and keys per sorted chunk. Default 64. */
  chunkSize?: number;
  /** Seed of the random rotations (fixed per dk, so calls repeat). Default 0. */
  seed?: number;
  /** Causal masking inside buckets. */
  causal?: boolean;
  /** Score scale. Default 1/√dk. */
  scale?: number;
}

/**
 * Angular LSH bucket of each vector (Reformer, Kitaev et al. 2020): $h(x) = \arg\max\,[\,xR\,;\,-xR\,]$ for a random rotation
 * `R` `[d, nBuckets/2]`. Similar vectors (small angle) land in the same bucket with high probability.
 * Returns int32 `[B, H, L]`. Pure tensor ops (matMul, argMax).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lshBuckets, lshRotations } from '@dl/attention';
 * const R = lshRotations(8, 4, 0);
 * lshBuckets(tf.randomNormal([1, 1, 5, 8]), R).print(); // values in 0…3
 * ```
 */
export function lshBuckets(x: tf.Tensor, rotations: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const r = matMul(x, rotations); // [B, H, L, nb/2]
    return tf.argMax(tf.concat([r, tf.neg(r)], -1), -1); // [B, H, L]
  });
}

/**
 * Random Gaussian rotations `[dim, nBuckets/2]` from a seeded generator (host, reproducible).
 *
 * @example
 * ```ts
 * import { lshRotations } from '@dl/attention';
 * lshRotations(16, 8, 42).shape; // [16, 4]
 * ```
 */
export function lshRotations(dim: number, nBuckets: number, seed = 0): tf.Tensor {
  checkInt('lshRotations', 'dim', dim);
  checkInt('lshRotations', 'nBuckets', nBuckets, 2);
  if (nBuckets % 2 !== 0) throw new DLArgumentError('lshRotations', 'nBuckets', 'even', nBuckets);
  return tf.tensor(new Rng(seed).normalArray(dim * (nBuckets / 2)), [dim, nBuckets / 2]);
}

/**
 * LSH clustering attention (Reformer, Kitaev et al. 2020): queries and keys are hashed into buckets
 * by angular LSH; only pairs in the same bucket are scored, after sorting by bucket and cutting into
 * chunks (each chunk also sees the previous one, and the next one unless causal). Pairs in different
 * buckets get weight 0.
 *
 * Cost in N: O(N·chunkSize) time and memory (plus an O(N log N) sort), instead of N².
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { lshAttention } from '@dl/attention';
 * const attend = lshAttention({ nBuckets: 4, chunkSize: 16 });
 * const x = tf.randomNormal([1, 2, 64, 8]);
 * attend(x, x, x).output.shape; // [1, 2, 64, 8]
 * ```
 */
export function lshAttention(config: LSHAttentionOptions): AttentionFn {
  const where = 'lshAttention';
  if (config == null || typeof config !== 'object') throw new DLArgumentError(where, 'options', 'an object', config);
  checkOptionKeys(where, config, LSH_KEYS);
  const nBuckets = checkInt(where, 'nBuckets', config.nBuckets);
  if (nBuckets > 1 && nBuckets % 2 !== 0) throw new DLArgumentError(where, 'nBuckets', '1 or an even number', nBuckets);
  const chunkSize = checkInt(where, 'chunkSize', config.chunkSize ?? 64);
  const seed = checkInt(where, 'seed', config.seed ?? 0, 0);
  if (config.scale !== undefined) checkNumber(where, 'scale', config.scale);
  return (q, k, v, options: AttentionOptions = {}): AttentionResult => {
    const dims = checkQKV(where, q, k, v, options);
    const causal = (config.causal ?? false) || (options.causal ?? false);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    return tf.tidy(() => {
      let qb: tf.Tensor;
      let kb: tf.Tensor;
      if (nBuckets === 1) {
        qb = tf.zeros([dims.batch, dims.heads, dims.lq], 'int32');
        kb = tf.zeros([dims.batch, dims.heads, dims.lk], 'int32');
      } else {
        const R = lshRotations(dims.dk, nBuckets, seed); // [dk, nb/2]
        qb = lshBuckets(q, R); // [B, H, Lq]
        kb = lshBuckets(k, R); // [B, H, Lk]
      }
      const chunking = { chunkSize, lookBack: 1, lookForward: causal ? 0 : 1 };
      return clusteredAttention(where, q, k, v, dims, qb, kb, nBuckets, chunking, config.scale ?? 1 / Math.sqrt(dims.dk), { ...options, causal });
    });
  };
}
