import { checkInt } from '@dl/core';
import type { LogitsProcessor } from '../types.js';
import { eosList } from '../eos-ids.js';

/**
 * HF `MinNewTokensLengthLogitsProcessor`: forbids the EOS token(s) until `n` tokens were generated.
 *
 * @param n minimum number of generated tokens, ≥ 0.
 * @param eosTokenId the EOS id(s).
 *
 * @example
 * ```ts
 * import { minNewTokens } from '@dl/decode';
 * const p = minNewTokens(5, 2);
 * ```
 */
export function minNewTokens(n: number, eosTokenId: number | readonly number[]): LogitsProcessor {
  checkInt('minNewTokens', 'n', n, 0);
  const eos = eosList('minNewTokens', eosTokenId);
  return (_ids, s, info) => (info.step < n ? banTokens(s, eos, () => true) : s);
}

/**
 * HF `MinLengthLogitsProcessor`: forbids the EOS token(s) while a row (prompt included) is shorter than `n`.
 *
 * @param n minimum total length, ≥ 0.
 * @param eosTokenId the EOS id(s).
 *
 * @example
 * ```ts
 * import { minLength } from '@dl/decode';
 * const p = minLength(10, 2);
 * ```
 */
export function minLength(n: number, eosTokenId: number | readonly number[]): LogitsProcessor {
  checkInt('minLength', 'n', n, 0);
  const eos = eosList('minLength', eosTokenId);
  return (ids, s) => banTokens(s, eos, (r) => ids[r].length < n);
}

function banTokens(s: Parameters<LogitsProcessor>[1], tokens: readonly number[], rowIf: (r: number) => boolean): ReturnType<LogitsProcessor> {
  const data = Float32Array.from(s.data);
  for (let r = 0; r < s.rows; r++) {
    if (!rowIf(r)) continue;
    for (const t of tokens) if (t < s.vocab) data[r * s.vocab + t] = -Infinity;
  }
  return { rows: s.rows, vocab: s.vocab, data };
}
