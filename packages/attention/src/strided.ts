import { DLArgumentError } from '@dl/core';
import { sparseAttention } from './patterns.js';
import type { AttentionFn } from './types.js';
import { checkOptionKeys, STRIDED_KEYS } from './option-keys.js';

/** Options of {@link stridedAttention}. */
export interface StridedAttentionOptions {
  /** Distance between attended keys (positive). */
  stride: number;
  /** Strided steps to the left (≥ 0). */
  lookBack: number;
  /** Strided steps to the right (≥ 0; ignored when causal). */
  lookForward: number;
  /** Causal: only the left steps. */
  causal?: boolean;
  /** Score scale. Default 1/√dk. */
  scale?: number;
  /** Queries per block (tuning). */
  blockSize?: number;
}

/**
 * Strided (dilated) attention (Sparse Transformer, Child et al. 2019: positions a fixed number of steps to
 * either side): query i attends keys i, i ± stride, i ± 2·stride, … (lookBack steps left, lookForward right). The
 * attention matrix has non-zero diagonals every `stride` entries. Computed blockwise: queries of the same
 * residue (i mod stride) are grouped, so each block needs only its residue's keys.
 *
 * Cost in N: time and memory O(N·(lookBack + lookForward + 1)).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { stridedAttention } from '@dl/attention';
 * const attend = stridedAttention({ stride: 4, lookBack: 3, lookForward: 3 });
 * const x = tf.randomNormal([1, 1, 32, 8]);
 * attend(x, x, x).output.shape; // [1, 1, 32, 8]
 * ```
 */
export function stridedAttention(options: StridedAttentionOptions): AttentionFn {
  if (options == null || typeof options !== 'object') throw new DLArgumentError('stridedAttention', 'options', 'an object', options);
  checkOptionKeys('stridedAttention', options, STRIDED_KEYS);
  const { stride, lookBack, lookForward, causal, scale, blockSize } = options;
  return sparseAttention({ strided: { stride, lookBack, lookForward }, causal, scale, blockSize }, 'stridedAttention');
}
