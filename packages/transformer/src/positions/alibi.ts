import * as tf from '@tensorflow/tfjs-core';
import { checkInt } from '@dl/core';

/**
 * ALiBi's per-head slopes (Press et al. 2022): for n a power of two, 2^(−8/n), 2^(−16/n), …, 2^(−8);
 * otherwise the slopes of the largest power of two below n, followed by every other slope of twice that.
 *
 * @param nHeads number of attention heads.
 *
 * @example
 * ```ts
 * import { alibiSlopes } from '@dl/transformer';
 * alibiSlopes(4); // [0.25, 0.0625, 0.015625, 0.00390625]
 * ```
 */
export function alibiSlopes(nHeads: number): number[] {
  checkInt('alibiSlopes', 'nHeads', nHeads);
  const pow2 = (n: number) => {
    const start = Math.pow(2, -Math.pow(2, -(Math.log2(n) - 3)));
    return Array.from({ length: n }, (_, i) => start * Math.pow(start, i));
  };
  if (Number.isInteger(Math.log2(nHeads))) return pow2(nHeads);
  const closest = Math.pow(2, Math.floor(Math.log2(nHeads)));
  return [...pow2(closest), ...pow2(2 * closest).filter((_, i) => i % 2 === 0).slice(0, nHeads - closest)];
}

/**
 * ALiBi's attention bias: head h adds −slopeₕ·|qpos − kpos| to every score, so attention decays with
 * distance at a different rate per head and the model needs no position embedding (it extrapolates to
 * longer inputs). Query positions are offset … offset + Lq − 1, key positions 0 … Lk − 1. With `causal`
 * the bias is −slopeₕ·(qpos − kpos), which equals the symmetric one wherever the causal mask allows.
 *
 * @returns `[1, nHeads, Lq, Lk]` float32, to add to the scores (`scoreBias`).
 *
 * @example
 * ```ts
 * import { alibiBias } from '@dl/transformer';
 * const bias = alibiBias(4, 6, 6); // [1, 4, 6, 6]
 * ```
 */
export function alibiBias(nHeads: number, lq: number, lk: number, offset = 0, causal = false): tf.Tensor4D {
  checkInt('alibiBias', 'lq', lq, 0);
  checkInt('alibiBias', 'lk', lk, 0);
  checkInt('alibiBias', 'offset', offset, 0);
  const slopes = alibiSlopes(nHeads);
  const data = new Float32Array(nHeads * lq * lk);
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < lq; i++) {
      for (let j = 0; j < lk; j++) {
        const d = i + offset - j;
        data[(h * lq + i) * lk + j] = -slopes[h] * (causal ? d : Math.abs(d));
      }
    }
  }
  return tf.tensor4d(data, [1, nHeads, lq, lk]);
}
