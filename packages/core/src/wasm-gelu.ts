import * as tf from '@tensorflow/tfjs-core';
import { kernelsUsable, runElementwise } from './wasm-kernels.js';

// Exact GELU on tfjs's wasm backend in @dl/core's SIMD module (src/wasm/gelu.c): one kernel forward
// (DLGelu) and one backward (DLGeluGrad) instead of tfjs's Erf, Exp and a dozen elementwise kernels,
// whose Erf and Exp are scalar libm calls on wasm (~2–3 ms each for nanoGPT's 768 × 512 activations).

let registered = false;

/** Registers DLGelu and DLGeluGrad for wasm with their gradients (on first use). */
function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'DLGelu',
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) => runElementwise(backend, [inputs.x as tf.TensorInfo], 1, (k, n, [x], [y]) => k.gelu(n, x, y))[0]) as unknown as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: 'DLGeluGrad',
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend }: { inputs: tf.NamedTensorInfoMap; backend: unknown }) =>
      runElementwise(backend, [inputs.x as tf.TensorInfo, inputs.dy as tf.TensorInfo], 1, (k, n, [x, dy], [dx]) => k.gelu_grad(n, x, dy, dx))[0]) as unknown as tf.KernelFunc,
  });
  // d/dx [x·Φ(x)] = Φ(x) + x·φ(x): DLGeluGrad(x, dy) = dy·(Φ(x) + x·φ(x)).
  tf.registerGradient({ kernelName: 'DLGelu', inputsToSave: ['x'], gradFunc: (dy, saved) => ({ x: () => geluGrad(saved[0], dy as tf.Tensor) }) });
  // Second order: d/d(dy) = Φ + x·φ (DLGeluGrad of the upstream), d/dx = dy·φ(x)·(2 − x²).
  tf.registerGradient({
    kernelName: 'DLGeluGrad',
    inputsToSave: ['x', 'dy'],
    gradFunc: (up, saved) => {
      const [x, dy] = saved;
      const u = up as tf.Tensor;
      return {
        x: () => tf.tidy(() => tf.mul(tf.mul(u, dy), tf.mul(tf.mul(tf.exp(tf.mul(tf.square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI)), tf.sub(2, tf.square(x))))),
        dy: () => geluGrad(x, u),
      };
    },
  });
}

function geluGrad(x: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return tf.engine().runKernel('DLGeluGrad', { x, dy }, {}) as tf.Tensor;
}

/** Whether exact GELU of `x` runs in the module now (package-internal). */
export function wasmGeluUsable(x: tf.Tensor): boolean {
  return kernelsUsable(x);
}

/** Exact GELU in the module, differentiable (package-internal: `gelu` is the public entry). */
export function wasmGelu(x: tf.Tensor): tf.Tensor {
  register();
  return tf.engine().runKernel('DLGelu', { x }, {}) as tf.Tensor;
}
