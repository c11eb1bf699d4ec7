import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { bumpCounts, checkHyper, checkKeys, groupCount, mapUpdates, nextScheduleStep, resolve, scheduleStep, zerosLike, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link scaleByNadam}. */
export interface ScaleByNadamOptions {
  /** Decay of the first moment β₁ (a number or a schedule; μ_t and μ_{t+1} use its current value). Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment β₂ (a number or a schedule). Default 0.999. */
  b2?: Hyper;
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Momentum decay ψ of the momentum schedule μ_t. Default 4e-3. */
  momentumDecay?: number;
}

/**
 * NAdam's scaling (Dozat 2016), as `torch.optim.NAdam` (PyTorch ≥ 2.0; see the package README for the
 * 1.13 bug this follows the fix of):
 *
 * $$
 * \mu_t = \beta_1\left(1 - \tfrac12\, 0.96^{t\psi}\right), \qquad m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g^2
 * $$
 *
 * $$
 * u = \frac{\dfrac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\,g + \dfrac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\,m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}
 * $$
 *
 * @example
 * ```ts
 * import { chain, scaleByNadam, scaleByLearningRate } from '@dl/optim';
 * const nadam = chain(scaleByNadam(), scaleByLearningRate(2e-3));
 * ```
 */
export function scaleByNadam(options: ScaleByNadamOptions = {}): GradientTransformation {
  checkKeys('scaleByNadam', options, ['b1', 'b2', 'eps', 'momentumDecay']);
  const b1h = checkHyper('scaleByNadam', 'b1', options.b1 ?? 0.9, 0, 1, false, true);
  const b2h = checkHyper('scaleByNadam', 'b2', options.b2 ?? 0.999, 0, 1, false, true);
  const eps = checkNumber('scaleByNadam', 'eps', options.eps ?? 1e-8, 0);
  const psi = checkNumber('scaleByNadam', 'momentumDecay', options.momentumDecay ?? 4e-3, 0);
  return {
    name: 'scaleByNadam',
    init: (params) => ({
      slots: { exp_avg: zerosLike(params), exp_avg_sq: zerosLike(params) },
      numbers: { count: params.map(() => 0), mu_product: params.map(() => 1), ...scheduleStep(b1h, b2h) },
      inner: [],
    }),
    update(updates, state) {
      const b1 = resolve(b1h, groupCount(state));
      const b2 = resolve(b2h, groupCount(state));
      const m = state.slots.exp_avg.slice();
      const v = state.slots.exp_avg_sq.slice();
      const counts = state.numbers.count;
      const muProduct = state.numbers.mu_product.slice();
      const out = mapUpdates(updates, (g, i) => {
        const t = counts[i] + 1;
        const mu = b1 * (1 - 0.5 * 0.96 ** (t * psi));
        const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi));
        muProduct[i] *= mu;
        const muProductNext = muProduct[i] * muNext;
        m[i] = tf.add(tf.mul(state.slots.exp_avg[i]!, b1), tf.mul(g, 1 - b1)); // [param shape]
        v[i] = tf.add(tf.mul(state.slots.exp_avg_sq[i]!, b2), tf.mul(tf.square(g), 1 - b2)); // [param shape]
        const denom = tf.add(tf.sqrt(tf.div(v[i]!, 1 - b2 ** t)), eps); // [param shape]
        const num = tf.add(tf.mul(g, (1 - mu) / (1 - muProduct[i])), tf.mul(m[i]!, muNext / (1 - muProductNext))); // [param shape]
        return tf.div(num, denom); // [param shape]
      });
      return {
        updates: out,
        state: { slots: { exp_avg: m, exp_avg_sq: v }, numbers: { count: bumpCounts(counts, updates), mu_product: muProduct, ...nextScheduleStep(state) }, inner: [] },
      };
    },
  };
}
