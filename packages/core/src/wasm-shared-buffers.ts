import type * as tf from '@tensorflow/tfjs-core';
import { kernelWrapped, wasmKernelsActive, wrapKernel } from './wasm-kernels.js';

// tfjs's `clone` (the Identity kernel) and a cast to the dtype a tensor already has (Cast) copy the values
// into a new buffer on the wasm backend; the cpu and WebGL backends share the buffer instead (a reference
// count, as wasm's own Reshape does). Autodiff clones every tensor a gradient keeps for the backward pass
// (Engine.saveTensorsForBackwardMode: 359 of the 393 Identity kernels of a small GPT's training step) and
// tfjs's gradients of Mul, Add and friends cast float32 to float32 (90 Casts in that step). No tfjs kernel
// writes into its inputs, so on wasm @dl/core wraps both kernels to share the buffer (numeric tensors,
// while @dl/core's kernels are on; strings and real conversions still go to tfjs's kernels).

/** x's buffer with one more reference, as a new tensor of x's shape and dtype. */
function share(x: tf.TensorInfo, backend: unknown): tf.TensorInfo | null {
  const b = backend as { incRef?: (dataId: object) => void };
  if (x.dtype === 'string' || !wasmKernelsActive() || typeof b.incRef !== 'function') return null;
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Wraps tfjs's wasm `Identity` kernel, and its `Cast` kernel for casts to the same dtype, so that they
 * share the input's buffer (package-internal: `useBackend('wasm')` installs it). Idempotent.
 */
export function installWasmSharedBuffers(): void {
  wrapKernel('Identity', ({ inputs, backend }) => share(inputs.x as tf.TensorInfo, backend));
  wrapKernel('Cast', ({ inputs, backend, attrs }) => ((inputs.x as tf.TensorInfo).dtype === attrs?.dtype ? share(inputs.x as tf.TensorInfo, backend) : null));
}

/** Whether the wasm Identity and Cast kernels are wrapped (package-internal: tests use it). */
export function wasmSharedBuffersInstalled(): boolean {
  return kernelWrapped('Identity') && kernelWrapped('Cast');
}
