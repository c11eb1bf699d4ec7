import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { reluBackward, Rng, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

describe('reluBackward', () => {
  // Random shapes (lengths not multiples of four, zeros exactly at 0, negative zeros) against dy · [x > 0].
  const rng = new Rng(5);
  const cases = Array.from({ length: 20 }, (_, i) => ({ i, shape: Array.from({ length: 1 + (i % 4) }, () => 1 + Math.floor(rng.uniform() * 9)) }));
  it.each(cases)('case $i: shape $shape', async ({ shape }) => {
    await assertNoLeaks(async () => {
      const x = tf.tidy(() => tf.round(tf.randomNormal(shape, 0, 2, 'float32', 3)));
      const dy = tf.randomNormal(shape, 0, 1, 'float32', 4);
      const [xs, dys] = [await x.data(), await dy.data()];
      const dx = reluBackward(dy, x);
      await assertClose(dx, Array.from(dys, (d, j) => (xs[j] > 0 ? d : 0)), { atol: 0, rtol: 0 });
      // tf.relu's gradient is the same (registered by @dl/core).
      const viaGrad = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.relu(v), dy)))(x);
      await assertClose(viaGrad, await dx.data(), { atol: 0, rtol: 0 }, 'tf.relu gradient');
      tf.dispose([x, dy, dx, viaGrad]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')("runs in @dl/core's module on wasm, and through tfjs's ops with it off", async () => {
    await assertNoLeaks(async () => {
      const x = tf.tensor1d([-1, 0, 2, 3, -4]);
      const dy = tf.tensor1d([1, 2, 3, 4, 5]);
      const info = await tf.profile(() => reluBackward(dy, x));
      expect(info.kernels.map((k) => k.name)).toEqual(['DLReluGrad']);
      tf.dispose(info.result as tf.Tensor);
      const previous = useWasmKernels(false);
      try {
        const dx = reluBackward(dy, x);
        await assertClose(dx, [0, 0, 3, 4, 0], { atol: 0, rtol: 0 });
        dx.dispose();
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([x, dy]);
    });
  });

  it('rejects a shape mismatch', async () => {
    await assertNoLeaks(() => {
      const dy = tf.zeros([2, 3]);
      const x = tf.zeros([3, 2]);
      expect(() => reluBackward(dy, x)).toThrow(/reluBackward: x must be of dy's shape \[2, 3\]/);
      tf.dispose([dy, x]);
    });
  });
});
