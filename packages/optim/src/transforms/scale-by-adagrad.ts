import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { bumpCounts, checkKeys, mapUpdates, type GradientTransformation } from '../types.js';

/** Options of {@link scaleByAdagrad}. */
export interface ScaleByAdagradOptions {
  /** Learning-rate decay d: the step is divided by 1 + (t − 1)·d. Default 0. */
  lrDecay?: number;
  /** Initial value of the sum of squares. Default 0. */
  initialAccumulatorValue?: number;
  /** ε added to the denominator. Default 1e-10. */
  eps?: number;
}

/**
 * AdaGrad's scaling (Duchi et al. 2011), as `torch.optim.Adagrad`:
 *
 * $$
 * s_t = s_{t-1} + g^2, \qquad u = \frac{g}{\sqrt{s_t} + \epsilon} \cdot \frac{1}{1 + (t-1)\,d}
 * $$
 *
 * Every past gradient counts equally in the root mean square.
 *
 * @example
 * ```ts
 * import { chain, scaleByAdagrad, scaleByLearningRate } from '@dl/optim';
 * const adagrad = chain(scaleByAdagrad({ initialAccumulatorValue: 0.1 }), scaleByLearningRate(1e-2));
 * ```
 */
export function scaleByAdagrad(options: ScaleByAdagradOptions = {}): GradientTransformation {
  checkKeys('scaleByAdagrad', options, ['lrDecay', 'initialAccumulatorValue', 'eps']);
  const lrDecay = checkNumber('scaleByAdagrad', 'lrDecay', options.lrDecay ?? 0, 0);
  const init = checkNumber('scaleByAdagrad', 'initialAccumulatorValue', options.initialAccumulatorValue ?? 0, 0);
  const eps = checkNumber('scaleByAdagrad', 'eps', options.eps ?? 1e-10, 0);
  return {
    name: 'scaleByAdagrad',
    init: (params) => ({ slots: { sum: params.map((p) => tf.fill(p.shape, init, 'float32')) }, numbers: { count: params.map(() => 0) }, inner: [] }),
    update(updates, state) {
      const sum = state.slots.sum.slice();
      const counts = state.numbers.count;
      const out = mapUpdates(updates, (g, i) => {
        sum[i] = tf.add(state.slots.sum[i]!, tf.square(g)); // [param shape]
        const u = tf.div(g, tf.add(tf.sqrt(sum[i]!), eps)); // [param shape]
        return lrDecay === 0 ? u : tf.mul(u, 1 / (1 + counts[i] * lrDecay)); // [param shape]
      });
      return { updates: out, state: { slots: { sum }, numbers: { count: bumpCounts(counts, updates) }, inner: [] } };
    },
  };
}
