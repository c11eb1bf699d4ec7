import * as tf from '@tensorflow/tfjs-core';
import { checkHyper, checkKeys, groupCount, mapUpdates, nextScheduleStep, resolve, scheduleStep, zerosLike, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link scaleByLion}. */
export interface ScaleByLionOptions {
  /** Interpolation β₁ between momentum and gradient for the update direction (a number or a schedule). Default 0.9. */
  b1?: Hyper;
  /** Decay β₂ of the momentum (a number or a schedule). Default 0.99. */
  b2?: Hyper;
}

/**
 * Lion's scaling (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms", Algorithm 2):
 *
 * $$
 * c_t = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad u = \operatorname{sign}(c_t), \qquad m_t = \beta_2 m_{t-1} + (1-\beta_2)\,g
 * $$
 *
 * @example
 * ```ts
 * import { chain, scaleByLion, addDecayedWeights, scaleByLearningRate } from '@dl/optim';
 * const lion = chain(scaleByLion(), addDecayedWeights(1.0), scaleByLearningRate(1e-4));
 * ```
 */
export function scaleByLion(options: ScaleByLionOptions = {}): GradientTransformation {
  checkKeys('scaleByLion', options, ['b1', 'b2']);
  const b1h = checkHyper('scaleByLion', 'b1', options.b1 ?? 0.9, 0, 1);
  const b2h = checkHyper('scaleByLion', 'b2', options.b2 ?? 0.99, 0, 1);
  return {
    name: 'scaleByLion',
    init: (params) => ({ slots: { exp_avg: zerosLike(params) }, numbers: { ...scheduleStep(b1h, b2h) }, inner: [] }),
    update(updates, state) {
      const b1 = resolve(b1h, groupCount(state));
      const b2 = resolve(b2h, groupCount(state));
      const m = state.slots.exp_avg.slice();
      const out = mapUpdates(updates, (g, i) => {
        const old = state.slots.exp_avg[i]!;
        m[i] = tf.add(tf.mul(old, b2), tf.mul(g, 1 - b2)); // [param shape]
        return tf.sign(tf.add(tf.mul(old, b1), tf.mul(g, 1 - b1))); // [param shape]
      });
      return { updates: out, state: { slots: { exp_avg: m }, numbers: { ...nextScheduleStep(state) }, inner: [] } };
    },
  };
}
