import { checkInt } from '@dl/core';
import type { LogitsProcessor } from '../types.js';

/**
 * HF `NoRepeatNGramLogitsProcessor`: forbids any token that would complete an n-gram already present in
 * the row (prompt included). With beam search, the classic fix for repeated phrases.
 *
 * @param n the n-gram size, ≥ 1.
 * @throws DLArgumentError when n < 1.
 *
 * @example
 * ```ts
 * import { noRepeatNgram } from '@dl/decode';
 * const p = noRepeatNgram(3);
 * ```
 */
export function noRepeatNgram(n: number): LogitsProcessor {
  checkInt('noRepeatNgram', 'n', n);
  return (ids, s) => {
    const data = Float32Array.from(s.data);
    for (let r = 0; r < s.rows; r++) {
      const row = ids[r];
      const len = row.length;
      if (len + 1 < n) continue;
      const start = len - n + 1; // the last n-1 tokens start here
      for (let i = 0; i + n <= len; i++) {
        let match = true;
        for (let j = 0; j < n - 1; j++) {
          if (row[i + j] !== row[start + j]) {
            match = false;
            break;
          }
        }
        const banned = row[i + n - 1];
        if (match && banned >= 0 && banned < s.vocab) data[r * s.vocab + banned] = -Infinity;
      }
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
