import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError } from '@dl/core';
import { tidyUpdates, type Updates } from './types.js';

/** The pending state of a {@link GradientAccumulator}. */
export interface AccumulatorSnapshot {
  /** Micro-batches summed. */
  count: number;
  /** Their sums (null where no gradient came). */
  sums: Updates;
}

/**
 * Sums gradients over `k` micro-batches and hands back their mean every k-th call (gradient
 * accumulation: an effective batch k times larger at the memory cost of one). Parameters without a
 * gradient in a micro-batch contribute nothing to the sum (the mean still divides by k, as when each
 * micro-batch loss is scaled by 1/k in PyTorch). {@link Optimizer} uses it through its `accumulate` option.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GradientAccumulator } from '@dl/optim';
 * const acc = new GradientAccumulator(2);
 * acc.add([tf.tensor1d([1])]); // null: 1 of 2
 * const mean = acc.add([tf.tensor1d([3])]); // [[2]]
 * ```
 */
export class GradientAccumulator {
  /** Micro-batches per update. */
  readonly k: number;
  private sums: Updates = [];
  private count = 0;

  /** @param k micro-batches per update (a positive integer). */
  constructor(k: number) {
    this.k = checkInt('GradientAccumulator', 'k', k);
  }

  /** Micro-batches summed since the last update (0 ≤ n < k). */
  get pending(): number {
    return this.count;
  }

  /**
   * Adds one micro-batch's gradients (not disposed: the caller keeps them). Returns `null` until the
   * k-th call, then the mean gradients (owned by the caller) and starts over.
   */
  add(grads: Updates): Updates | null {
    const mean = this.meanWith(grads);
    if (mean !== null) {
      this.reset();
      return mean;
    }
    if (this.count === 0) this.sums = grads.map(() => null);
    const next = tidyUpdates(() =>
      grads.map((g, i) => {
        const s = this.sums[i];
        if (g === null) return s === null ? null : tf.clone(s);
        return s === null ? tf.clone(g) : tf.add(s, g); // [param shape]
      }),
    );
    tf.dispose(this.sums.filter((s): s is tf.Tensor => s !== null));
    this.sums = next;
    this.count++;
    return null;
  }

  /**
   * The mean gradients {@link GradientAccumulator.add} would return for `grads` if they complete the k
   * micro-batches (owned by the caller), or `null` if they would not; the accumulator is left as it is.
   * {@link Optimizer} uses it to update first and {@link GradientAccumulator.reset} only once the update
   * succeeded, so a failed update loses no micro-batch.
   *
   * @example
   * ```ts
   * import * as tf from '@tensorflow/tfjs-core';
   * import { GradientAccumulator } from '@dl/optim';
   * const acc = new GradientAccumulator(2);
   * const g = tf.tensor1d([2, 4]);
   * acc.meanWith([g]); // null: the first of two micro-batches
   * acc.add([g]);
   * const mean = acc.meanWith([g]); // [[2, 4]], and acc.pending is still 1
   * ```
   */
  meanWith(grads: Updates): Updates | null {
    if (this.count > 0 && grads.length !== this.sums.length) {
      throw new DLArgumentError('GradientAccumulator.add', 'grads', `${this.sums.length} entries like the previous micro-batches`, grads.length);
    }
    if (this.count + 1 < this.k) return null;
    return tidyUpdates(() =>
      grads.map((g, i) => {
        const s = this.count > 0 ? this.sums[i] : null;
        if (g === null) return s === null ? null : tf.div(s, this.k); // [param shape]
        return tf.div(s === null ? g : tf.add(s, g), this.k); // [param shape]
      }),
    );
  }

  /** Drops the pending sums. */
  reset(): void {
    tf.dispose(this.sums.filter((s): s is tf.Tensor => s !== null));
    this.sums = [];
    this.count = 0;
  }

  /** The pending sums and their count, for checkpoints (the tensors stay owned by the accumulator). */
  snapshot(): AccumulatorSnapshot {
    return { count: this.count, sums: this.sums };
  }

  /** Restores a {@link GradientAccumulator.snapshot} (takes ownership of `sums`). */
  restore(count: number, sums: Updates): void {
    checkInt('GradientAccumulator.restore', 'count', count, 0);
    if (count >= this.k) throw new DLArgumentError('GradientAccumulator.restore', 'count', `below k = ${this.k}`, count);
    this.reset();
    this.count = count;
    this.sums = count === 0 ? [] : sums;
  }
}
