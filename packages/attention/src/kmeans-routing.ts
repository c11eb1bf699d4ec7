import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, DLArgumentError, matMul, Module, randNormal, type Rng } from '@dl/core';
import { clusteredAttention } from './clustered.js';
import { checkQKV, emptyAttention } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { checkOptionKeys, KMEANS_KEYS } from './option-keys.js';

/** Options of {@link KMeansRouting}. */
export interface KMeansRoutingOptions {
  /** EMA decay of the centroid updates (Routing Transformer). Default 0.999. */
  decay?: number;
  /** Queries and keys per sorted chunk. Default 64. */
  chunkSize?: number;
  /** Causal masking inside clusters. */
  causal?: boolean;
  /** Score scale. Default 1/√dim. */
  scale?: number;
  /** Generator for the initial centroids. */
  rng?: Rng;
}

function normalize(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(x, tf.add(tf.norm(x, 'euclidean', -1, true), 1e-6))); // same shape
}

/**
 * k-means routing attention (Routing Transformer, Roy et al. 2021): each head keeps `nClusters`
 * centroids on the unit sphere (buffer `centroids` `[heads, nClusters, dim]`); queries and keys are
 * routed to their nearest centroid (spherical k-means, argmax of cosine similarity), and only pairs in
 * the same cluster are scored (sorted and chunked like {@link lshAttention}). In training mode each
 * forward moves the centroids towards the mean of their assigned queries and keys by an exponential
 * moving average (no gradient through the routing).
 *
 * Cost in N: O(N·chunkSize + N·nClusters) time and memory.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { KMeansRouting } from '@dl/attention';
 * const routing = new KMeansRouting(2, 8, 4, { chunkSize: 16 });
 * const x = tf.randomNormal([1, 2, 64, 8]);
 * const { output } = routing.forward(x, x, x); // [1, 2, 64, 8]; centroids updated (training mode)
 * ```
 */
export class KMeansRouting extends Module {
  /** `[heads, nClusters, dim]`, unit vectors. */
  readonly centroids: tf.Variable;
  /** EMA decay. */
  readonly decay: number;
  /** Chunk size of the sorted sequence. */
  readonly chunkSize: number;
  private readonly causal: boolean;
  private readonly scale: number;

  /**
   * @param heads number of heads.
   * @param dim per-head query/key size.
   * @param nClusters centroids per head.
   */
  constructor(
    readonly heads: number,
    readonly dim: number,
    readonly nClusters: number,
    options: KMeansRoutingOptions = {},
  ) {
    super();
    const where = 'KMeansRouting';
    checkOptionKeys(where, options, KMEANS_KEYS);
    checkInt(where, 'heads', heads);
    checkInt(where, 'dim', dim);
    checkInt(where, 'nClusters', nClusters);
    this.decay = checkNumber(where, 'decay', options.decay ?? 0.999, 0, 1);
    this.chunkSize = checkInt(where, 'chunkSize', options.chunkSize ?? 64);
    this.causal = options.causal ?? false;
    this.scale = options.scale === undefined ? 1 / Math.sqrt(dim) : checkNumber(where, 'scale', options.scale);
    this.centroids = this.registerBuffer('centroids', tf.tidy(() => normalize(randNormal([heads, nClusters, dim], 0, 1, options.rng))));
  }

  /** Nearest centroid (cosine) of each vector of `x` `[B, heads, L, dim]` → int32 `[B, heads, L]`. */
  assign(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.argMax(matMul(normalize(x), tf.expandDims(this.centroids, 0), false, true), -1)); // [B, H, L]
  }

  /** One EMA step of the centroids towards the means of their assigned (normalised) queries and keys. */
  update(q: tf.Tensor, k: tf.Tensor): void {
    const next = tf.tidy(() => {
      const x = normalize(tf.concat([q, k], 2)); // [B, H, Lq+Lk, dim]
      const onehot = tf.oneHot(this.assign(x), this.nClusters); // [B, H, L, C]
      const sums = tf.sum(matMul(tf.cast(onehot, 'float32'), x, true, false), 0); // [H, C, dim]
      const counts = tf.sum(tf.sum(tf.cast(onehot, 'float32'), 2), 0); // [H, C]
      const mean = tf.div(sums, tf.expandDims(tf.maximum(counts, 1), -1)); // [H, C, dim]
      const moved = normalize(tf.add(tf.mul(this.centroids, this.decay), tf.mul(mean, 1 - this.decay))); // [H, C, dim]
      return tf.where(tf.expandDims(tf.greater(counts, 0), -1), moved, this.centroids); // [H, C, dim]
    });
    this.centroids.assign(next);
    next.dispose();
  }

  /**
   * Clustered attention; updates the centroids first when in training mode.
   *
   * @param q `[B, heads, Lq, dim]`, `k` `[B, heads, Lk, dim]`, `v` `[B, heads, Lk, dv]`.
   */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
    const where = 'KMeansRouting';
    const dims = checkQKV(where, q, k, v, options);
    if (dims.heads !== this.heads || dims.dk !== this.dim) throw new DLArgumentError(where, 'q', `of shape [B, ${this.heads}, L, ${this.dim}]`, q);
    const empty = emptyAttention(dims, options); // nothing to route (or to learn centroids from)
    if (empty) return empty;
    if (this.training) this.update(q, k);
    const causal = this.causal || (options.causal ?? false);
    return tf.tidy(() => {
      const chunking = { chunkSize: this.chunkSize, lookBack: 1, lookForward: causal ? 0 : 1 };
      return clusteredAttention(where, q, k, v, dims, this.assign(q), this.assign(k), this.nClusters, chunking, this.scale, { ...options, causal });
    });
  }

  /** This module as an {@link AttentionFn}. */
  readonly attend: AttentionFn = (q, k, v, options) => this.forward(q, k, v, options);
}
