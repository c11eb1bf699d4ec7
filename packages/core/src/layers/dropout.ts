import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '../errors.js';
import { Module } from '../module.js';
import { getRng, type Rng } from '../random.js';

/**
 * Inverted dropout: in training, zeroes each element with probability `p` and scales the rest by
 * 1/(1−p); in evaluation, the identity. The mask comes from a seeded generator, so runs repeat.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Dropout } from '@dl/core';
 * const drop = new Dropout(0.1);
 * const y = drop.forward(tf.ones([4, 4])); // about 10% zeros, the rest 1/0.9
 * drop.eval(); // now the identity
 * ```
 */
export class Dropout extends Module {
  /** The drop probability. */
  readonly p: number;
  private readonly rng: Rng | undefined;

  /** @param p drop probability in [0, 1). Default 0.5. */
  constructor(p = 0.5, options: { rng?: Rng } = {}) {
    super();
    this.p = checkNumber('Dropout', 'p', p, 0, 1, false, true);
    this.rng = options.rng;
  }

  /**
   * Applies the layer.
   * @param x any shape → same shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return tf.clone(x);
    return tf.tidy(() => {
      const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', (this.rng ?? getRng()).seedForOp()), this.p);
      return tf.mul(x, tf.div(tf.cast(keep, x.dtype), 1 - this.p));
    });
  }
}
