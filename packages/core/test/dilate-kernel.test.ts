import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dilateKernel } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

describe('dilateKernel', () => {
  it('puts tap (i, j) at (i·dh, j·dw) with zeros between, for every channel pair; its gradient reads the taps back', async () => {
    await assertNoLeaks(async () => {
      const [kh, kw, a, b, dh, dw] = [3, 2, 2, 3, 2, 3];
      const k = tf.randomNormal([kh, kw, a, b], 0, 1, 'float32', 5) as tf.Tensor4D;
      const d = dilateKernel(k, [dh, dw]);
      expect(d.shape).toEqual([dh * (kh - 1) + 1, dw * (kw - 1) + 1, a, b]);
      const kv = await k.data();
      const expected = new Float32Array(d.size);
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < a * b; c++) expected[((i * dh) * d.shape[1] + j * dw) * a * b + c] = kv[(i * kw + j) * a * b + c];
      await assertClose(d, expected, { atol: 0, rtol: 0 }, 'values');
      // d(Σ u · dilate(k))/dk = u at the taps.
      const u = tf.randomNormal(d.shape, 0, 1, 'float32', 6);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(dilateKernel(v as tf.Tensor4D, [dh, dw]), u)))(k);
      const uv = await u.data();
      const taps = new Float32Array(k.size);
      for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < a * b; c++) taps[(i * kw + j) * a * b + c] = uv[((i * dh) * d.shape[1] + j * dw) * a * b + c];
      await assertClose(g, taps, { atol: 0, rtol: 0 }, 'gradient');
      expect(dilateKernel(k, [1, 1])).toBe(k);
      tf.dispose([k, d, u, g]);
    });
  });

  it('rejects bad input', async () => {
    await assertNoLeaks(() =>
      tf.tidy(() => {
        const k = tf.zeros([2, 2, 1, 1]) as tf.Tensor4D;
        expect(() => dilateKernel(k, [0, 1])).toThrow(/dilateKernel: dilation must be a pair of integers ≥ 1/);
        expect(() => dilateKernel(k, 2 as never)).toThrow(/dilation must be a pair/);
        expect(() => dilateKernel(tf.zeros([2, 2]) as never, [2, 2])).toThrow(/kernel must be a 4-D tf.Tensor/);
      }),
    );
  });
});
