import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { depthwiseConv2d, Rng, useWasmKernels, type DepthwiseConv2dOptions } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

type Pads = [[number, number], [number, number]];

/**
 * A depthwise convolution and both its gradients in plain JS (float64) from the definition:
 * y[b, r, q, c·m + j] = Σ_{i,k} x[b, r·sh − top + i·dh, q·sw − left + k·dw, c] · f[i, k, c, j];
 * dx and df are the sums of dy times the other factor over every term x or f appears in.
 */
function reference(x: Float32Array, [n, h, w, c]: number[], f: Float32Array, [kh, kw, m]: number[], [sh, sw]: number[], [dh, dw]: number[], [[pt, pb], [pl, pr]]: Pads, dy: Float32Array) {
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const y = new Float64Array(n * oh * ow * c * m);
  const dx = new Float64Array(n * h * w * c);
  const df = new Float64Array(kh * kw * c * m);
  for (let b = 0; b < n; b++)
    for (let r = 0; r < oh; r++)
      for (let q = 0; q < ow; q++)
        for (let i = 0; i < kh; i++)
          for (let k = 0; k < kw; k++) {
            const iy = r * sh - pt + i * dh;
            const ix = q * sw - pl + k * dw;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            for (let ch = 0; ch < c; ch++)
              for (let j = 0; j < m; j++) {
                const xi = ((b * h + iy) * w + ix) * c + ch;
                const fi = ((i * kw + k) * c + ch) * m + j;
                const o = ((b * oh + r) * ow + q) * c * m + ch * m + j;
                y[o] += x[xi] * f[fi];
                dx[xi] += dy[o] * f[fi];
                df[fi] += dy[o] * x[xi];
              }
          }
  return { y, dx, df, oh, ow };
}

describe('depthwiseConv2d', () => {
  // Random images, filters (1 to 3 per channel), strides, dilations and asymmetric paddings against the
  // definition: the values and both gradients. Channel counts cross the SIMD width (1 to 11).
  const rng = new Rng(41);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 40 }, (_, i) => {
    const k = [int(1, 4), int(1, 4)];
    const dilation = i % 3 === 2 ? [int(1, 3), int(1, 3)] : [1, 1];
    const stride = [int(1, 3), int(1, 3)];
    const pads: Pads = [[int(0, k[0]), int(0, k[0])], [int(0, k[1]), int(0, k[1])]];
    const shape: [number, number, number, number] = [int(1, 3), dilation[0] * (k[0] - 1) + 1 + int(0, 6), dilation[1] * (k[1] - 1) + 1 + int(0, 6), int(1, 11)];
    const m = i % 4 === 3 ? int(2, 3) : 1;
    return { i, shape, k, m, stride, dilation, pads };
  });
  it.each(cases)('case $i: x $shape, filter $k × $m, stride $stride, dilation $dilation, padding $pads', async ({ shape, k, m, stride, dilation, pads }) => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 7) as tf.Tensor4D;
      const f = tf.randomNormal([k[0], k[1], shape[3], m], 0, 1, 'float32', 8) as tf.Tensor4D;
      const options: DepthwiseConv2dOptions = { stride: stride as [number, number], dilation: dilation as [number, number], padding: pads };
      const y = depthwiseConv2d(x, f, options);
      const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 9);
      const ref = reference((await x.data()) as Float32Array, shape, (await f.data()) as Float32Array, [k[0], k[1], m], stride, dilation, pads, (await dy.data()) as Float32Array);
      expect(y.shape).toEqual([shape[0], ref.oh, ref.ow, shape[3] * m]);
      await assertClose(y, ref.y, { atol: 1e-4, rtol: 1e-4 }, 'values');
      const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, options), dy)))([x, f]);
      await assertClose(dx, ref.dx, { atol: 1e-4, rtol: 1e-4 }, 'input gradient');
      await assertClose(df, ref.df, { atol: 1e-4, rtol: 1e-4 }, 'filter gradient');
      tf.dispose([x, f, y, dy, dx, df]);
    }, 'depthwiseConv2d');
  });

  it('takes one number or a pair for stride, padding and dilation', async () => {
    await assertNoLeaks(async () => {
      const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
      const f = tf.ones([3, 3, 2, 1]) as tf.Tensor4D;
      const y = depthwiseConv2d(x, f, { padding: 1 }); // every channel: how many of the 9 taps fall inside
      await assertClose(y, [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4].flatMap((v) => [v, v]), { atol: 0, rtol: 0 });
      const strided = depthwiseConv2d(x, f, { stride: [1, 2], padding: [1, 0], dilation: 1 }); // [1, 4, 1, 2]: columns 0..2 only
      await assertClose(strided, [6, 6, 9, 9, 9, 9, 6, 6], { atol: 0, rtol: 0 });
      tf.dispose([x, f, y, strided]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')("runs both gradients in @dl/core's module on wasm, never tfjs's cpu loops; the same values with the module off", async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([2, 9, 7, 6], 0, 1, 'float32', 3) as tf.Tensor4D;
      const f = tf.randomNormal([3, 3, 6, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
      const options: DepthwiseConv2dOptions = { stride: 2, padding: [[1, 1], [1, 0]] };
      const run = () => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, options))))([x, f]);
      const info = await tf.profile(() => run());
      const names = info.kernels.map((k) => k.name);
      expect(names).toEqual(expect.arrayContaining(['DLDepthwiseConv2D', 'DLDepthwiseInputGrad', 'DLDepthwiseFilterGrad']));
      expect(names.some((k) => k.startsWith('DepthwiseConv2dNativeBackprop'))).toBe(false);
      const [g1x, g1f] = info.result as tf.Tensor[];
      const previous = useWasmKernels(false);
      try {
        const [g2x, g2f] = run();
        await assertClose(g2x, await g1x.data(), { atol: 1e-4, rtol: 1e-4 }, 'input gradient');
        await assertClose(g2f, await g1f.data(), { atol: 1e-4, rtol: 1e-4 }, 'filter gradient');
        tf.dispose([g2x, g2f]);
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([x, f, g1x, g1f]);
    });
  });

  it.runIf(tf.getBackend() === 'cpu')("computes the filter gradient as a forward convolution on cpu, never with tfjs's scalar-loop kernel", async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([2, 9, 7, 6], 0, 1, 'float32', 3) as tf.Tensor4D;
      const f = tf.randomNormal([3, 3, 6, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
      const info = await tf.profile(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, { stride: 2, dilation: [1, 2], padding: 1 }))))([x, f]));
      const names = info.kernels.map((k) => k.name);
      expect(names).toContain('DLDepthwiseConv2D');
      expect(names).not.toContain('DepthwiseConv2dNativeBackpropFilter');
      tf.dispose([x, f, ...(info.result as tf.Tensor[])]);
    });
  });

  it('rejects bad input before doing anything', async () => {
    await assertNoLeaks(() =>
      tf.tidy(() => {
        const x = tf.zeros([1, 4, 4, 2]) as tf.Tensor4D;
        const f = tf.zeros([3, 3, 2, 1]) as tf.Tensor4D;
        expect(() => depthwiseConv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D)).toThrow(/depthwiseConv2d: filter must be of shape \[kh, kw, 2, m\].*got/);
        expect(() => depthwiseConv2d(x, tf.zeros([5, 5, 2, 1]) as tf.Tensor4D)).toThrow(/filter must be a \(dilated\) filter that fits the padded 4 × 4 image/);
        expect(() => depthwiseConv2d(x, f, { dilation: 2 })).toThrow(/filter must be a \(dilated\) filter that fits/);
        expect(() => depthwiseConv2d(x, f, { stride: 0 })).toThrow(/stride must be an integer ≥ 1/);
        expect(() => depthwiseConv2d(x, f, { kernelSize: 3 } as never)).toThrow(/kernelSize.*stride, padding, dilation/s);
        expect(() => depthwiseConv2d(tf.zeros([4, 4, 2]) as never, f)).toThrow(/x must be a 4-D NHWC tensor/);
        expect(() => depthwiseConv2d(x, tf.zeros([3, 3, 2]) as never)).toThrow(/filter must be a 4-D filter \[kh, kw, C, m\]/);
        expect(() => depthwiseConv2d(tf.zeros([1, 4, 4, 2], 'int32') as never, f)).toThrow(/x must be a float32 tensor/);
      }),
    );
  });
});
