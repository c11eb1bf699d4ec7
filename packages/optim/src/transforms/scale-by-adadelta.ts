import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { checkKeys, mapUpdates, zerosLike, type GradientTransformation } from '../types.js';

/** Options of {@link scaleByAdadelta}. */
export interface ScaleByAdadeltaOptions {
  /** Decay ρ of both running averages. Default 0.9. */
  rho?: number;
  /** ε inside both square roots. Default 1e-6. */
  eps?: number;
}

/**
 * Adadelta's scaling (Zeiler 2012), as `torch.optim.Adadelta`:
 *
 * $$
 * s_t = \rho s_{t-1} + (1-\rho)\,g^2, \qquad u = \frac{\sqrt{d_{t-1} + \epsilon}}{\sqrt{s_t + \epsilon}}\, g, \qquad d_t = \rho d_{t-1} + (1-\rho)\,u^2
 * $$
 *
 * @example
 * ```ts
 * import { chain, scaleByAdadelta, scaleByLearningRate } from '@dl/optim';
 * const adadelta = chain(scaleByAdadelta({ rho: 0.9 }), scaleByLearningRate(1.0));
 * ```
 */
export function scaleByAdadelta(options: ScaleByAdadeltaOptions = {}): GradientTransformation {
  checkKeys('scaleByAdadelta', options, ['rho', 'eps']);
  const rho = checkNumber('scaleByAdadelta', 'rho', options.rho ?? 0.9, 0, 1);
  const eps = checkNumber('scaleByAdadelta', 'eps', options.eps ?? 1e-6, 0);
  return {
    name: 'scaleByAdadelta',
    init: (params) => ({ slots: { square_avg: zerosLike(params), acc_delta: zerosLike(params) }, numbers: {}, inner: [] }),
    update(updates, state) {
      const sq = state.slots.square_avg.slice();
      const acc = state.slots.acc_delta.slice();
      const out = mapUpdates(updates, (g, i) => {
        sq[i] = tf.add(tf.mul(state.slots.square_avg[i]!, rho), tf.mul(tf.square(g), 1 - rho)); // [param shape]
        const delta = tf.mul(tf.div(tf.sqrt(tf.add(state.slots.acc_delta[i]!, eps)), tf.sqrt(tf.add(sq[i]!, eps))), g); // [param shape]
        acc[i] = tf.add(tf.mul(state.slots.acc_delta[i]!, rho), tf.mul(tf.square(delta), 1 - rho)); // [param shape]
        return delta;
      });
      return { updates: out, state: { slots: { square_avg: sq, acc_delta: acc }, numbers: {}, inner: [] } };
    },
  };
}
