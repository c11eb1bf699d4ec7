import * as tf from '@tensorflow/tfjs-core';
import { checkHyper, groupCount, mapUpdates, resolve, type GradientTransformation, type Hyper } from '../types.js';

/**
 * Adds weight decay to the updates: $u \leftarrow u + \lambda(t)\,\theta$. Placed before an adaptive scaling it is L2
 * regularisation (Adam's `weight_decay`); placed after it, just before the learning rate, it is
 * decoupled weight decay (AdamW, Loshchilov & Hutter 2019: $\theta \leftarrow \theta - \eta(\hat u + \lambda\theta)$).
 *
 * @example
 * ```ts
 * import { chain, scaleByAdam, addDecayedWeights, scaleByLearningRate } from '@dl/optim';
 * const adamw = chain(scaleByAdam(), addDecayedWeights(0.01), scaleByLearningRate(1e-3));
 * ```
 */
export function addDecayedWeights(weightDecay: Hyper): GradientTransformation {
  const wd = checkHyper('addDecayedWeights', 'weightDecay', weightDecay);
  return {
    name: 'addDecayedWeights',
    init: () => ({ slots: {}, numbers: { step: [0] }, inner: [] }),
    update(updates, state, params) {
      const t = groupCount(state);
      const l = resolve(wd, t);
      let lT: tf.Scalar | undefined; // one upload per step, shared by every parameter
      return {
        updates: l === 0 ? updates : mapUpdates(updates, (u, i) => tf.add(u, tf.mul(params[i], (lT ??= tf.scalar(l))))), // [param shape]
        state: { slots: {}, numbers: { step: [t + 1] }, inner: [] },
      };
    },
  };
}
