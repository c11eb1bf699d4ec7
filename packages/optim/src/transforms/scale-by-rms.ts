import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { checkBool, checkKeys, mapUpdates, zerosLike, type GradientTransformation } from '../types.js';

/** Options of {@link scaleByRms}. */
export interface ScaleByRmsOptions {
  /** Smoothing constant α of the running mean of g². Default 0.99. */
  alpha?: number;
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Divide by an estimate of the variance instead of the uncentred second moment. Default false. */
  centered?: boolean;
}

/**
 * RMSProp's scaling (Hinton, Coursera lecture 6e), as `torch.optim.RMSprop`:
 *
 * $$
 * s_t = \alpha s_{t-1} + (1-\alpha)\,g^2, \qquad u = \begin{cases} \dfrac{g}{\sqrt{s_t - \bar g_t^2} + \epsilon},\ \ \bar g_t = \alpha \bar g_{t-1} + (1-\alpha)\,g & \text{centred} \\[1ex] \dfrac{g}{\sqrt{s_t} + \epsilon} & \text{otherwise} \end{cases}
 * $$
 *
 * Unlike AdaGrad, α weighs recent gradients more.
 *
 * @example
 * ```ts
 * import { chain, scaleByRms, trace, scaleByLearningRate } from '@dl/optim';
 * const rmspropMomentum = chain(scaleByRms({ centered: true }), trace({ momentum: 0.9 }), scaleByLearningRate(1e-2));
 * ```
 */
export function scaleByRms(options: ScaleByRmsOptions = {}): GradientTransformation {
  checkKeys('scaleByRms', options, ['alpha', 'eps', 'centered']);
  const alpha = checkNumber('scaleByRms', 'alpha', options.alpha ?? 0.99, 0, 1);
  const eps = checkNumber('scaleByRms', 'eps', options.eps ?? 1e-8, 0);
  const centered = checkBool('scaleByRms', 'centered', options.centered ?? false);
  return {
    name: centered ? 'scaleByRms(centered)' : 'scaleByRms',
    init: (params) => ({ slots: { square_avg: zerosLike(params), ...(centered ? { grad_avg: zerosLike(params) } : {}) }, numbers: {}, inner: [] }),
    update(updates, state) {
      const sq = state.slots.square_avg.slice();
      const ga = state.slots.grad_avg?.slice();
      const out = mapUpdates(updates, (g, i) => {
        sq[i] = tf.add(tf.mul(state.slots.square_avg[i]!, alpha), tf.mul(tf.square(g), 1 - alpha)); // [param shape]
        let variance = sq[i]!;
        if (ga) {
          ga[i] = tf.add(tf.mul(state.slots.grad_avg[i]!, alpha), tf.mul(g, 1 - alpha)); // [param shape]
          variance = tf.sub(variance, tf.square(ga[i]!)); // [param shape]
        }
        return tf.div(g, tf.add(tf.sqrt(variance), eps)); // [param shape]
      });
      return { updates: out, state: { slots: { square_avg: sq, ...(ga ? { grad_avg: ga } : {}) }, numbers: {}, inner: [] } };
    },
  };
}
