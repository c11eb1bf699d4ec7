import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ensureGradients, hasGradient, useBackend } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

describe('gradients', () => {
  it('registers tfjs-core gradients on first use (the test setup calls useBackend)', async () => {
    await assertNoLeaks(() => {
      expect(hasGradient('BatchMatMul')).toBe(true);
      expect(hasGradient('Conv2D')).toBe(true);
      expect(hasGradient('GatherV2')).toBe(true);
      expect(ensureGradients()).toBe(0); // idempotent
    });
  });

  it('differentiates through matMul, gather and softmax on the active backend', async () => {
    await assertNoLeaks(async () => {
      const w = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const ids = tf.tensor1d([2, 0, 2], 'int32');
      // f(w) = Σ softmax(gather(w, ids)) · [1, 0]; d/dw only flows to rows 0 and 2.
      const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.softmax(tf.gather(x, ids)), tf.tensor1d([1, 0]))))(w);
      // Each gathered row [a, a+1] gives softmax(·)[0] = σ(−1), whose derivative is k = σ(−1)(1 − σ(−1))
      // with respect to a and −k with respect to a+1.
      const got = Array.from(await g.data());
      const k = (1 / (1 + Math.E)) * (1 - 1 / (1 + Math.E));
      // row 0 appears once, row 2 twice, row 1 never.
      expect(got[0]).toBeCloseTo(k, 4);
      expect(got[1]).toBeCloseTo(-k, 4);
      expect(got[2]).toBe(0);
      expect(got[3]).toBe(0);
      expect(got[4]).toBeCloseTo(2 * k, 4);
      expect(got[5]).toBeCloseTo(-2 * k, 4);
      tf.dispose([w, ids, g]);
    });
  });

  it('gradients that tfjs writes with chained tensor methods work with tfjs-core alone (prod, batched gather)', async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
      // d/dx Π_j x_ij = Π_{k≠j} x_ik
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.prod(v, 1)))(x);
      expect(Array.from(await g.data())).toEqual([6, 3, 2, 30, 24, 20]);
      const p = tf.tensor3d([[[1, 2], [3, 4]], [[5, 6], [7, 8]]]);
      const idx = tf.tensor2d([[1], [0]], [2, 1], 'int32');
      // batchDims = 1: batch 0 picks row 1, batch 1 picks row 0, so those rows get gradient 1.
      const gg = tf.grad((v: tf.Tensor) => tf.sum(tf.gather(v, idx, 1, 1)))(p);
      expect(Array.from(await gg.data())).toEqual([0, 0, 1, 1, 1, 1, 0, 0]);
      tf.dispose([x, g, p, idx, gg]);
    });
  });

  it('cumsum has the right gradient along any axis (tfjs 4.22 transposes it wrongly)', async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const w = tf.tensor2d([[1, 10], [100, 1000], [1e4, 1e5]]);
      // L = Σ w ⊙ cumsum(x, 0): dL/dx[i] = Σ_{k ≥ i} w[k]; exclusive drops k = i; reverse flips the range.
      const g = (exclusive: boolean, reverse: boolean) => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(w, tf.cumsum(v, 0, exclusive, reverse))))(x);
      const cases: [boolean, boolean, number[]][] = [
        [false, false, [10101, 101010, 10100, 101000, 10000, 100000]],
        [true, false, [10100, 101000, 10000, 100000, 0, 0]],
        [false, true, [1, 10, 101, 1010, 10101, 101010]],
      ];
      for (const [exclusive, reverse, want] of cases) {
        const got = g(exclusive, reverse);
        expect(got.shape).toEqual([3, 2]);
        expect(Array.from(await got.data()), `exclusive ${exclusive} reverse ${reverse}`).toEqual(want);
        got.dispose();
      }
      tf.dispose([x, w]);
    });
  });

  it('max and min route dy to every element equal to the result, over any axes (tfjs\'s mask, built without a broadcasting equal)', async () => {
    await assertNoLeaks(async () => {
      // x has a tie in row 0 (two 3s); w weights each output so the routing is visible.
      const x = tf.tensor2d([[3, 1, 3], [0, 5, -2]]);
      const w = tf.tensor1d([10, 100]);
      const cases: [string, (v: tf.Tensor) => tf.Tensor, number[]][] = [
        // max over axis 1: row maxima 3 (at 0 and 2) and 5 (at 1), each gets its row's weight.
        ['max axis 1', (v) => tf.sum(tf.mul(tf.max(v, 1), w)), [10, 0, 10, 0, 100, 0]],
        // min over axis 1: row minima 1 (at 1) and −2 (at 2).
        ['min axis 1', (v) => tf.sum(tf.mul(tf.min(v, 1), w)), [0, 10, 0, 0, 0, 100]],
        // keepDims, over axis 0: column maxima 3, 5, 3 → dy 1 to x[0,0], x[1,1], x[0,2].
        ['max axis 0 keepDims', (v) => tf.sum(tf.max(v, 0, true)), [1, 0, 1, 0, 1, 0]],
        // over both axes: the global max 5.
        ['max all', (v) => tf.max(v), [0, 0, 0, 0, 1, 0]],
        // the global min −2.
        ['min all', (v) => tf.min(v), [0, 0, 0, 0, 0, 1]],
      ];
      for (const [name, f, want] of cases) {
        const got = tf.grad(f)(x);
        expect(got.shape, name).toEqual([2, 3]);
        expect(Array.from(await got.data()), name).toEqual(want);
        got.dispose();
      }
      tf.dispose([x, w]);
    });
  });

  it('rejects an unknown backend name', async () => {
    await expect(useBackend('tpu' as never)).rejects.toThrow(/useBackend: name must be one of/);
  });
});
