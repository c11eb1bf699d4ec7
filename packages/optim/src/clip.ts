import * as tf from '@tensorflow/tfjs-core';
import { checkNumber } from '@dl/core';
import { addMany } from './add-many.js';
import { mapUpdates, tidyUpdates, type GradientTransformation, type Updates } from './types.js';

/**
 * The global L2 norm of a list of tensors, ‖(g₁, …, g_n)‖ = √(Σᵢ Σ g_i²), as a scalar tensor (nulls are
 * skipped). Stays on the device.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { globalNorm } from '@dl/optim';
 * const n = globalNorm([tf.tensor1d([3]), tf.tensor1d([4])]); // 5
 * ```
 */
export function globalNorm(tensors: readonly (tf.Tensor | null)[]): tf.Scalar {
  return tf.tidy(() => {
    const sums = tensors.filter((t): t is tf.Tensor => t !== null).map((t) => tf.sum(tf.square(t))); // [] each
    return sums.length === 0 ? tf.scalar(0) : (tf.sqrt(addMany(sums)) as tf.Scalar); // []
  });
}

/** What {@link clipGradNorm} returns. */
export interface ClipResult {
  /** The clipped gradients. */
  grads: Updates;
  /** The global norm before clipping. */
  norm: tf.Scalar;
}

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`, exactly as
 * `torch.nn.utils.clip_grad_norm_`: c = min(1, maxNorm / (‖g‖ + 1e-6)), g ← c·g. Returns the clipped
 * gradients and the norm before clipping (a scalar tensor; read it with `await norm.data()`). The caller
 * owns the results; the inputs are not changed.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { clipGradNorm } from '@dl/optim';
 * const { grads, norm } = clipGradNorm([tf.tensor1d([3, 4])], 1); // grads ≈ [[0.6, 0.8]], norm 5
 * ```
 */
export function clipGradNorm(grads: Updates, maxNorm: number): ClipResult {
  checkNumber('clipGradNorm', 'maxNorm', maxNorm, 0, Infinity, true);
  return tidyUpdates(() => {
    const norm = globalNorm(grads); // []
    const coef = tf.minimum(tf.div(maxNorm, tf.add(norm, 1e-6)), 1); // []
    return { grads: mapUpdates(grads, (g) => tf.mul(g, coef)), norm }; // [param shape] each
  });
}

/**
 * A transformation that clips each element to [−maxAbs, maxAbs] (`torch.nn.utils.clip_grad_value_`).
 *
 * @example
 * ```ts
 * import { chain, clipByValue, scaleByLearningRate } from '@dl/optim';
 * const tx = chain(clipByValue(0.5), scaleByLearningRate(0.1));
 * ```
 */
export function clipByValue(maxAbs: number): GradientTransformation {
  const c = checkNumber('clipByValue', 'maxAbs', maxAbs, 0, Infinity, true);
  return {
    name: 'clipByValue',
    init: () => ({ slots: {}, numbers: {}, inner: [] }),
    update: (updates, state) => ({ updates: mapUpdates(updates, (u) => tf.clipByValue(u, -c, c)), state }), // [param shape]
  };
}

/**
 * A transformation that rescales the updates of the parameters it sees so their global L2 norm is at most
 * `maxNorm` (same rule as {@link clipGradNorm}). Inside an {@link Optimizer} prefer the `clipGradNorm`
 * option, which clips over all groups and reports the norm.
 *
 * @example
 * ```ts
 * import { chain, clipByGlobalNorm, scaleByAdam, scaleByLearningRate } from '@dl/optim';
 * const tx = chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(1e-3));
 * ```
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  checkNumber('clipByGlobalNorm', 'maxNorm', maxNorm, 0, Infinity, true);
  return {
    name: 'clipByGlobalNorm',
    init: () => ({ slots: {}, numbers: {}, inner: [] }),
    update(updates, state) {
      const { grads, norm } = clipGradNorm(updates, maxNorm);
      norm.dispose();
      return { updates: grads, state };
    },
  };
}
