import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { indexSelect, Rng, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

describe('indexSelect', () => {
  // Random shapes, axes, dtypes and index lists (repeats, reorders, fewer or more rows than x has),
  // against tf.gather; on wasm this is the block-copy kernel.
  const rng = new Rng(7);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 30 }, (_, i) => {
    const shape = Array.from({ length: int(1, 4) }, () => int(1, 5));
    const axis = int(-shape.length, shape.length - 1);
    const rows = shape[axis < 0 ? axis + shape.length : axis];
    const indices = Array.from({ length: int(1, 7) }, () => int(0, rows - 1));
    const dtype = (['float32', 'int32', 'bool'] as const)[i % 3];
    return { i, shape, axis, indices, dtype };
  });
  it.each(cases)('case $i: $dtype $shape, axis $axis, indices $indices', async ({ shape, axis, indices, dtype }) => {
    await assertNoLeaks(async () => {
      const x = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.randomNormal(shape, 0, 1, 'float32', 3), 10)), dtype));
      const got = indexSelect(x, indices, axis);
      const want = tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32'), axis));
      expect(got.shape).toEqual(want.shape);
      expect(got.dtype).toBe(dtype);
      expect(Array.from(await got.data())).toEqual(Array.from(await want.data()));
      tf.dispose([x, got, want]);
    });
  });

  it('has the gradient of a gather (rows picked twice add up), with the kernels on and off', async () => {
    for (const on of [true, false]) {
      const previous = useWasmKernels(on);
      await assertNoLeaks(async () => {
        const x = tf.tensor3d([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]); // [2, 3, 2]
        const up = tf.tensor3d([[[1, 1], [2, 2], [3, 3]], [[4, 4], [5, 5], [6, 6]]]); // [2, 3 picked, 2]
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(indexSelect(t, [2, 0, 2], 1), up)))(x);
        // Row 2 gets up[:, 0] + up[:, 2], row 0 gets up[:, 1], row 1 nothing.
        await assertClose(g, [2, 2, 0, 0, 4, 4, 5, 5, 0, 0, 10, 10], { atol: 0, rtol: 0 }, `gradient (kernels ${on})`);
        tf.dispose([x, up, g]);
      });
      useWasmKernels(previous);
    }
  });

  it('rejects bad indices and axes naming the argument, before doing anything', async () => {
    await assertNoLeaks(() => {
      const x = tf.zeros([3, 2]);
      expect(() => indexSelect(x, [0, 3])).toThrow(/indexSelect: indices must be integers in \[0, 3\) \(x's axis 0\), got/);
      expect(() => indexSelect(x, [0.5])).toThrow(/indexSelect: indices must be integers/);
      expect(() => indexSelect(x, [0], 2)).toThrow(/indexSelect: axis must be an integer in \[-2, 2\), got 2/);
      const s = tf.scalar(1);
      expect(() => indexSelect(s, [0])).toThrow(/indexSelect: x must be a tensor of rank ≥ 1/);
      tf.dispose([x, s]);
    });
  });
});
