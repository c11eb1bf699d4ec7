import { DLArgumentError } from '@dl/core';
import { sparseAttention, type GlobalPattern, type LocalPattern, type StridedPattern } from './patterns.js';
import type { AttentionFn } from './types.js';
import { checkOptionKeys, GLOBAL_KEYS } from './option-keys.js';

/** Options of {@link globalAttention}. */
export interface GlobalAttentionOptions extends GlobalPattern {
  /** Combine with a sliding window. */
  local?: LocalPattern;
  /** Combine with strided steps. */
  strided?: StridedPattern;
  /** Causal: global tokens attend only to the past too. */
  causal?: boolean;
  /** Score scale. Default 1/√dk. */
  scale?: number;
  /** Queries per block (tuning). */
  blockSize?: number;
}

/**
 * Global attention (Longformer, Beltagy et al. 2020; BigBird, Zaheer et al. 2020): chosen positions, or special tokens added in front of
 * the sequence ({@link prependTokens} with `count`), attend to every token (collecting global
 * information) and are attended by every token (so everyone knows it). In the attention matrix: full
 * rows and full columns at the global positions. Combine with `local` and `strided` (Longformer, BigBird
 * without random parts); use {@link perHead} for different patterns per head.
 *
 * Cost in N: O(g·N) for g global tokens, plus O(N·w) for the local/strided parts.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { globalAttention } from '@dl/attention';
 * const attend = globalAttention({ count: 2, local: { lookBack: 3, lookForward: 3 } });
 * const x = tf.randomNormal([1, 2, 40, 8]);
 * attend(x, x, x).output.shape; // [1, 2, 40, 8]
 * ```
 */
export function globalAttention(options: GlobalAttentionOptions): AttentionFn {
  if (options == null || typeof options !== 'object') throw new DLArgumentError('globalAttention', 'options', 'an object', options);
  checkOptionKeys('globalAttention', options, GLOBAL_KEYS);
  const { positions, count, local, strided, causal, scale, blockSize } = options;
  return sparseAttention({ global: { positions, count }, local, strided, causal, scale, blockSize }, 'globalAttention');
}
