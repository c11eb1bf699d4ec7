import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError } from '../errors.js';
import { Module } from '../module.js';

/** Options of the batch-norm layers. */
export interface BatchNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Weight of the new batch in the running averages; `null` for a cumulative average. Default 0.1. */
  momentum?: number | null;
  /** Learn γ and β. Default true. */
  affine?: boolean;
  /** Keep running statistics for evaluation. Default true. */
  trackRunningStats?: boolean;
}

const BATCH_NORM_KEYS = ['eps', 'momentum', 'affine', 'trackRunningStats'] as const satisfies readonly (keyof BatchNormOptions)[];

/**
 * Shared implementation of {@link BatchNorm1d} and {@link BatchNorm2d}: normalise each channel (the
 * last axis, tfjs's channels-last layout) with batch statistics in training, running ones in evaluation.
 *
 * @example
 * ```ts
 * import { BatchNormBase, BatchNorm1d } from '@dl/core';
 * const bn: BatchNormBase = new BatchNorm1d(8, { momentum: 0.05 });
 * bn.runningMean; // tf.Variable [8], saved as 'running_mean'
 * ```
 */
export abstract class BatchNormBase extends Module {
  /** γ, `[numFeatures]`, or null. */
  readonly weight: tf.Variable | null;
  /** β, `[numFeatures]`, or null. */
  readonly bias: tf.Variable | null;
  /** Running mean (buffer `running_mean`), or null. */
  readonly runningMean: tf.Variable | null;
  /** Running unbiased variance (buffer `running_var`), or null. */
  readonly runningVar: tf.Variable | null;
  /** Batches seen in training (buffer `num_batches_tracked`), or null. */
  readonly numBatchesTracked: tf.Variable | null;
  /** The epsilon. */
  readonly eps: number;
  /** The momentum (null: cumulative average). */
  readonly momentum: number | null;
  /** Input ranks this layer accepts. */
  protected abstract readonly ranks: number[];

  /**
   * @param numFeatures number of channels C.
   * @param options see {@link BatchNormOptions}; unknown keys throw.
   */
  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    super();
    checkKeys(this.constructor.name, options, BATCH_NORM_KEYS);
    checkInt(this.constructor.name, 'numFeatures', numFeatures);
    this.eps = checkNumber(this.constructor.name, 'eps', options.eps ?? 1e-5, 0, Infinity, true);
    this.momentum = options.momentum === null ? null : checkNumber(this.constructor.name, 'momentum', options.momentum ?? 0.1, 0, 1);
    const affine = options.affine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones([numFeatures])) : null;
    this.bias = affine ? this.registerParameter('bias', tf.zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.registerBuffer('running_mean', tf.zeros([numFeatures])) : null;
    this.runningVar = track ? this.registerBuffer('running_var', tf.ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', tf.scalar(0, 'int32')) : null;
  }

  /** Normalises `x` (channels last); in training also updates the running statistics. */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.ranks.includes(x.rank) || x.shape[x.rank - 1] !== this.numFeatures) {
      throw new DLArgumentError(this.constructor.name, 'input', `of rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels last`, x);
    }
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const count = x.size / this.numFeatures;
    const useBatch = this.training || this.runningMean === null;
    if (useBatch && count <= 1) {
      throw new DLArgumentError(this.constructor.name, 'input', 'more than 1 value per channel in training', x);
    }
    return tf.tidy(() => {
      let mean: tf.Tensor;
      let variance: tf.Tensor;
      if (useBatch) {
        ({ mean, variance } = tf.moments(x, axes)); // [C], biased
        if (this.training && this.runningMean && this.runningVar && this.numBatchesTracked) this.updateRunning(mean, variance, count);
      } else {
        mean = this.runningMean!;
        variance = this.runningVar!;
      }
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }

  private updateRunning(mean: tf.Tensor, variance: tf.Tensor, count: number): void {
    const n = this.numBatchesTracked!;
    n.assign(tf.add(n, tf.scalar(1, 'int32')));
    // Cumulative average (momentum null) needs the count on the host; otherwise stay on the device.
    const m: number | tf.Tensor = this.momentum ?? tf.div(1, tf.cast(n, 'float32'));
    // These ops are off the loss's path, so no gradient flows into the statistics.
    const unbiased = tf.mul(variance, count / (count - 1));
    this.runningMean!.assign(tf.add(tf.mul(this.runningMean!, tf.sub(1, m)), tf.mul(mean, m)));
    this.runningVar!.assign(tf.add(tf.mul(this.runningVar!, tf.sub(1, m)), tf.mul(unbiased, m)));
  }
}

/**
 * Batch normalisation of `[N, C]` or `[N, L, C]` inputs (channels last; PyTorch's `[N, C, L]`
 * transposed), as `torch.nn.BatchNorm1d`: running variance unbiased, normalisation with the biased one.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { BatchNorm1d } from '@dl/core';
 * const bn = new BatchNorm1d(4);
 * const y = bn.forward(tf.randomNormal([8, 4])); // training: batch statistics
 * bn.eval(); // evaluation: running statistics
 * ```
 */
export class BatchNorm1d extends BatchNormBase {
  /** `[N, C]` or `[N, L, C]`. */
  protected readonly ranks = [2, 3];
}

/**
 * Batch normalisation of NHWC images `[N, H, W, C]`, as `torch.nn.BatchNorm2d` on NCHW.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { BatchNorm2d } from '@dl/core';
 * const bn = new BatchNorm2d(3);
 * const y = bn.forward(tf.randomNormal([2, 5, 5, 3]));
 * ```
 */
export class BatchNorm2d extends BatchNormBase {
  /** `[N, H, W, C]`. */
  protected readonly ranks = [4];
}
