import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng, useBackend, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';
import { wasmSegmentSumInstalled, wasmSumInstalled } from '../src/wasm-sum.js';

// On wasm, @dl/core wraps tfjs's Sum kernel: float32 sums over leading axes run in its SIMD module. They
// must equal tfjs's own kernel (the same code with the kernels off) for any shape, axes and keepDims;
// everything else (other axes, int32, all axes) must still reach tfjs's kernel.
describe('tf.sum over leading axes (wasm: @dl/core module)', () => {
  it.runIf(tf.getBackend() === 'wasm')('is installed by useBackend on wasm', async () => {
    await useBackend('wasm');
    expect(wasmSumInstalled()).toBe(true);
  });

  const rng = new Rng(3);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 40 }, (_, i) => {
    const shape = Array.from({ length: int(1, 4) }, () => int(0, 9) || 1);
    // An empty batch, except on GPU backends: tfjs-backend-webgpu 4.22's Sum of an empty tensor fails
    // inside tfjs (createBuffer with an out-of-range size), before any @dl/core code runs.
    if (i % 10 === 9 && !['webgpu', 'webgl'].includes(tf.getBackend())) shape[0] = 0;
    const k = int(1, shape.length); // leading axes; k = rank is the full sum (tfjs's own path)
    const axes = Array.from({ length: k }, (_, a) => a);
    const axis = i % 4 === 1 ? axes.map((a) => a - shape.length).reverse() : i % 4 === 2 && k === 1 ? 0 : axes; // negative, unsorted, scalar
    const keepDims = i % 3 === 0;
    const dtype = i % 7 === 6 ? ('int32' as const) : ('float32' as const);
    return { i, shape, axis, keepDims, dtype };
  });
  it.each(cases)('case $i: $dtype $shape, axis $axis, keepDims $keepDims', async ({ shape, axis, keepDims, dtype }) => {
    await assertNoLeaks(async () => {
      const x = tf.tidy(() => tf.cast(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 9), dtype === 'int32' ? 10 : 1), dtype));
      const got = tf.sum(x, axis, keepDims);
      const previous = useWasmKernels(false);
      const want = tf.sum(x, axis, keepDims);
      useWasmKernels(previous);
      expect(got.shape).toEqual(want.shape);
      expect(got.dtype).toBe(want.dtype);
      // A sum over an empty axis is 0; tfjs-backend-wasm 4.22's own Sum of an empty input leaves its output
      // uninitialised (whatever the heap held there), so the definition is the reference then (and @dl/core's
      // wrapper returns zeros for every empty float32 input, all axes included).
      const expected = x.size === 0 ? new Float32Array(want.size) : await want.data();
      await assertClose(got, expected, { atol: 1e-5, rtol: 1e-5 }, 'sum');
      tf.dispose([x, got, want]);
    });
  });

  // Not on GPU backends: tfjs-backend-webgpu 4.22's Sum of an empty tensor fails inside tfjs (see above).
  it.runIf(!['webgpu', 'webgl'].includes(tf.getBackend()))('sums an empty tensor to zeros over any axes, whatever the heap held before', async () => {
    await assertNoLeaks(async () => {
      for (const [shape, axis, keepDims, want] of [
        [[0, 3], 0, false, [3]],
        [[0, 3], 1, false, [0]],
        [[0, 3], undefined, false, []],
        [[2, 0, 3], [0, 1], true, [1, 1, 3]],
        [[2, 0, 3], 2, false, [2, 0]],
      ] as [number[], number | number[] | undefined, boolean, number[]][]) {
        tf.dispose(tf.fill([64], 7)); // leaves sevens where the next output may be placed
        const x = tf.zeros(shape);
        const y = tf.sum(x, axis, keepDims);
        expect(y.shape, `${shape} axis ${axis}`).toEqual(want);
        expect(Array.from(await y.data()).every((v) => v === 0), `${shape} axis ${axis}`).toBe(true);
        tf.dispose([x, y]);
      }
    });
  });

  it('non-leading axes still give the right sums (tfjs kernel)', async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]); // [2, 2, 2]
      const s1 = tf.sum(x, 1); // [[4, 6], [12, 14]]
      const s02 = tf.sum(x, [0, 2]); // [1+2+5+6, 3+4+7+8]
      expect(Array.from(await s1.data())).toEqual([4, 6, 12, 14]);
      expect(Array.from(await s02.data())).toEqual([14, 22]);
      const s01 = tf.sum(x, [0, 1], true); // leading: [[[16, 20]]]
      expect(s01.shape).toEqual([1, 1, 2]);
      expect(Array.from(await s01.data())).toEqual([16, 20]);
      tf.dispose([x, s1, s02, s01]);
    });
  });

  it("a bias gradient through tf.add's broadcast matches the kernels-off gradient", async () => {
    await assertNoLeaks(async () => {
      const y = tf.randomNormal([96, 40], 0, 1, 'float32', 1);
      const b = tf.randomNormal([40], 0, 1, 'float32', 2);
      const up = tf.randomNormal([96, 40], 0, 1, 'float32', 3);
      const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.add(y, t), up)))(b); // Σ_rows up
      const got = grad();
      const previous = useWasmKernels(false);
      const want = grad();
      useWasmKernels(previous);
      await assertClose(got, await want.data(), { atol: 1e-5, rtol: 1e-5 }, 'db');
      tf.dispose([y, b, up, got, want]);
    });
  });
});

// tfjs-backend-wasm has no UnsortedSegmentSum: useBackend registers @dl/core's cpu fallback for it and
// wraps that, so float32 sums run in the module. They must equal the fallback (kernels off).
describe('tf.unsortedSegmentSum (wasm: @dl/core module; the gradient of a gather)', () => {
  it.runIf(tf.getBackend() === 'wasm')('is installed by useBackend on wasm', async () => {
    await useBackend('wasm');
    expect(wasmSegmentSumInstalled()).toBe(true);
  });

  const rng = new Rng(5);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 30 }, (_, i) => {
    const idsShape = [int(1, 9)]; // tfjs's op takes one id per row of x
    const shape = [...idsShape, ...Array.from({ length: int(0, 3) }, () => int(1, 7))];
    const segments = int(1, 8);
    // Mostly in range; every fifth case has ids past numSegments, which are dropped.
    const ids = Array.from({ length: idsShape.reduce((a, b) => a * b, 1) }, () => int(0, i % 5 === 4 ? segments + 2 : segments - 1));
    return { i, shape, ids, segments };
  });
  it.each(cases)('case $i: x $shape, ids $ids into $segments segments', async ({ shape, ids, segments }) => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const seg = tf.tensor1d(ids, 'int32'); // [rows of x]
      const got = tf.unsortedSegmentSum(x, seg, segments);
      const previous = useWasmKernels(false);
      const want = tf.unsortedSegmentSum(x, seg, segments);
      useWasmKernels(previous);
      expect(got.shape).toEqual(want.shape);
      await assertClose(got, await want.data(), { atol: 1e-5, rtol: 1e-5 }, 'segment sum');
      tf.dispose([x, seg, got, want]);
    });
  });

  it("an embedding's gradient (tf.gather's) matches the kernels-off gradient", async () => {
    await assertNoLeaks(async () => {
      const table = tf.randomNormal([11, 6], 0, 1, 'float32', 1); // [vocab, dim]
      const ids = tf.tensor1d([3, 0, 3, 10, 7, 3, 1], 'int32'); // repeats add up
      const up = tf.randomNormal([7, 6], 0, 1, 'float32', 2);
      const grad = () => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), up)))(table); // [11, 6]
      const got = grad();
      const previous = useWasmKernels(false);
      const want = grad();
      useWasmKernels(previous);
      await assertClose(got, await want.data(), { atol: 1e-6, rtol: 1e-6 }, 'd table');
      tf.dispose([table, ids, up, got, want]);
    });
  });
});
