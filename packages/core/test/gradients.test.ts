import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ensureGradients, hasGradient, useBackend } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

describe('gradients', () => {
  it('registers tfjs-core gradients on import', async () => {
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

  it('rejects an unknown backend name', async () => {
    await expect(useBackend('tpu' as never)).rejects.toThrow(/useBackend: name must be one of/);
  });
});
