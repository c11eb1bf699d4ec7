import type * as tf from '@tensorflow/tfjs-core';
import { kernelWrapped, wasmKernelsActive, wrapKernel } from './wasm-kernels.js';

// tfjs's `clone` (the Identity kernel) on the wasm backend copies the values into a new buffer; the cpu and
// WebGL backends share the buffer instead (a reference count, as wasm's own Reshape does). Autodiff clones
// every tensor a gradient keeps for the backward pass (Engine.saveTensorsForBackwardMode): 359 of the 393
// Identity kernels of a small GPT's training step, ~12 ms of memcpy at nanoGPT's CPU size. No tfjs kernel
// writes into its inputs, so a clone can share its source's buffer on wasm too: @dl/core wraps the wasm
// Identity kernel to do so (numeric tensors, while @dl/core's kernels are on; strings are still copied).

/** Shares x's buffer (one more reference), or null for tfjs's copy (strings, @dl/core's kernels off). */
function shareBuffer({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const x = inputs.x as tf.TensorInfo;
  const b = backend as { incRef?: (dataId: object) => void };
  if (x.dtype === 'string' || !wasmKernelsActive() || typeof b.incRef !== 'function') return null;
  b.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/**
 * Wraps tfjs's wasm `Identity` kernel so that a clone shares its source's buffer (package-internal:
 * `useBackend('wasm')` installs it). Idempotent.
 */
export function installWasmIdentity(): void {
  wrapKernel('Identity', shareBuffer);
}

/** Whether the wasm Identity kernel is wrapped (package-internal: tests use it). */
export function wasmIdentityInstalled(): boolean {
  return kernelWrapped('Identity');
}
