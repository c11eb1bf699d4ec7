import * as tf from '@tensorflow/tfjs-core';
import { checkInt } from '@dl/core';

/**
 * The fixed sinusoidal position table of Vaswani et al. (2017): PE[p, 2i] = sin(p / 10000^(2i/d)) and
 * PE[p, 2i+1] = cos(p / 10000^(2i/d)) for positions p = offset … offset + length − 1. Every value is
 * bounded in [−1, 1], and PE[p + k] is a fixed linear function (a rotation) of PE[p] for every p, so a
 * model can learn to attend by relative offset and extrapolate to lengths it never saw.
 *
 * @param length number of positions.
 * @param dim model width d (odd widths end with a sine column).
 * @param offset first position (cached decoding continues at the number of tokens already seen).
 * @returns `[length, dim]` float32.
 *
 * @example
 * ```ts
 * import { sinusoidalTable } from '@dl/transformer';
 * const pe = sinusoidalTable(10, 16); // [10, 16]; row 0 is [0, 1, 0, 1, …]
 * const next = sinusoidalTable(1, 16, 10); // the row for position 10
 * ```
 */
export function sinusoidalTable(length: number, dim: number, offset = 0): tf.Tensor2D {
  checkInt('sinusoidalTable', 'length', length, 0);
  checkInt('sinusoidalTable', 'dim', dim);
  checkInt('sinusoidalTable', 'offset', offset, 0);
  const data = new Float32Array(length * dim);
  for (let p = 0; p < length; p++) {
    const pos = p + offset;
    for (let i = 0; i < dim; i += 2) {
      // Computed in float64 on the host, so the table is identical on every backend.
      const angle = pos / Math.pow(10000, i / dim);
      data[p * dim + i] = Math.sin(angle);
      if (i + 1 < dim) data[p * dim + i + 1] = Math.cos(angle);
    }
  }
  return tf.tensor2d(data, [length, dim]);
}
