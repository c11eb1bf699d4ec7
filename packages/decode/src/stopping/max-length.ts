import { checkInt } from '@dl/core';
import type { StoppingCriterion } from '../types.js';

/**
 * Stops every row once `n` tokens were generated (HF `max_new_tokens`). Reason `'length'`.
 *
 * @example
 * ```ts
 * import { maxNewTokens } from '@dl/decode';
 * const stop = maxNewTokens(32);
 * ```
 */
export function maxNewTokens(n: number): StoppingCriterion {
  checkInt('maxNewTokens', 'n', n);
  return { reason: 'length', check: (_ids, info) => info.step >= n };
}

/**
 * Stops each row once it (prompt included) has `n` tokens (HF `MaxLengthCriteria`). Reason `'length'`.
 *
 * @example
 * ```ts
 * import { maxLength } from '@dl/decode';
 * const stop = maxLength(64);
 * ```
 */
export function maxLength(n: number): StoppingCriterion {
  checkInt('maxLength', 'n', n);
  return { reason: 'length', check: (ids) => ids.map((row) => row.length >= n) };
}
