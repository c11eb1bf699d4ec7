import * as tf from '@tensorflow/tfjs-core';
import { gradConfigs } from './generated/tfjs-gradients.js';

let registered = false;

/**
 * Gradients tfjs-core 4.22 gets wrong, registered over whatever is there. Cumsum: tfjs transposes the
 * result by the axis permutation, which is wrong (and changes the shape) for any axis but the last; the
 * gradient of an inclusive/exclusive scan is the same scan of dy run the other way.
 */
const CORRECTED: tf.GradConfig[] = [
  {
    kernelName: 'Cumsum',
    gradFunc: (dy, _saved, attrs) => {
      const { axis, exclusive, reverse } = attrs as unknown as { axis: number; exclusive: boolean; reverse: boolean };
      return { x: () => tf.cumsum(dy as tf.Tensor, axis, exclusive, !reverse) };
    },
  },
];

/**
 * Registers tfjs-core's gradient for every kernel that has none yet, so `tf.grads`, `tf.variableGrads`
 * and optimizers work with only `@tensorflow/tfjs-core` and a backend installed: in plain Node (ESM and
 * CJS), under test runners and in browser bundles. Gradients already registered (for example by
 * `@tensorflow/tfjs` or `tfjs-node`) are left alone, except the few tfjs-core gets wrong (Cumsum along any
 * axis but the last), which are replaced by correct ones. Importing `@dl/core` calls this; it is idempotent.
 *
 * @returns the number of gradients this call registered.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ensureGradients } from '@dl/core';
 * ensureGradients();
 * const g = tf.grad((x: tf.Tensor) => tf.square(x))(tf.scalar(3)); // 6
 * ```
 */
export function ensureGradients(): number {
  if (registered) return 0;
  registered = true;
  let count = 0;
  for (const config of gradConfigs) {
    if (tf.getGradient(config.kernelName) == null) {
      tf.registerGradient(config);
      count++;
    }
  }
  for (const config of CORRECTED) tf.registerGradient(config);
  return count;
}

/**
 * Whether a gradient is registered for a tfjs kernel.
 *
 * @example
 * ```ts
 * import { hasGradient } from '@dl/core';
 * hasGradient('MatMul'); // false: tfjs names it 'BatchMatMul'
 * hasGradient('BatchMatMul'); // true once @dl/core is imported
 * ```
 */
export function hasGradient(kernelName: string): boolean {
  return tf.getGradient(kernelName) != null;
}

ensureGradients();
