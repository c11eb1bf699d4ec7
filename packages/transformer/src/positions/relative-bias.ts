import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, DLArgumentError, Module, normal, type Rng } from '@dl/core';

/**
 * T5's bucket of a relative position (key position − query position; Raffel et al. 2020): exact buckets
 * for small distances, logarithmically wider ones up to `maxDistance`, then one bucket for everything
 * farther. Bidirectional buckets split into "before" and "after" halves; unidirectional (causal) ones
 * map every future position to bucket 0.
 *
 * @example
 * ```ts
 * import { relativePositionBucket } from '@dl/transformer';
 * relativePositionBucket(-3, true, 32, 128); // 3
 * relativePositionBucket(3, true, 32, 128); // 19
 * ```
 */
export function relativePositionBucket(relativePosition: number, bidirectional: boolean, numBuckets = 32, maxDistance = 128): number {
  let buckets = numBuckets;
  let bucket = 0;
  let n = relativePosition;
  if (bidirectional) {
    buckets = Math.floor(buckets / 2);
    if (n > 0) bucket += buckets;
    n = Math.abs(n);
  } else {
    n = -Math.min(n, 0);
  }
  const maxExact = Math.floor(buckets / 2);
  if (n < maxExact) return bucket + n;
  // float32 arithmetic as in the reference implementation, truncated towards zero.
  const f = Math.fround;
  const large = maxExact + Math.trunc(f(f(f(Math.log(f(n / maxExact))) / f(Math.log(maxDistance / maxExact))) * (buckets - maxExact)));
  return bucket + Math.min(large, buckets - 1);
}

/** Options of {@link RelativePositionBias}. */
export interface RelativePositionBiasOptions {
  /** Number of buckets. Default 32. */
  numBuckets?: number;
  /** Distances from here on share the last bucket. Default 128. */
  maxDistance?: number;
  /** Buckets for both directions (an encoder) or only the past (a causal decoder). Default true. */
  bidirectional?: boolean;
  /** Generator for the initial table. */
  rng?: Rng;
}

/**
 * T5's learned relative position bias: a table `weight` `[numBuckets, nHeads]` (a stack registers the
 * module as `relative_attention_bias`) whose entry for bucket(kpos − qpos) is added to head h's score. One module is shared by every layer
 * of a stack (as in T5), and the model needs no other position information.
 *
 * @example
 * ```ts
 * import { RelativePositionBias } from '@dl/transformer';
 * const rel = new RelativePositionBias(4, { numBuckets: 8, maxDistance: 20 });
 * const bias = rel.forward(5, 5); // [1, 4, 5, 5]
 * ```
 */
export class RelativePositionBias extends Module {
  /** The learned table `[numBuckets, nHeads]`, initialised N(0, 1). */
  readonly weight: tf.Variable;
  /** Number of buckets. */
  readonly numBuckets: number;
  /** Distance of the last bucket. */
  readonly maxDistance: number;
  /** Buckets both directions. */
  readonly bidirectional: boolean;

  /** @param nHeads number of attention heads. */
  constructor(
    readonly nHeads: number,
    options: RelativePositionBiasOptions = {},
  ) {
    super();
    const where = 'RelativePositionBias';
    checkKeys(where, options, ['numBuckets', 'maxDistance', 'bidirectional', 'rng']);
    checkInt(where, 'nHeads', nHeads);
    this.numBuckets = checkInt(where, 'numBuckets', options.numBuckets ?? 32, 2);
    this.maxDistance = checkInt(where, 'maxDistance', options.maxDistance ?? 128, 1);
    this.bidirectional = options.bidirectional ?? true;
    if (typeof this.bidirectional !== 'boolean') throw new DLArgumentError(where, 'bidirectional', 'a boolean', this.bidirectional);
    this.weight = this.registerParameter('weight', normal(0, 1)([this.numBuckets, nHeads], options.rng));
  }

  /**
   * The bias for queries at positions offset … offset + lq − 1 over keys at 0 … lk − 1.
   * @returns `[1, nHeads, lq, lk]`.
   */
  forward(lq: number, lk: number, offset = 0): tf.Tensor {
    checkInt('RelativePositionBias.forward', 'lq', lq, 0);
    checkInt('RelativePositionBias.forward', 'lk', lk, 0);
    checkInt('RelativePositionBias.forward', 'offset', offset, 0);
    const ids = new Int32Array(lq * lk);
    for (let i = 0; i < lq; i++) for (let j = 0; j < lk; j++) ids[i * lk + j] = relativePositionBucket(j - (i + offset), this.bidirectional, this.numBuckets, this.maxDistance);
    return tf.tidy(() => {
      const table = tf.reshape(tf.gather(this.weight, tf.tensor1d(ids, 'int32')), [lq, lk, this.nHeads]); // [lq, lk, H]
      return tf.expandDims(tf.transpose(table, [2, 0, 1]), 0); // [1, H, lq, lk]
    });
  }
}
