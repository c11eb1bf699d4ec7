import { checkNumber } from '@dl/core';
import type { LogitsProcessor } from '../types.js';

/**
 * HF `RepetitionPenaltyLogitsProcessor` (Keskar et al. 2019): every token already in the row (prompt
 * included) has its score s replaced by s/θ when s > 0 and s·θ otherwise, so θ > 1 discourages
 * repetition and θ < 1 encourages it.
 *
 * @param penalty θ > 0.
 * @throws DLArgumentError when θ ≤ 0.
 *
 * @example
 * ```ts
 * import { repetitionPenalty } from '@dl/decode';
 * const rp = repetitionPenalty(1.3);
 * ```
 */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  checkNumber('repetitionPenalty', 'penalty', penalty, 0, Infinity, true);
  return (ids, s) => {
    if (penalty === 1) return s;
    const data = Float32Array.from(s.data);
    for (let r = 0; r < s.rows; r++) {
      const o = r * s.vocab;
      for (const t of new Set(ids[r])) {
        if (t < 0 || t >= s.vocab) continue;
        const v = s.data[o + t];
        data[o + t] = v < 0 ? v * penalty : v / penalty;
      }
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
