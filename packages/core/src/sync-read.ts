import * as tf from '@tensorflow/tfjs-core';

/**
 * Backends whose tensors can be read synchronously without stalling a GPU: the value checks (class
 * indices, embedding ids, probabilities) run there. WebGPU in Node cannot read synchronously at all and
 * WebGL would stall, so on GPU backends those checks are skipped (documented per function).
 */
const SYNC_READ_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/** Whether the active backend can afford a synchronous read for a value check. Package-internal. */
export function canCheckValues(): boolean {
  return SYNC_READ_BACKENDS.has(tf.getBackend());
}

/** True when `x` looks like a tfjs tensor (duck-typed, so a second copy of tfjs-core passes too). Package-internal. */
export function isTensor(x: unknown): x is tf.Tensor {
  return typeof x === 'object' && x !== null && 'dataId' in x && Array.isArray((x as tf.Tensor).shape) && typeof (x as tf.Tensor).dtype === 'string';
}
