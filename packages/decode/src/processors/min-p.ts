import { checkInt, checkNumber } from '@dl/core';
import { softmaxRow } from '../scores.js';
import { sortDescending } from './sorted.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Min-p filtering (HF `MinPLogitsWarper`): removes tokens whose probability is below `minP` times the
 * most likely token's probability (keeping at least `minTokensToKeep`). A confidence-scaled cut: strict
 * when the model is sure, permissive when it is not.
 *
 * @param minP in [0, 1]; typical values 0.01–0.2.
 * @param minTokensToKeep Default 1.
 * @throws DLArgumentError when minP ∉ [0, 1].
 *
 * @example
 * ```ts
 * import { minP } from '@dl/decode';
 * const cut = minP(0.05);
 * ```
 */
export function minP(minP: number, minTokensToKeep = 1): LogitsProcessor {
  checkNumber('minP', 'minP', minP, 0, 1);
  checkInt('minP', 'minTokensToKeep', minTokensToKeep);
  return (_ids, s) => {
    const data = Float32Array.from(s.data);
    for (let r = 0; r < s.rows; r++) {
      const o = r * s.vocab;
      const probs = softmaxRow(s.data, o, s.vocab);
      let top = 0;
      for (let j = 0; j < s.vocab; j++) if (probs[j] > top) top = probs[j];
      const threshold = minP * top;
      let kept = 0;
      for (let j = 0; j < s.vocab; j++) if (probs[j] >= threshold) kept++;
      if (kept >= minTokensToKeep) {
        for (let j = 0; j < s.vocab; j++) if (probs[j] < threshold) data[o + j] = -Infinity;
      } else {
        const order = sortDescending(probs, s.vocab);
        for (let i = minTokensToKeep; i < s.vocab; i++) data[o + order[i]] = -Infinity;
      }
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
