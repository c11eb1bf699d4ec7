import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkShape, DLArgumentError, isTensor } from '@dl/core';

/** Token ids: an int32 tensor `[B, L]`, or the same as nested arrays. */
export type TokenIds = tf.Tensor | readonly (readonly number[])[];

// Backends whose values can be read synchronously without stalling a GPU.
const SYNC_READ = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * Token ids `[B, L]` as an int32 tensor (new when given arrays; the caller's tensor otherwise), with every
 * id checked to lie in [0, vocab). Arrays are checked on the host; tensors on backends that read
 * synchronously (cpu, wasm, tfjs-node); GPU backends skip the read.
 */
export function tokenTensor(where: string, arg: string, ids: TokenIds, vocab: number): { ids: tf.Tensor2D; owned: boolean } {
  if (isTensor(ids)) {
    checkShape(where, arg, ids, { rank: 2, dtype: 'int32' });
    if (SYNC_READ.has(tf.getBackend())) checkRange(where, arg, ids.dataSync(), vocab);
    return { ids: ids as tf.Tensor2D, owned: false };
  }
  if (!Array.isArray(ids) || ids.length === 0 || ids.some((r) => !Array.isArray(r) || r.length !== ids[0].length)) {
    throw new DLArgumentError(where, arg, 'an int32 tensor [B, L] or B arrays of equal length', ids);
  }
  const flat = (ids as number[][]).flat();
  if (flat.some((v) => !Number.isInteger(v))) throw new DLArgumentError(where, arg, 'integer token ids', ids);
  checkRange(where, arg, flat, vocab);
  return { ids: tf.tensor2d(flat, [ids.length, ids[0].length], 'int32'), owned: true };
}

function checkRange(where: string, arg: string, values: ArrayLike<number>, vocab: number): void {
  for (let i = 0; i < values.length; i++) {
    if (values[i] < 0 || values[i] >= vocab) throw new DLArgumentError(where, arg, `token ids in [0, ${vocab}) (the vocabulary)`, asIs(`${values[i]} at flat position ${i}`));
  }
}
