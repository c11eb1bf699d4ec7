import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, checkShape, DLArgumentError, split } from '@dl/core';

/**
 * Rotary position embedding (RoPE, Su et al. 2021): rotates each (xᵢ, xᵢ₊d/2) pair of a query or key
 * vector by the angle p·θᵢ, θᵢ = base^(−2i/d), so the score qₘ·kₙ depends only on the offset m − n. Uses
 * the "rotate half" layout of GPT-NeoX and HF LLaMA: out = x·cos + rotateHalf(x)·sin with
 * rotateHalf([a, b]) = [−b, a]. No parameters; the cos/sin tables are computed on the host.
 *
 * @param x `[B, H, L, d]` queries or keys, d even.
 * @param offset position of the first of the L positions (the number of cached positions when decoding).
 * @param base θ's base. Default 10000.
 * @returns `[B, H, L, d]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { applyRotary } from '@dl/transformer';
 * const q = tf.randomNormal([1, 2, 5, 8]);
 * const qr = applyRotary(q); // positions 0…4
 * const next = applyRotary(tf.randomNormal([1, 2, 1, 8]), 5); // position 5, for cached decoding
 * ```
 */
export function applyRotary(x: tf.Tensor, offset = 0, base = 10000): tf.Tensor {
  const where = 'applyRotary';
  checkShape(where, 'x', x, { rank: 4, dtype: 'float32' });
  checkInt(where, 'offset', offset, 0);
  checkNumber(where, 'base', base, 0, Infinity, true);
  const [, , L, d] = x.shape;
  if (d % 2 !== 0) throw new DLArgumentError(where, 'x', 'of an even last size (head dim) for rotary positions', x);
  const half = d / 2;
  const cos = new Float32Array(L * d);
  const sin = new Float32Array(L * d);
  for (let p = 0; p < L; p++) {
    for (let i = 0; i < half; i++) {
      const angle = (p + offset) * Math.pow(base, -(2 * i) / d);
      cos[p * d + i] = cos[p * d + i + half] = Math.cos(angle);
      sin[p * d + i] = sin[p * d + i + half] = Math.sin(angle);
    }
  }
  return tf.tidy(() => {
    const [a, b] = split(x, 2, -1); // [B, H, L, d/2] each
    const rotated = tf.concat([tf.neg(b), a], -1); // [B, H, L, d]
    return tf.add(tf.mul(x, tf.tensor2d(cos, [L, d])), tf.mul(rotated, tf.tensor2d(sin, [L, d]))); // [B, H, L, d]
  });
}
