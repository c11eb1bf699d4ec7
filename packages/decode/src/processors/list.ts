import { DLArgumentError } from '@dl/core';
import type { LogitsProcessor } from '../types.js';

/**
 * Composes logits processors, applied left to right (HF `LogitsProcessorList`).
 *
 * @example
 * ```ts
 * import { processorList, temperature, topK, topP } from '@dl/decode';
 * const warp = processorList(temperature(0.8), topK(40), topP(0.95));
 * ```
 */
export function processorList(...processors: readonly LogitsProcessor[]): LogitsProcessor {
  for (const [i, p] of processors.entries()) {
    if (typeof p !== 'function') throw new DLArgumentError('processorList', `processors[${i}]`, 'a function', typeof p);
  }
  return (ids, scores, info) => processors.reduce((s, p) => p(ids, s, info), scores);
}
