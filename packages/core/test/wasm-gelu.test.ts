// Exact GELU: on wasm it runs in @dl/core's SIMD kernels (src/wasm/gelu.c); everywhere it must equal
// x·Φ(x) computed here in float64, forward, backward and second order, over a wide range of inputs.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gelu, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

/** erf in float64: its Maclaurin series below 3, a continued fraction for erfc above. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  if (a < 3) {
    let sum = a;
    let term = a;
    for (let k = 1; k < 200; k++) {
      term *= (-a * a) / k;
      const t = term / (2 * k + 1);
      sum += t;
      if (Math.abs(t) < 1e-17) break;
    }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  let cf = 0;
  for (let k = 60; k >= 1; k--) cf = k / 2 / (a + cf);
  return s * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / (a + cf));
}
const Phi = (x: number) => 0.5 * (1 + erf(x / Math.SQRT2));
const phi = (x: number) => Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI);

describe('gelu (exact) against float64', () => {
  // 4,099 values over [−12, 12] (a length that is not a multiple of 4: the kernel's tail), plus 0, ±∞-ish.
  const xs = Float32Array.from({ length: 4099 }, (_, i) => -12 + (24 * i) / 4098);
  const ups = Float32Array.from(xs, (_, i) => Math.cos(i));
  // Each output's error is a few float32 ulps of the value, plus the kernel's erf error (≤ 1.5e−7 · |x|/2).
  const tol = { atol: 3e-6, rtol: 1e-5 };

  it('forward, gradient and second derivative', async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor1d(xs);
      const up = tf.tensor1d(ups);
      const y = gelu(x);
      await assertClose(y, Array.from(xs, (v) => v * Phi(v)), tol, 'gelu');
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gelu(t), up)))(x);
      await assertClose(g, Array.from(xs, (v, i) => ups[i] * (Phi(v) + v * phi(v))), tol, 'gradient');
      const g2 = tf.grad((t: tf.Tensor) => tf.sum(tf.grad((s: tf.Tensor) => tf.sum(gelu(s)))(t)))(x);
      await assertClose(g2, Array.from(xs, (v) => phi(v) * (2 - v * v)), { atol: 1e-5, rtol: 1e-4 }, 'second derivative');
      tf.dispose([x, up, y, g, g2]);
    });
  });

  it('agrees with tfjs’s own ops (useWasmKernels(false)) on a 3-D batch, and on an empty tensor', async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([3, 5, 7], 0, 3, 'float32', 4);
      const ours = gelu(x);
      if (tf.getBackend() === 'wasm') {
        const info = await tf.profile(() => tf.dispose(gelu(x)));
        expect(info.kernels.map((k) => k.name)).toEqual(['DLGelu']); // one kernel, not tfjs's Erf chain
      }
      const previous = useWasmKernels(false);
      const theirs = gelu(x);
      useWasmKernels(previous);
      expect(ours.shape).toEqual([3, 5, 7]);
      await assertClose(ours, await theirs.data(), tol, 'vs tfjs');
      const none = tf.zeros([0, 4]);
      const empty = gelu(none);
      expect(empty.shape).toEqual([0, 4]);
      tf.dispose([x, ours, theirs, none, empty]);
    });
  });
});
