import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { bumpCounts, checkHyper, checkKeys, groupCount, mapUpdates, nextScheduleStep, resolve, scheduleStep, zerosLike, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link scaleByAdamax}. */
export interface ScaleByAdamaxOptions {
  /** Decay of the first moment β₁ (a number or a schedule). Default 0.9. */
  b1?: Hyper;
  /** Decay of the infinity norm β₂ (a number or a schedule). Default 0.999. */
  b2?: Hyper;
  /** ε added to |g| inside the maximum. Default 1e-8. */
  eps?: number;
}

/**
 * Adamax's scaling (Kingma & Ba 2015, §7.1), as `torch.optim.Adamax`:
 *
 * $$
 * m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad u_t = \max(\beta_2 u_{t-1},\ |g| + \epsilon), \qquad u = \frac{m_t}{(1-\beta_1^t)\,u_t}
 * $$
 *
 * @example
 * ```ts
 * import { chain, scaleByAdamax, scaleByLearningRate } from '@dl/optim';
 * const adamax = chain(scaleByAdamax(), scaleByLearningRate(2e-3));
 * ```
 */
export function scaleByAdamax(options: ScaleByAdamaxOptions = {}): GradientTransformation {
  checkKeys('scaleByAdamax', options, ['b1', 'b2', 'eps']);
  const b1h = checkHyper('scaleByAdamax', 'b1', options.b1 ?? 0.9, 0, 1, false, true);
  const b2h = checkHyper('scaleByAdamax', 'b2', options.b2 ?? 0.999, 0, 1, false, true);
  const eps = checkNumber('scaleByAdamax', 'eps', options.eps ?? 1e-8, 0);
  return {
    name: 'scaleByAdamax',
    init: (params) => ({ slots: { exp_avg: zerosLike(params), exp_inf: zerosLike(params) }, numbers: { count: params.map(() => 0), ...scheduleStep(b1h, b2h) }, inner: [] }),
    update(updates, state) {
      const b1 = resolve(b1h, groupCount(state));
      const b2 = resolve(b2h, groupCount(state));
      const m = state.slots.exp_avg.slice();
      const inf = state.slots.exp_inf.slice();
      const counts = state.numbers.count;
      const out = mapUpdates(updates, (g, i) => {
        m[i] = tf.add(tf.mul(state.slots.exp_avg[i]!, b1), tf.mul(g, 1 - b1)); // [param shape]
        inf[i] = tf.maximum(tf.mul(state.slots.exp_inf[i]!, b2), tf.add(tf.abs(g), eps)); // [param shape]
        return tf.div(tf.div(m[i]!, inf[i]!), 1 - b1 ** (counts[i] + 1)); // [param shape]
      });
      return { updates: out, state: { slots: { exp_avg: m, exp_inf: inf }, numbers: { count: bumpCounts(counts, updates), ...nextScheduleStep(state) }, inner: [] } };
    },
  };
}
