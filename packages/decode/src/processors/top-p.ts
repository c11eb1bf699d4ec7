import { checkInt, checkNumber } from '@dl/core';
import { softmaxRow } from '../scores.js';
import { positiveDescending } from './sorted.js';
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
      // Only tokens of non-zero probability can be in the nucleus (after top-k, that is k of them).
      const order = positiveDescending(probs, s.vocab);
      if (order.length < minTokensToKeep) continue; // nothing to cut
      let cum = 0;
      let kept = 0;
      // Keep a token while the mass before it is < p: the smallest prefix whose mass reaches p.
      while (kept < order.length && (cum < p || kept < minTokensToKeep)) {
        cum += probs[order[kept]];
        kept++;
      }
      const keep = new Set(order.slice(0, kept));
      for (let j = 0; j < s.vocab; j++) if (!keep.has(j)) data[o + j] = -Infinity;
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
