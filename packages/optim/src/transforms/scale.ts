import * as tf from '@tensorflow/tfjs-core';
import { checkHyper, groupCount, mapUpdates, resolve, type GradientTransformation, type Hyper } from '../types.js';

/**
 * Multiplies every update by `factor` (a number or a schedule of the step count).
 *
 * $u \leftarrow \mathrm{factor}(t)\cdot u$.
 *
 * @example
 * ```ts
 * import { scale } from '@dl/optim';
 * const negate = scale(-1); // maximize instead of minimize
 * ```
 */
export function scale(factor: Hyper): GradientTransformation {
  const f = checkHyper('scale', 'factor', factor, -Infinity);
  return {
    name: 'scale',
    init: () => ({ slots: {}, numbers: { step: [0] }, inner: [] }),
    update(updates, state) {
      const t = groupCount(state);
      const s = resolve(f, t);
      let factorT: tf.Scalar | undefined; // one upload per step, shared by every parameter
      return {
        updates: s === 1 ? updates : mapUpdates(updates, (u) => tf.mul(u, factorT ??= tf.scalar(s))), // [param shape]
        state: { slots: {}, numbers: { step: [t + 1] }, inner: [] },
      };
    },
  };
}

/**
 * The last link of an optimizer chain: $u \leftarrow -\eta(t)\,u$, so that $\theta \leftarrow \theta + u$ descends. $\eta$ is a number or
 * a {@link Schedule} (evaluated at the number of updates seen, starting at 0, as PyTorch's
 * `scheduler.step()` after each `optimizer.step()`).
 *
 * @example
 * ```ts
 * import { chain, scaleByAdam, scaleByLearningRate, cosine } from '@dl/optim';
 * const tx = chain(scaleByAdam(), scaleByLearningRate(cosine({ init: 1e-3, steps: 1000 })));
 * ```
 */
export function scaleByLearningRate(lr: Hyper): GradientTransformation {
  const eta = checkHyper('scaleByLearningRate', 'lr', lr);
  return {
    name: 'scaleByLearningRate',
    init: () => ({ slots: {}, numbers: { step: [0] }, inner: [] }),
    update(updates, state) {
      const t = groupCount(state);
      const s = -resolve(eta, t);
      let lrT: tf.Scalar | undefined; // one upload per step, shared by every parameter
      return {
        updates: mapUpdates(updates, (u) => tf.mul(u, (lrT ??= tf.scalar(s)))), // [param shape]
        state: { slots: {}, numbers: { step: [t + 1] }, inner: [] },
      };
    },
  };
}
