import * as tf from '@tensorflow/tfjs-core';
import { mapUpdates, type GradientTransformation } from '../types.js';

/**
 * The layer-wise trust ratio of LAMB (You et al. 2020, "Large Batch Optimization for Deep Learning",
 * Algorithm 2) and LARS: each parameter tensor's update is rescaled so that its norm is the parameter's:
 *
 * $$
 * u \leftarrow u\,\frac{\lVert\theta\rVert}{\lVert u\rVert}
 * $$
 *
 * (the ratio is 1 when either norm is 0).
 *
 * Computed on the device (no host read).
 *
 * @example
 * ```ts
 * import { chain, scaleByAdam, addDecayedWeights, scaleByTrustRatio, scaleByLearningRate } from '@dl/optim';
 * const lamb = chain(scaleByAdam({ eps: 1e-6 }), addDecayedWeights(0.01), scaleByTrustRatio(), scaleByLearningRate(1e-3));
 * ```
 */
export function scaleByTrustRatio(): GradientTransformation {
  return {
    name: 'scaleByTrustRatio',
    init: () => ({ slots: {}, numbers: {}, inner: [] }),
    update(updates, state, params) {
      const out = mapUpdates(updates, (u, i) => {
        const pNorm = tf.sqrt(tf.sum(tf.square(params[i]))); // []
        const uNorm = tf.sqrt(tf.sum(tf.square(u))); // []
        const ok = tf.logicalAnd(tf.greater(pNorm, 0), tf.greater(uNorm, 0)); // []
        const ratio = tf.where(ok, tf.div(pNorm, tf.where(ok, uNorm, tf.onesLike(uNorm))), tf.onesLike(pNorm)); // []
        return tf.mul(u, ratio); // [param shape]
      });
      return { updates: out, state };
    },
  };
}
