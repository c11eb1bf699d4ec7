import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError } from '../errors.js';
import { Module } from '../module.js';
import { getRng, Rng } from '../random.js';

/** Options of {@link Dropout}. */
export interface DropoutOptions {
  /** Seed of a generator of the layer's own (an integer ≥ 0): its masks then depend on nothing else. */
  seed?: number;
  /** A generator for the masks (the layer's own if no one else draws from it). Not with `seed`. */
  rng?: Rng;
}

const DROPOUT_KEYS = ['seed', 'rng'] as const satisfies readonly (keyof DropoutOptions)[];

/**
 * Inverted dropout: in training, zeroes each element with probability `p` and scales the rest by
 * 1/(1−p); in evaluation, the identity. Masks are drawn in JavaScript from a seedable generator, so
 * runs repeat on every backend.
 *
 * Which generator: with `seed` (or an `rng` nobody else uses) the layer has a generator of its own, so
 * its masks are the same whatever else runs in the process: two trainings interleaved in one process
 * (or a decode sampling between training steps) do not change each other's results. Without either, the
 * layer draws from the global generator ({@link manualSeed}, {@link getRng}), like `torch.nn.Dropout`
 * draws from torch's global generator: `manualSeed` makes a run repeat, but every other draw from the
 * global generator (initialisers without `rng`, other unseeded dropouts, other trainings) moves its masks.
 * To resume exactly, save `dropout.rng.getState()` with the checkpoint and restore it with `setState`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Dropout } from '@dl/core';
 * const drop = new Dropout(0.1, { seed: 42 }); // its own generator: the same masks in any process
 * const y = drop.forward(tf.ones([4, 4])); // about 10% zeros, the rest 1/0.9
 * const saved = drop.rng!.getState(); // for an exact resume
 * drop.eval(); // now the identity
 * ```
 */
export class Dropout extends Module {
  /** The drop probability. */
  readonly p: number;
  /** The layer's generator (from `seed` or `rng`), or null when it draws from the global one. */
  readonly rng: Rng | null;

  /**
   * @param p drop probability in [0, 1). Default 0.5.
   * @param options `seed` or `rng` (see {@link DropoutOptions}); unknown keys throw.
   */
  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    checkKeys('Dropout', options, DROPOUT_KEYS);
    this.p = checkNumber('Dropout', 'p', p, 0, 1, false, true);
    if (options.rng !== undefined && typeof (options.rng as Partial<Rng> | null)?.seedForOp !== 'function') throw new DLArgumentError('Dropout', 'options.rng', 'an Rng', options.rng);
    if (options.seed !== undefined) {
      if (options.rng !== undefined) throw new DLArgumentError('Dropout', 'options.seed', 'left out when options.rng is given', options.seed);
      this.rng = new Rng(checkInt('Dropout', 'options.seed', options.seed, 0));
    } else {
      this.rng = options.rng ?? null;
    }
  }

  /**
   * Applies the layer.
   * @param x any shape → same shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    if (!this.training || this.p === 0) return tf.clone(x);
    return tf.tidy(() => {
      const keep = tf.greaterEqual(tf.randomUniform(x.shape, 0, 1, 'float32', (this.rng ?? getRng()).seedForOp()), this.p); // same shape as x
      return tf.mul(x, tf.div(tf.cast(keep, x.dtype), 1 - this.p));
    });
  }
}
