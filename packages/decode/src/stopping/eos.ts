import type { StoppingCriterion } from '../types.js';
import { eosList } from '../eos-ids.js';

/**
 * Stops a row when its last token is an EOS token (HF `EosTokenCriteria`). Reason `'eos'`. Greedy and
 * sampling add it when `eosTokenId` is given; beam search handles EOS through its hypotheses instead.
 *
 * @example
 * ```ts
 * import { eosCriterion } from '@dl/decode';
 * const stop = eosCriterion([2, 3]);
 * ```
 */
export function eosCriterion(eosTokenId: number | readonly number[]): StoppingCriterion {
  const eos = new Set(eosList('eosCriterion', eosTokenId));
  return { reason: 'eos', check: (ids, info) => ids.map((row, r) => row.length > info.promptLength[r] && eos.has(row[row.length - 1])) };
}
