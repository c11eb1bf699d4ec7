import { checkInt } from '@dl/core';
import { topKIndices } from '../scores.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Keeps the `k` highest-scoring tokens of each row and sets the rest to `-Infinity` (HF
 * `TopKLogitsWarper`: tokens tied with the k-th score are kept too). Cuts the unreliable tail for sampling.
 *
 * @param k how many tokens to keep, ≥ 1 (more than the vocabulary keeps all).
 * @param minTokensToKeep lower bound on k. Default 1.
 * @throws DLArgumentError when k < 1 or not an integer.
 *
 * @example
 * ```ts
 * import { topK } from '@dl/decode';
 * const top50 = topK(50);
 * ```
 */
export function topK(k: number, minTokensToKeep = 1): LogitsProcessor {
  checkInt('topK', 'k', k);
  checkInt('topK', 'minTokensToKeep', minTokensToKeep);
  return (_ids, s) => {
    const kk = Math.min(Math.max(k, minTokensToKeep), s.vocab);
    if (kk >= s.vocab) return s;
    const data = Float32Array.from(s.data);
    for (let r = 0; r < s.rows; r++) {
      const o = r * s.vocab;
      const idx = topKIndices(s.data, o, s.vocab, kk);
      const kth = s.data[o + idx[kk - 1]];
      for (let j = 0; j < s.vocab; j++) if (data[o + j] < kth) data[o + j] = -Infinity;
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
