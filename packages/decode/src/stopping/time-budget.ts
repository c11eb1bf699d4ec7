import { checkNumber } from '@dl/core';
import type { StoppingCriterion } from '../types.js';

/**
 * Stops every row once `ms` milliseconds passed since decoding started (HF `MaxTimeCriteria`); checked
 * after each step, so a step in flight finishes. Reason `'time'`.
 *
 * @example
 * ```ts
 * import { maxTime } from '@dl/decode';
 * const stop = maxTime(2000);
 * ```
 */
export function maxTime(ms: number): StoppingCriterion {
  checkNumber('maxTime', 'ms', ms, 0, Infinity, true);
  return { reason: 'time', check: (_ids, info) => info.elapsedMs >= ms };
}
