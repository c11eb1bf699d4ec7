import { checkNumber } from '@dl/core';
import type { LogitsProcessor } from '../types.js';

/**
 * Divides scores by `t` (HF `TemperatureLogitsWarper`): t < 1 sharpens the distribution, t > 1 flattens
 * it. Use with sampling; with greedy and beam search it changes nothing but the reported log-probs.
 *
 * @param t the temperature, > 0.
 * @throws DLArgumentError when t ≤ 0 or not finite.
 *
 * @example
 * ```ts
 * import { temperature } from '@dl/decode';
 * const warm = temperature(0.7);
 * ```
 */
export function temperature(t: number): LogitsProcessor {
  checkNumber('temperature', 'temperature', t, 0, Infinity, true);
  return (_ids, s) => {
    if (t === 1) return s;
    const data = new Float32Array(s.data.length);
    for (let i = 0; i < data.length; i++) data[i] = s.data[i] / t;
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
