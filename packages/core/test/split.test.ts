import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng, split, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

describe('split', () => {
  // Random shapes, axes, dtypes and piece lengths (equal pieces, listed lengths with zeros and a -1),
  // against tf.split; on wasm this is the block-copy kernel.
  const rng = new Rng(11);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 40 }, (_, i) => {
    const shape = Array.from({ length: int(1, 4) }, () => int(1, 6));
    const axis = int(-shape.length, shape.length - 1);
    const length = shape[axis < 0 ? axis + shape.length : axis];
    let sizes: number | number[];
    if (i % 3 === 0) {
      const divisors = Array.from({ length }, (_, d) => d + 1).filter((d) => length % d === 0);
      sizes = divisors[int(0, divisors.length - 1)];
    } else {
      const lengths: number[] = [];
      for (let left = length; left > 0; ) {
        const piece = int(0, left);
        lengths.push(piece);
        left -= piece;
      }
      if (i % 3 === 2) lengths[int(0, lengths.length - 1)] = -1;
      sizes = lengths.length ? lengths : [length];
    }
    const dtype = (['float32', 'int32', 'bool'] as const)[i % 3];
    return { i, shape, axis, sizes, dtype };
  });
  it.each(cases)('case $i: $dtype $shape, sizes $sizes, axis $axis', async ({ shape, axis, sizes, dtype }) => {
    await assertNoLeaks(async () => {
      const x = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 5), 10)), dtype));
      const got = split(x, sizes, axis);
      const ax = axis < 0 ? axis + shape.length : axis;
      const lengths = typeof sizes === 'number' ? Array(sizes).fill(shape[ax] / sizes) : sizes.map((s) => (s === -1 ? shape[ax] - sizes.filter((t) => t !== -1).reduce((a, b) => a + b, 0) : s));
      const want = tf.split(x, lengths, ax);
      expect(got.length).toBe(want.length);
      for (let j = 0; j < want.length; j++) {
        expect(got[j].shape).toEqual(want[j].shape);
        expect(got[j].dtype).toBe(dtype);
        expect(Array.from(await got[j].data())).toEqual(Array.from(await want[j].data()));
      }
      tf.dispose([x, ...got, ...want]);
    });
  });

  it("has tf.split's gradient (unused pieces give zeros), with the kernels on and off", async () => {
    for (const on of [true, false]) {
      const previous = useWasmKernels(on);
      await assertNoLeaks(async () => {
        const x = tf.tensor2d([[1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12]]); // [2, 6]
        // Only the first and third pieces are used: d/dx = [2 2 | 0 0 0 | 3] per row.
        const g = tf.grad((t: tf.Tensor) => {
          const [a, , c] = split(t, [2, 3, 1], 1);
          return tf.add(tf.sum(tf.mul(a, 2)), tf.sum(tf.mul(c, 3)));
        })(x);
        await assertClose(g, [2, 2, 0, 0, 0, 3, 2, 2, 0, 0, 0, 3], { atol: 0, rtol: 0 }, `gradient (kernels ${on})`);
        tf.dispose([x, g]);
      });
      useWasmKernels(previous);
    }
  });

  it('a fused projection splits like tf.split under a random upstream gradient', async () => {
    await assertNoLeaks(async () => {
      const y = tf.randomNormal([24, 3 * 16], 0, 1, 'float32', 1); // [B·L, 3·d]
      const up = tf.randomNormal([24, 16], 0, 1, 'float32', 2);
      const loss = (f: (t: tf.Tensor) => tf.Tensor[]) => (t: tf.Tensor) => {
        const [q, k, v] = f(t);
        return tf.sum(tf.mul(tf.add(tf.mul(q, k), v), up));
      };
      const got = tf.grad(loss((t) => split(t, 3, -1)))(y);
      const want = tf.grad(loss((t) => tf.split(t, 3, -1)))(y);
      await assertClose(got, await want.data(), { atol: 1e-6, rtol: 1e-6 }, 'dy');
      tf.dispose([y, up, got, want]);
    });
  });

  it("puts the pieces' gradients back along any axis (on wasm as DLConcat's row blocks), to second order", async () => {
    const rng = new Rng(17);
    const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
    for (let i = 0; i < 12; i++) {
      const shape = Array.from({ length: int(1, 4) }, () => int(1, 6));
      const axis = int(0, shape.length - 1);
      const n = int(1, 3);
      const sizes = Array.from({ length: Math.min(n, shape[axis]) }, () => 1); // pieces of ≥ 1 (tfjs's own gradient of an empty piece fails)
      for (let left = shape[axis] - sizes.length; left > 0; left--) sizes[int(0, sizes.length - 1)]++;
      await assertNoLeaks(async () => {
        const x = tf.randomNormal(shape, 0, 1, 'float32', i);
        const ups = sizes.map((size, j) => tf.randomNormal(shape.map((d, a) => (a === axis ? size : d)), 0, 1, 'float32', 50 + j));
        // f(x) = Σ_j Σ (piece_j² · up_j): first and second derivatives go back through the split's gradient.
        const f = (pieces: (t: tf.Tensor) => tf.Tensor[]) => (t: tf.Tensor) => tf.addN(pieces(t).map((p, j) => tf.sum(tf.mul(tf.square(p), ups[j]))));
        const grad2 = (pieces: (t: tf.Tensor) => tf.Tensor[]) => tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.grad(f(pieces))(t))))(x);
        const info = await tf.profile(() => tf.grad(f((t) => split(t, sizes, axis)))(x));
        if (tf.getBackend() === 'wasm' && sizes.length > 1) expect(info.kernels.some((k) => k.name === 'DLConcat'), `${shape} axis ${axis} sizes ${sizes}`).toBe(true);
        const reference = (t: tf.Tensor) => (sizes.length === 1 ? [tf.clone(t)] : tf.split(t, sizes, axis)); // tfjs's one-piece split has no working gradient
        const want = tf.grad(f(reference))(x);
        await assertClose(info.result as tf.Tensor, await want.data(), { atol: 1e-5, rtol: 1e-5 }, `gradient, ${shape} axis ${axis} sizes ${sizes}`);
        const got2 = grad2((t) => split(t, sizes, axis));
        const want2 = grad2(reference);
        await assertClose(got2, await want2.data(), { atol: 1e-4, rtol: 1e-4 }, `second order, ${shape} axis ${axis} sizes ${sizes}`);
        tf.dispose([x, ...ups, info.result as tf.Tensor, want, got2, want2]);
      });
    }
  });

  it('rejects bad sizes and axes naming the argument, before doing anything', async () => {
    await assertNoLeaks(() => {
      const x = tf.zeros([3, 4]);
      expect(() => split(x, 3, 1)).toThrow(/split: sizes must be a positive integer dividing x.shape\[1\] = 4, or a list of lengths, got 3/);
      expect(() => split(x, 0)).toThrow(/split: sizes must be a positive integer dividing/);
      expect(() => split(x, [1, 1], 1)).toThrow(/split: sizes must be a positive integer, or non-negative lengths adding up to x.shape\[1\] = 4 \(one may be -1: the rest\), got \[1,1\]/);
      expect(() => split(x, [-1, -1], 1)).toThrow(/split: sizes must/);
      expect(() => split(x, [5, -1], 1)).toThrow(/split: sizes must/);
      expect(() => split(x, [], 1)).toThrow(/split: sizes must/);
      expect(() => split(x, 2, 2)).toThrow(/split: axis must be an integer in \[-2, 1\] for x of rank 2, got 2/);
      const s = tf.scalar(1);
      expect(() => split(s, 1)).toThrow(/split: x must be a tensor of rank ≥ 1/);
      expect(() => split([1, 2] as unknown as tf.Tensor, 1)).toThrow(/split: x must be a tf.Tensor/);
      tf.dispose([x, s]);
    });
  });
});
