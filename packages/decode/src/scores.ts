import type { ScoreMatrix } from './types.js';

/**
 * Wraps host scores as a {@link ScoreMatrix} (no copy).
 *
 * @example
 * ```ts
 * import { scoreMatrix } from '@dl/decode';
 * const s = scoreMatrix(new Float32Array([1, 2, 3, 4]), 2); // 2 rows × 2
 * ```
 */
export function scoreMatrix(data: Float32Array, rows: number): ScoreMatrix {
  if (rows <= 0 || data.length % rows !== 0) throw new Error(`scoreMatrix: ${data.length} values do not split into ${rows} rows`);
  return { rows, vocab: data.length / rows, data };
}

/**
 * Log-softmax of each row, in float64 arithmetic (`-Infinity` entries stay `-Infinity`; a row of only
 * `-Infinity` stays so).
 *
 * @example
 * ```ts
 * import { logSoftmaxRows, scoreMatrix } from '@dl/decode';
 * const lp = logSoftmaxRows(scoreMatrix(new Float32Array([0, 0]), 1)); // [-0.693, -0.693]
 * ```
 */
export function logSoftmaxRows(s: ScoreMatrix): ScoreMatrix {
  const out = new Float32Array(s.data.length);
  for (let r = 0; r < s.rows; r++) {
    const o = r * s.vocab;
    const lse = logSumExp(s.data, o, s.vocab);
    if (lse === -Infinity) out.fill(-Infinity, o, o + s.vocab); // −∞ − (−∞) would be NaN
    else for (let j = 0; j < s.vocab; j++) out[o + j] = s.data[o + j] - lse;
  }
  return { rows: s.rows, vocab: s.vocab, data: out };
}

/**
 * log Σ exp over `data[offset .. offset + n)`, float64.
 *
 * @example
 * ```ts
 * import { logSumExp } from '@dl/decode';
 * logSumExp([0, 0, 0, 0], 0, 4); // log 4
 * ```
 */
export function logSumExp(data: ArrayLike<number>, offset: number, n: number): number {
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (data[offset + j] > max) max = data[offset + j];
  if (max === -Infinity || Number.isNaN(max)) return max;
  let sum = 0;
  for (let j = 0; j < n; j++) sum += Math.exp(data[offset + j] - max);
  return max + Math.log(sum);
}

/**
 * Softmax of one row into a Float64Array.
 *
 * @example
 * ```ts
 * import { softmaxRow } from '@dl/decode';
 * softmaxRow([0, Math.log(3)], 0, 2); // Float64Array [0.25, 0.75]
 * ```
 */
export function softmaxRow(data: ArrayLike<number>, offset: number, n: number): Float64Array {
  const p = new Float64Array(n);
  let max = -Infinity;
  for (let j = 0; j < n; j++) if (data[offset + j] > max) max = data[offset + j];
  if (max === -Infinity) return p;
  let sum = 0;
  for (let j = 0; j < n; j++) {
    p[j] = Math.exp(data[offset + j] - max);
    sum += p[j];
  }
  for (let j = 0; j < n; j++) p[j] /= sum;
  return p;
}

/**
 * Index of the largest value of a row (the first on ties, as `torch.argmax`).
 *
 * @example
 * ```ts
 * import { argmaxRow } from '@dl/decode';
 * argmaxRow([0.1, 0.7, 0.7], 0, 3); // 1 (first of the tie)
 * ```
 */
export function argmaxRow(data: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let j = 0; j < n; j++) {
    const v = data[offset + j];
    if (v > bestV) {
      bestV = v;
      best = j;
    }
  }
  return best;
}

/**
 * Indices of the `k` largest of `data[offset .. offset + n)`, largest first; ties go to the lower index.
 * `-Infinity` entries are taken only when fewer than `k` entries are finite. O(n·k) worst case, O(n) typical.
 *
 * @example
 * ```ts
 * import { topKIndices } from '@dl/decode';
 * topKIndices([0.1, 0.5, 0.2, 0.5], 0, 4, 2); // [1, 3]
 * ```
 */
export function topKIndices(data: ArrayLike<number>, offset: number, n: number, k: number): number[] {
  k = Math.min(k, n);
  const idx: number[] = [];
  const val: number[] = [];
  for (let j = 0; j < n; j++) {
    const v = data[offset + j];
    if (idx.length === k && !(v > val[k - 1])) continue;
    // insertion: after every kept value ≥ v (ties: earlier index first)
    let pos = idx.length === k ? k - 1 : idx.length;
    while (pos > 0 && val[pos - 1] < v) pos--;
    if (idx.length === k) {
      idx.pop();
      val.pop();
    }
    idx.splice(pos, 0, j);
    val.splice(pos, 0, v);
  }
  return idx;
}

/** Copies a matrix's data (processors return new matrices). */
export function cloneScores(s: ScoreMatrix): ScoreMatrix {
  return { rows: s.rows, vocab: s.vocab, data: Float32Array.from(s.data) };
}
