import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkKeys, RMSNorm } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';

describe('RMSNorm', () => {
  it('divides by the root mean square and scales by weight; its gradient matches the derivation', async () => {
    await assertNoLeaks(async () => {
      const norm = new RMSNorm(2, { eps: 0 });
      // x = [3, 4]: mean square (9 + 16) / 2 = 12.5, rms = 3.5355 → y = [0.8485, 1.1314].
      const x = tf.tensor2d([[3, 4]]);
      const y = norm.forward(x);
      await assertClose(y, [3 / Math.sqrt(12.5), 4 / Math.sqrt(12.5)], backendTolerance(), 'forward');
      // d/dx₀ of (y₀ + y₁) = 1/r − x₀(x₀ + x₁)/(2 r³), with r² = 12.5.
      const r = Math.sqrt(12.5);
      const want = [1 / r - (3 * 7) / (2 * r ** 3), 1 / r - (4 * 7) / (2 * r ** 3)];
      const g = tf.grad((v: tf.Tensor) => tf.sum(norm.forward(v)))(x);
      await assertClose(g, want, backendTolerance(), 'grad');
      const w = tf.tensor1d([2, -1]);
      norm.weight!.assign(w);
      w.dispose();
      const y2 = norm.forward(x);
      await assertClose(y2, [(2 * 3) / r, -4 / r], backendTolerance(), 'weight');
      tf.dispose([x, y, g, y2]);
      norm.dispose();
    });
  });

  it('has one parameter named weight (none without elementwiseAffine) and rejects bad input', async () => {
    await assertNoLeaks(async () => {
      const a = new RMSNorm(4);
      expect([...a.stateDict().keys()]).toEqual(['weight']);
      const b = new RMSNorm(4, { elementwiseAffine: false });
      expect(b.numParameters()).toBe(0);
      expect(() => new RMSNorm(4, { epsilon: 1 } as never)).toThrow(/RMSNorm: options.epsilon must be one of the known options \(eps, elementwiseAffine\)/);
      expect(() => new RMSNorm(0)).toThrow(/RMSNorm: dim must be a positive integer, got 0/);
      const x = tf.zeros([2, 3]);
      expect(() => a.forward(x)).toThrow(/RMSNorm: input must be of shape \[\.\.\., 4\], got Tensor float32 \[2,3\]/);
      expect(() => checkKeys('f', [1], ['a'])).toThrow(/f: options must be an object/);
      x.dispose();
      a.dispose();
      b.dispose();
    });
  });
});
