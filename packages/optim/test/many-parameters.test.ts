// Models have many parameters: every reduction over them must work on WebGPU, where a kernel may bind
// at most 8 storage buffers (tfjs 4.22's AddN does not split larger input lists).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { clipGradNorm, globalNorm, SGD } from '../src/index.js';

describe('many parameters', () => {
  it('globalNorm and clipping over 23 tensors give √(Σ g²) on every backend', async () => {
    await assertNoLeaks(async () => {
      // Tensor i holds i + 1 copies of the value 1: Σ g² = 1 + 2 + … + 23 = 276.
      const grads = Array.from({ length: 23 }, (_, i) => tf.ones([i + 1]));
      const n = globalNorm(grads);
      expect((await n.data())[0]).toBeCloseTo(Math.sqrt(276), 4);
      const { grads: clipped, norm } = clipGradNorm(grads, 1);
      const after = globalNorm(clipped);
      expect((await after.data())[0]).toBeCloseTo(1, 4);
      // An optimizer with clipping over 23 variables takes a step of length lr.
      const vars = tf.tidy(() => grads.map((g) => tf.variable(tf.zerosLike(g)))); // tidy frees the zeros, not the variables
      const opt = new SGD(vars, { lr: 0.5, clipGradNorm: 1 });
      const report = await opt.step(grads);
      expect(report.gradNorm).toBeCloseTo(Math.sqrt(276), 3);
      const moved = globalNorm(vars);
      expect((await moved.data())[0]).toBeCloseTo(0.5, 4);
      tf.dispose([n, after, norm, moved, ...grads, ...(clipped.filter(Boolean) as tf.Tensor[]), ...vars]);
      opt.dispose();
    });
  });
});
