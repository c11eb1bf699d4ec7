import { checkInt, checkNumber } from '@dl/core';
import { softmaxRow } from '../scores.js';
import { sortDescending } from './sorted.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Nucleus filtering (HF `TopPLogitsWarper`): keeps, in each row, the smallest set of most likely tokens
 * whose cumulative probability reaches `p` (at least `minTokensToKeep`, so never an empty set), and sets
 * the rest to `-Infinity`. The set adapts to the model's confidence, unlike top-k. Ties at the boundary
 * go to the lower token id.
 *
 * @param p the probability mass to keep, in (0, 1]; 1 keeps everything.
 * @param minTokensToKeep Default 1.
 * @throws DLArgumentError when p ∉ (0, 1].
 *
 * @example
 * ```ts
 * import { topP } from '@dl/decode';
 * const nucleus = topP(0.9);
 * ```
 */
export function topP(p: number, minTokensToKeep = 1): LogitsProcessor {
  checkNumber('topP', 'p', p, 0, 1, true);
  checkInt('topP', 'minTokensToKeep', minTokensToKeep);
  return (_ids, s) => {
    if (p >= 1) return s;
    const data = Float32Array.from(s.data);
    for (let r = 0; r < s.rows; r++) {
      const o = r * s.vocab;
      const probs = softmaxRow(s.data, o, s.vocab);
      const order = sortDescending(probs, s.vocab);
      let cum = 0;
      let kept = 0;
      // Keep a token while the mass before it is < p: the smallest prefix whose mass reaches p.
      while (kept < s.vocab && (cum < p || kept < minTokensToKeep)) {
        cum += probs[order[kept]];
        kept++;
      }
      for (let i = kept; i < s.vocab; i++) data[o + order[i]] = -Infinity;
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
