import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { col2im, im2col, matMul, Rng, type PatchOptions } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';

/**
 * Every entry of im2col's output in order, with the input element it copies (−1 for padding): the
 * definition both plain-JS references below walk.
 */
function taps([n, h, w, c]: number[], kh: number, kw: number, [sh, sw]: number[], [dh, dw]: number[], [[pt, pb], [pl, pr]]: number[][]) {
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const from: number[] = [];
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++)
            for (let ch = 0; ch < c; ch++) {
              const iy = y * sh - pt + i * dh;
              const ix = q * sw - pl + j * dw;
              from.push(iy >= 0 && iy < h && ix >= 0 && ix < w ? ((b * h + iy) * w + ix) * c + ch : -1);
            }
  return { from, oh, ow };
}

/** im2col in plain JS (zeros outside the image). */
const im2colRef = (x: Float32Array, from: number[]) => Float32Array.from(from, (i) => (i < 0 ? 0 : x[i]));

/** col2im in plain JS: every patch value added back to its pixel. */
function col2imRef(cols: Float32Array, from: number[], size: number): Float64Array {
  const out = new Float64Array(size);
  from.forEach((i, o) => {
    if (i >= 0) out[i] += cols[o];
  });
  return out;
}

describe('im2col and col2im', () => {
  // Random images, kernels, strides, dilations and (asymmetric) paddings: values against the plain-JS
  // definitions, im2col's registered gradient against col2im's definition, and a convolution written as
  // im2col + matMul against tf.conv2d (dilation 1, which tfjs's conv2d takes with any stride here).
  const rng = new Rng(23);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 40 }, (_, i) => {
    const kh = int(1, 4);
    const kw = int(1, 4);
    const dil = i % 4 === 3 ? [int(1, 3), int(1, 3)] : [1, 1];
    const stride = [int(1, 3), int(1, 3)];
    const pads = [[int(0, kh - 1), int(0, kh - 1)], [int(0, kw - 1), int(0, kw - 1)]];
    const h = dil[0] * (kh - 1) + 1 + int(0, 6);
    const w = dil[1] * (kw - 1) + 1 + int(0, 6);
    const shape: [number, number, number, number] = [int(1, 3), h, w, int(1, 9)];
    const form = i % 3; // padding as [[t, b], [l, r]], as [ph, pw] or as one number (symmetric forms use the top/left values)
    if (form === 1) pads.forEach((p) => (p[1] = p[0]));
    if (form === 2) pads[1] = pads[0].slice();
    const symmetric = form === 2 && pads[0][0] === pads[0][1];
    const padding = form === 0 ? pads : form === 1 ? [pads[0][0], pads[1][0]] : symmetric ? pads[0][0] : pads;
    return { i, shape, kh, kw, stride, dil, pads, padding };
  });
  it.each(cases)('case $i: x $shape, kernel $kh×$kw, stride $stride, dilation $dil, padding $pads', async ({ shape, kh, kw, stride, dil, pads, padding }) => {
    const tol = backendTolerance();
    const options = { kernelSize: [kh, kw], stride, dilation: dil, padding } as unknown as PatchOptions;
    await assertNoLeaks(async () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 3) as tf.Tensor4D;
      const xs = (await x.data()) as Float32Array;
      const ref = taps(shape, kh, kw, stride, dil, pads);
      const want = im2colRef(xs, ref.from);
      const cols = im2col(x, options);
      expect(cols.shape).toEqual([shape[0], ref.oh, ref.ow, kh * kw * shape[3]]);
      await assertClose(cols, want, { atol: 0, rtol: 0 }, 'im2col');
      // col2im of random rows, and im2col's gradient (which is col2im of the output gradient).
      const g = tf.randomNormal(cols.shape, 0, 1, 'float32', 4) as tf.Tensor4D;
      const back = col2imRef((await g.data()) as Float32Array, ref.from, xs.length);
      const folded = col2im(g, shape as unknown as [number, number, number, number], options);
      await assertClose(folded, back, tol, 'col2im');
      const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(im2col(v as tf.Tensor4D, options), g)))(x);
      await assertClose(dx, back, tol, 'gradient of im2col');
      const dcols = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(col2im(v as tf.Tensor4D, shape as [number, number, number, number], options), x)))(g);
      await assertClose(dcols, want, tol, 'gradient of col2im');
      if (dil[0] === 1 && dil[1] === 1) {
        const out = 5;
        const k = tf.randomNormal([kh, kw, shape[3], out], 0, 1, 'float32', 6) as tf.Tensor4D;
        const viaPatches = tf.tidy(() => tf.reshape(matMul(tf.reshape(cols, [-1, kh * kw * shape[3]]), tf.reshape(k, [-1, out])), [shape[0], ref.oh, ref.ow, out]));
        const direct = tf.conv2d(x, k, stride as [number, number], [[0, 0], pads[0], pads[1], [0, 0]] as tf.backend_util.ExplicitPadding);
        await assertClose(viaPatches, await direct.data(), { atol: 1e-4, rtol: 1e-4 }, 'convolution through im2col');
        tf.dispose([k, viaPatches, direct]);
      }
      tf.dispose([x, cols, g, folded, dx, dcols]);
    }, 'patches');
  });

  it('are adjoint: ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩', async () => {
    await assertNoLeaks(async () => {
      const options: PatchOptions = { kernelSize: [3, 2], stride: [2, 1], padding: [[1, 2], [0, 1]], dilation: [1, 2] };
      const x = tf.randomNormal([2, 7, 6, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const px = im2col(x, options);
      const y = tf.randomNormal(px.shape, 0, 1, 'float32', 2) as tf.Tensor4D;
      const fy = col2im(y, [2, 7, 6, 3], options);
      const [sa, sb] = tf.tidy(() => [tf.sum(tf.mul(px, y)), tf.sum(tf.mul(x, fy))]);
      const [a, b] = await Promise.all([sa.data(), sb.data()]);
      expect(a[0]).toBeCloseTo(b[0], 3);
      tf.dispose([x, px, y, fy, sa, sb]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')("runs in @dl/core's module on wasm, forward and backward", async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([2, 6, 6, 3]) as tf.Tensor4D;
      const info = await tf.profile(() => tf.grad((v: tf.Tensor) => tf.sum(im2col(v as tf.Tensor4D, { kernelSize: 3, padding: 1 })))(x));
      const names = info.kernels.map((k) => k.name);
      expect(names).toContain('DLIm2Col');
      expect(names).toContain('DLCol2Im');
      expect(names).not.toContain('Conv2D');
      tf.dispose([x, info.result as tf.Tensor]);
    });
  });

  it('rejects bad input before doing anything', async () => {
    // In a tidy: the inputs made for the checks are freed, and nothing else may be left behind.
    await assertNoLeaks(() =>
      tf.tidy(() => {
        const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
        expect(() => im2col(x, { kernelSize: 0 })).toThrow(/im2col: kernelSize must be an integer ≥ 1 or a pair of them/);
        expect(() => im2col(x, { kernelSize: 2, strides: 1 } as never)).toThrow(/strides.*kernelSize, stride, padding, dilation/s);
        expect(() => im2col(x, { kernelSize: 5 })).toThrow(/kernelSize.*fits the padded 4 × 4 image/);
        expect(() => im2col(x, { kernelSize: 2, padding: -1 })).toThrow(/padding must be an integer ≥ 0/);
        expect(() => im2col(tf.zeros([4, 4, 2]) as never, { kernelSize: 2 })).toThrow(/x must be a 4-D NHWC tensor/);
        expect(() => col2im(tf.zeros([1, 3, 3, 7]) as tf.Tensor4D, [1, 4, 4, 2], { kernelSize: 2 })).toThrow(/cols must be of shape \[1, 3, 3, 8\]/);
        expect(() => col2im(tf.zeros([1, 3, 3, 8]) as tf.Tensor4D, [1, 4, 4] as never, { kernelSize: 2 })).toThrow(/inputShape/);
        x.dispose();
      }),
    );
  });
});
