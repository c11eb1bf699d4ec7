import * as tf from '@tensorflow/tfjs-core';
import { gradConfigs } from './generated/tfjs-gradients.js';
import { reluBackward } from './relu-backward.js';

let registered = false;

/**
 * The gradient of Max and Min: dy, kept-dims, to every element equal to its reduction's result. tfjs
 * builds the mask with a broadcasting `equal(x, y)`, which on wasm is ~12× slower than comparing the
 * broadcast difference `x − y` with 0 (69 ms against 6 ms for a LeNet pooling layer's
 * `[64, 14, 2, 14, 2, 6]`; it was 45 % of the training step). The mask is the same one.
 */
function extremumGradient(axisAttr: 'reductionIndices' | 'axis'): tf.GradFunc {
  return (dy, saved, attrs) => {
    const [x, y] = saved;
    const axes = tf.util.parseAxisParam(attrs[axisAttr] as number | number[], x.shape);
    // y's shape with the reduced axes kept as size 1 (already so when the op ran with keepDims).
    const kept = y.rank < x.rank ? tf.backend_util.expandShapeToKeepDim(y.shape, axes) : y.shape;
    return {
      x: () => tf.mul(tf.reshape(dy as tf.Tensor, kept), tf.cast(tf.equal(tf.sub(x, tf.reshape(y, kept)), 0), 'float32')), // x's shape
    };
  };
}

/**
 * Gradients tfjs-core 4.22 gets wrong or slow, registered over whatever is there.
 * - Cumsum: tfjs transposes the result by the axis permutation, which is wrong (and changes the shape) for
 *   any axis but the last; the gradient of an inclusive/exclusive scan is the same scan of dy run the
 *   other way.
 * - Max, Min: the same gradient as tfjs's, without its broadcasting comparison (see `extremumGradient`).
 * - Relu: the same gradient as tfjs's, in one pass on wasm (`reluBackward`).
 */
const CORRECTED: tf.GradConfig[] = [
  // tfjs names the reduced axes `reductionIndices` for Max and `axis` for Min.
  { kernelName: 'Max', inputsToSave: ['x'], outputsToSave: [true], gradFunc: extremumGradient('reductionIndices') },
  { kernelName: 'Min', inputsToSave: ['x'], outputsToSave: [true], gradFunc: extremumGradient('axis') },
  // ReLU: one pass on wasm (reluBackward) instead of dy · step(x).
  { kernelName: 'Relu', inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => reluBackward(dy as tf.Tensor, saved[0]) }) },
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
 * axis but the last) or slow on wasm (Max, Min, Relu), which are replaced. It is idempotent.
 *
 * Importing `@dl/core` registers nothing (the package is side-effect free, so bundlers may drop a bare
 * `import '@dl/core'`). Registration happens on first use instead: {@link useBackend}, constructing any
 * {@link Module} (every layer and model), the losses ({@link crossEntropy} and the others), and in
 * `@dl/optim` constructing an optimizer and the Hessian diagnostics all call this. Call it yourself before
 * `tf.grad`/`tf.variableGrads` on plain functions when none of those ran first.
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
 * hasGradient('BatchMatMul'); // true once gradients are registered (ensureGradients, useBackend, a Module, a loss)
 * ```
 */
export function hasGradient(kernelName: string): boolean {
  return tf.getGradient(kernelName) != null;
}
