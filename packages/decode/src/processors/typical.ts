import { checkInt, checkNumber } from '@dl/core';
import { logSumExp } from '../scores.js';
import { sortAscending } from './sorted.js';
import type { LogitsProcessor } from '../types.js';

/**
 * Locally typical sampling (Meister et al. 2022; HF `TypicalLogitsWarper`): ranks tokens by how close
 * their surprisal −log p is to the entropy of the row, and keeps the closest ones until their cumulative
 * probability reaches `mass`. Avoids both bland and incoherent text.
 *
 * @param mass in (0, 1]; 1 keeps everything.
 * @param minTokensToKeep Default 1.
 * @throws DLArgumentError when mass ∉ (0, 1].
 *
 * @example
 * ```ts
 * import { typical } from '@dl/decode';
 * const t = typical(0.9);
 * ```
 */
export function typical(mass: number, minTokensToKeep = 1): LogitsProcessor {
  checkNumber('typical', 'mass', mass, 0, 1, true);
  checkInt('typical', 'minTokensToKeep', minTokensToKeep);
  return (_ids, s) => {
    if (mass >= 1) return s;
    const data = Float32Array.from(s.data);
    const V = s.vocab;
    for (let r = 0; r < s.rows; r++) {
      const o = r * V;
      const lse = logSumExp(s.data, o, V);
      const logp = new Float64Array(V);
      let ent = 0;
      for (let j = 0; j < V; j++) {
        logp[j] = s.data[o + j] - lse;
        if (logp[j] > -Infinity) ent -= Math.exp(logp[j]) * logp[j];
      }
      const shifted = new Float64Array(V);
      for (let j = 0; j < V; j++) shifted[j] = Math.abs(-logp[j] - ent);
      const order = sortAscending(shifted, V);
      // HF: last_ind = #(cumulative < mass), clamped to V-1; drop tokens with shifted > shifted[last_ind].
      let cum = 0;
      let lastInd = 0;
      for (let i = 0; i < V; i++) {
        cum += Math.exp(logp[order[i]]);
        if (cum < mass) lastInd++;
        else break;
      }
      lastInd = Math.min(lastInd, V - 1);
      const limit = shifted[order[lastInd]];
      for (let i = 0; i < V; i++) {
        if (i >= minTokensToKeep && shifted[order[i]] > limit) data[o + order[i]] = -Infinity;
      }
    }
    return { rows: s.rows, vocab: s.vocab, data };
  };
}
