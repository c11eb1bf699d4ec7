import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { maxPool2d, Rng, useWasmKernels, type MaxPoolOptions } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

/** Max pooling in plain JS from PyTorch's definition: padding never read, the gradient to the first largest (row-major scan). */
function reference(x: Float32Array, [n, h, w, c]: number[], [kh, kw]: number[], [sh, sw]: number[], [[pt, pb], [pl, pr]]: number[][], dy: Float32Array) {
  const oh = Math.floor((h + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((w + pl + pr - kw) / sw) + 1;
  const y = new Float32Array(n * oh * ow * c);
  const dx = new Float64Array(n * h * w * c);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let ch = 0; ch < c; ch++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < kh; i++)
            for (let j = 0; j < kw; j++) {
              const iy = r * sh - pt + i;
              const ix = q * sw - pl + j;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = x[((b * h + iy) * w + ix) * c + ch];
              if (at < 0 || v > best) [best, at] = [v, ((b * h + iy) * w + ix) * c + ch];
            }
          const o = ((b * oh + r) * ow + q) * c + ch;
          y[o] = best;
          dx[at] += dy[o];
        }
  return { y, dx, oh, ow };
}

describe('maxPool2d', () => {
  // Random images (some with ties: values rounded to a few levels), windows, strides and asymmetric
  // paddings, against the definition; the gradient goes to the first largest value of each window. On
  // backends other than wasm, tfjs's maxPool breaks ties its own way, so ties are tested on wasm only.
  const rng = new Rng(31);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 40 }, (_, i) => {
    const k = [int(1, 4), int(1, 4)];
    const stride = [int(1, 3), int(1, 3)];
    const pads = [[int(0, k[0] - 1), int(0, k[0] - 1)], [int(0, k[1] - 1), int(0, k[1] - 1)]];
    const shape = [int(1, 3), k[0] + int(0, 6), k[1] + int(0, 6), int(1, 10)];
    const ties = i % 4 === 1;
    return { i, shape, k, stride, pads, ties };
  });
  it.each(cases)('case $i: x $shape, window $k, stride $stride, padding $pads, ties $ties', async ({ shape, k, stride, pads, ties }) => {
    if (ties && tf.getBackend() !== 'wasm') return;
    await assertNoLeaks(async () => {
      const x = tf.tidy(() => {
        const r = tf.randomNormal(shape, 0, 1, 'float32', 7);
        return ties ? tf.round(tf.mul(r, 1.5)) : r;
      }) as tf.Tensor4D;
      const options: MaxPoolOptions = { kernelSize: k as [number, number], stride: stride as [number, number], padding: pads as [[number, number], [number, number]] };
      const y = maxPool2d(x, options);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 8);
      const ref = reference((await x.data()) as Float32Array, shape, k, stride, pads, (await dy.data()) as Float32Array);
      expect(y.shape).toEqual([shape[0], ref.oh, ref.ow, shape[3]]);
      await assertClose(y, ref.y, { atol: 0, rtol: 0 }, 'values');
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(maxPool2d(v as tf.Tensor4D, options), dy)))(x);
      await assertClose(dx, ref.dx, { atol: 1e-5, rtol: 1e-5 }, 'gradient');
      tf.dispose([x, y, dy, dx]);
    }, 'maxPool2d');
  });

  it('defaults the stride to the window and takes one number or a pair for the padding', async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor4d([1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 7, 6, 1, 1, 3, 9], [1, 4, 4, 1]);
      const y = maxPool2d(x, { kernelSize: 2 });
      await assertClose(y, [5, 8, 2, 9], { atol: 0, rtol: 0 });
      const padded = maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }); // windows rows/cols −1..1 and 1..3
      await assertClose(padded, [5, 8, 4, 9], { atol: 0, rtol: 0 });
      const pair = maxPool2d(x, { kernelSize: [1, 2], padding: [0, 1] }); // [1, 4, 3, 1]: column windows −1..0, 1..2, 3..4
      await assertClose(pair, [1, 5, 0, 3, 8, 1, 0, 7, 6, 1, 3, 9], { atol: 0, rtol: 0 });
      tf.dispose([x, y, padded, pair]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')("runs in @dl/core's module on wasm; NaN wins as in PyTorch; the double backward reads the winners", async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor4d([1, NaN, 2, 3, 0, 4, -1, 5], [1, 2, 4, 1]);
      const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(maxPool2d(v as tf.Tensor4D, { kernelSize: 2 })))(x));
      expect(info.kernels.map((k) => k.name)).toEqual(expect.arrayContaining(['DLMaxPool', 'DLMaxPoolGrad']));
      tf.dispose(info.result as tf.Tensor);
      const y = maxPool2d(x, { kernelSize: 2 });
      const v = Array.from(await y.data());
      expect(Number.isNaN(v[0])).toBe(true);
      expect(v[1]).toBe(5);
      // f(v) = Σ u · ∂/∂x Σ (maxPool(x) · v) = Σ u[winner] · v, so ∂f/∂v = u at each window's winner.
      const xs = tf.tensor4d([1, 6, 2, 3, 0, 4, -1, 5], [1, 2, 4, 1]);
      const u = tf.tensor4d([10, 20, 30, 40, 50, 60, 70, 80], [1, 2, 4, 1]);
      const v0 = tf.ones([1, 1, 2, 1]);
      const dv = tf.grad((vv: tf.Tensor) => tf.sum(tf.mul(tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(maxPool2d(xx as tf.Tensor4D, { kernelSize: 2 }), vv)))(xs), u)))(v0);
      await assertClose(dv, [20, 80], { atol: 0, rtol: 0 }); // winners 6 (u = 20) and 5 (u = 80)
      tf.dispose([x, y, xs, u, v0, dv]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')('pools through plain ops with the module off (same values and gradients)', async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([2, 7, 6, 5], 0, 1, 'float32', 3) as tf.Tensor4D;
      const options: MaxPoolOptions = { kernelSize: 3, stride: 2, padding: [[1, 1], [1, 0]] };
      const run = () => tf.tidy(() => [maxPool2d(x, options), tf.grad((v: tf.Tensor) => tf.sum(tf.square(maxPool2d(v as tf.Tensor4D, options))))(x)]);
      const [y1, g1] = run();
      const previous = useWasmKernels(false);
      try {
        const [y2, g2] = run();
        await assertClose(y2, await y1.data(), { atol: 0, rtol: 0 }, 'values');
        await assertClose(g2, await g1.data(), { atol: 1e-6, rtol: 1e-6 }, 'gradient');
        tf.dispose([y2, g2]);
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([x, y1, g1]);
    });
  });

  it('rejects bad input before doing anything', async () => {
    // In a tidy: the inputs made for the checks are freed, and nothing else may be left behind.
    await assertNoLeaks(() =>
      tf.tidy(() => {
        const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
        expect(() => maxPool2d(x, { kernelSize: 0 })).toThrow(/maxPool2d: kernelSize must be an integer ≥ 1/);
        expect(() => maxPool2d(x, { kernelSize: 2, dilation: 2 } as never)).toThrow(/dilation.*kernelSize, stride, padding/s);
        expect(() => maxPool2d(x, { kernelSize: 2, padding: 2 })).toThrow(/padding must be such that every window \[2, 2\] reaches a pixel/);
        expect(() => maxPool2d(x, { kernelSize: 2, padding: [[0, 2], [0, 0]] })).toThrow(/padding must be such that every window/);
        expect(() => tf.dispose(maxPool2d(x, { kernelSize: 2, stride: 3, padding: [[0, 2], [0, 0]] }))).not.toThrow(); // PyTorch's ceil mode: bottom cells no window lies wholly in
        expect(() => maxPool2d(x, { kernelSize: 5 })).toThrow(/kernelSize.*fits the padded 4 × 4 image/);
        expect(() => maxPool2d(tf.zeros([4, 4, 2]) as never, { kernelSize: 2 })).toThrow(/x must be a 4-D NHWC tensor/);
        x.dispose();
      }),
    );
  });
});
