import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import { kernelsUsable, runElementwise } from './wasm-kernels.js';

// ReLU's gradient in one pass on tfjs's wasm backend (src/wasm/gelu.c's relu_grad): tfjs computes it as
// dy · step(x), two broadcasting kernels. @dl/core registers it as the gradient of tfjs's Relu kernel
// (so every `tf.relu`, `ReLU` layer and fused ReLU gets it) and @dl/cnn uses it behind its convolutions'
// fused ReLU.

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'DLReluGrad',
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) =>
      runElementwise(backend, [inputs.x as tf.TensorInfo, inputs.dy as tf.TensorInfo], 1, (k, n, [x, dy], [out]) => k.relu_grad(n, x, dy, out))[0]) as unknown as tf.KernelFunc,
  });
  // Second order: linear in dy (the same mask); zero almost everywhere in x.
  tf.registerGradient({ kernelName: 'DLReluGrad', inputsToSave: ['x'], gradFunc: (up, saved) => ({ dy: () => reluBackward(up as tf.Tensor, saved[0]), x: () => tf.zerosLike(saved[0]) }) });
}

/**
 * The gradient of ReLU (PyTorch's `threshold_backward` at 0): `dy` where `x > 0`, else 0. `x` may be
 * ReLU's input or its output (both are positive at the same places). On the wasm backend one pass in
 * @dl/core's SIMD module; elsewhere `dy · step(x)`. Differentiable. @dl/core registers it as the gradient of
 * tfjs's `Relu`, so `tf.relu` and the `ReLU` layer train through it; use it directly in a hand-written
 * gradient of a fused ReLU.
 *
 * @param dy the gradient of ReLU's output, float32.
 * @param x ReLU's input or output, the same shape as `dy`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { reluBackward } from '@dl/core';
 * const dx = reluBackward(tf.tensor1d([1, 2, 3]), tf.tensor1d([-1, 0, 5])); // [0, 0, 3]
 * ```
 */
export function reluBackward(dy: tf.Tensor, x: tf.Tensor): tf.Tensor {
  if (!isTensor(dy)) throw new DLArgumentError('reluBackward', 'dy', 'a tf.Tensor', dy);
  if (!isTensor(x)) throw new DLArgumentError('reluBackward', 'x', 'a tf.Tensor', x);
  if (x.shape.join(',') !== dy.shape.join(',')) throw new DLArgumentError('reluBackward', 'x', `of dy's shape [${dy.shape.join(', ')}]`, x);
  if (kernelsUsable(dy, x)) {
    register();
    return tf.engine().runKernel('DLReluGrad', { x, dy }, {}) as tf.Tensor;
  }
  return tf.tidy(() => tf.mul(dy, tf.step(tf.cast(x, 'float32'))));
}
