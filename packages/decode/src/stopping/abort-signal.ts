import { DLArgumentError } from '@dl/core';
import type { StoppingCriterion } from '../types.js';

/**
 * Stops every row once `signal` is aborted. Decoders also look before each step, so an abort never waits
 * for more than the step in flight; what was decoded so far is returned. Reason `'abort'`.
 *
 * @example
 * ```ts
 * import { abortSignal } from '@dl/decode';
 * const controller = new AbortController();
 * const stop = abortSignal(controller.signal);
 * ```
 */
export function abortSignal(signal: AbortSignal): StoppingCriterion {
  if (signal == null || typeof signal.aborted !== 'boolean') throw new DLArgumentError('abortSignal', 'signal', 'an AbortSignal', signal);
  return { reason: 'abort', check: () => signal.aborted };
}
