import { checkInt, DLArgumentError } from '@dl/core';
import { sparseAttention } from './patterns.js';
import type { AttentionFn } from './types.js';
import { checkOptionKeys, LOCAL_KEYS } from './option-keys.js';

/** Options of {@link localAttention}. */
export interface LocalAttentionOptions {
  /** Symmetric window: `lookBack = lookForward = window` (causal: `lookBack = window`). Positive. */
  window?: number;
  /** Keys before the query (≥ 0). Overrides `window`. */
  lookBack?: number;
  /** Keys after the query (≥ 0). Overrides `window`; 0 when causal. */
  lookForward?: number;
  /** Causal sliding window (only the past). */
  causal?: boolean;
  /** Score scale. Default 1/√dk. */
  scale?: number;
  /** Queries per block (tuning). */
  blockSize?: number;
}

/**
 * Truncated / local attention (sliding-window attention, as in Longformer, Beltagy et al. 2020): each query
 * looks only at its neighbours, keys i − lookBack … i + lookForward; every other entry of the attention
 * matrix is 0 (only a band around the diagonal is computed), "like a CNN". Causal or bidirectional.
 *
 * Cost in N: time and memory O(N·w), w = lookBack + lookForward + 1 (blockwise, never N×N). With a window
 * ≥ N it equals full attention.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { localAttention } from '@dl/attention';
 * const attend = localAttention({ lookBack: 4, lookForward: 0 }); // causal-style window of 5
 * const x = tf.randomNormal([1, 2, 64, 16]);
 * const { output } = attend(x, x, x); // [1, 2, 64, 16]
 * ```
 */
export function localAttention(options: LocalAttentionOptions): AttentionFn {
  const where = 'localAttention';
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object', options);
  checkOptionKeys(where, options, LOCAL_KEYS);
  if (options.window === undefined && options.lookBack === undefined && options.lookForward === undefined) {
    throw new DLArgumentError(where, 'window', 'a positive integer (or lookBack/lookForward)', undefined);
  }
  if (options.window !== undefined) checkInt(where, 'window', options.window);
  const w = options.window ?? 0;
  const lookBack = checkInt(where, 'lookBack', options.lookBack ?? w, 0);
  const lookForward = options.causal ? 0 : checkInt(where, 'lookForward', options.lookForward ?? w, 0);
  return sparseAttention({ local: { lookBack, lookForward }, causal: options.causal, scale: options.scale, blockSize: options.blockSize }, where);
}
