import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { bumpCounts, checkHyper, checkKeys, groupCount, mapUpdates, nextScheduleStep, resolve, scheduleStep, zerosLike, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link scaleByRadam}. */
export interface ScaleByRadamOptions {
  /** Decay of the first moment β₁ (a number or a schedule). Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment β₂ (a number or a schedule). Default 0.999. */
  b2?: Hyper;
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
}

/**
 * Rectified Adam's scaling (Liu et al. 2020), as `torch.optim.RAdam`:
 *
 * $$
 * \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}, \qquad \hat m = \frac{m_t}{1-\beta_1^t}
 * $$
 *
 * $$
 * u = \begin{cases} \hat m\, r_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon},\ \ r_t = \sqrt{\dfrac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}} & \rho_t > 5 \\[1ex] \hat m & \text{otherwise} \end{cases}
 * $$
 *
 * (plain momentum while the variance estimate is unreliable).
 *
 * @example
 * ```ts
 * import { chain, scaleByRadam, scaleByLearningRate } from '@dl/optim';
 * const radam = chain(scaleByRadam(), scaleByLearningRate(1e-3));
 * ```
 */
export function scaleByRadam(options: ScaleByRadamOptions = {}): GradientTransformation {
  checkKeys('scaleByRadam', options, ['b1', 'b2', 'eps']);
  const b1h = checkHyper('scaleByRadam', 'b1', options.b1 ?? 0.9, 0, 1, false, true);
  const b2h = checkHyper('scaleByRadam', 'b2', options.b2 ?? 0.999, 0, 1, false, true);
  const eps = checkNumber('scaleByRadam', 'eps', options.eps ?? 1e-8, 0);
  return {
    name: 'scaleByRadam',
    init: (params) => ({ slots: { exp_avg: zerosLike(params), exp_avg_sq: zerosLike(params) }, numbers: { count: params.map(() => 0), ...scheduleStep(b1h, b2h) }, inner: [] }),
    update(updates, state) {
      const b1 = resolve(b1h, groupCount(state));
      const b2 = resolve(b2h, groupCount(state));
      const m = state.slots.exp_avg.slice();
      const v = state.slots.exp_avg_sq.slice();
      const counts = state.numbers.count;
      const out = mapUpdates(updates, (g, i) => {
        const t = counts[i] + 1;
        const bc1 = 1 - b1 ** t;
        const bc2 = 1 - b2 ** t;
        m[i] = tf.add(tf.mul(state.slots.exp_avg[i]!, b1), tf.mul(g, 1 - b1)); // [param shape]
        v[i] = tf.add(tf.mul(state.slots.exp_avg_sq[i]!, b2), tf.mul(tf.square(g), 1 - b2)); // [param shape]
        const rhoInf = 2 / (1 - b2) - 1;
        const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
        if (rhoT > 5) {
          const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
          return tf.div(tf.mul(m[i]!, (rect * Math.sqrt(bc2)) / bc1), tf.add(tf.sqrt(v[i]!), eps)); // [param shape]
        }
        return tf.div(m[i]!, bc1); // [param shape]
      });
      return { updates: out, state: { slots: { exp_avg: m, exp_avg_sq: v }, numbers: { count: bumpCounts(counts, updates), ...nextScheduleStep(state) }, inner: [] } };
    },
  };
}
