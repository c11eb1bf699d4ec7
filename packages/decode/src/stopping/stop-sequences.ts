import { DLArgumentError } from '@dl/core';
import type { StoppingCriterion } from '../types.js';

/**
 * Stops a row when its generated tokens end with one of `sequences` (the stop sequence stays in the
 * output). Only generated tokens count, never the prompt. Reason `'stop-sequence'`.
 *
 * @example
 * ```ts
 * import { stopSequences } from '@dl/decode';
 * const stop = stopSequences([[13, 13], [50256]]); // a blank line, or a special token
 * ```
 */
export function stopSequences(sequences: readonly (readonly number[])[]): StoppingCriterion {
  if (!Array.isArray(sequences) || !sequences.every((q) => Array.isArray(q) && q.length > 0)) {
    throw new DLArgumentError('stopSequences', 'sequences', 'a list of non-empty token-id lists', sequences);
  }
  const seqs = sequences.map((q) => [...q]);
  return {
    reason: 'stop-sequence',
    check: (ids, info) =>
      ids.map((row, r) => {
        const generated = row.length - info.promptLength[r];
        return seqs.some((q) => q.length <= generated && q.every((t, i) => row[row.length - q.length + i] === t));
      }),
  };
}
