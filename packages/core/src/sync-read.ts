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

/** Package-internal alias: tensor checks live in tensor-check.ts (`isTensor`). */
export { isTensor } from './tensor-check.js';
