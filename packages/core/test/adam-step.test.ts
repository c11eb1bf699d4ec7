import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { adamStep, Rng, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

/** The step written with tfjs ops, in adamStep's order: what it must equal bit for bit. */
function withOps(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, b1: number, b2: number, eps: number, scale: number) {
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, tf.scalar(b1)), tf.mul(g, tf.scalar(1 - b1)));
    const v2 = tf.add(tf.mul(v, tf.scalar(b2)), tf.mul(tf.square(g), tf.scalar(1 - b2)));
    return [m2, v2, tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), tf.scalar(eps))), tf.scalar(scale))];
  });
}

describe('adamStep', () => {
  // Random sizes (including ones that are not multiples of four and zero), betas, steps and gradients
  // of very different magnitudes, against the tfjs ops: the same float32 numbers.
  const rng = new Rng(17);
  const cases = Array.from({ length: 24 }, (_, i) => {
    const t = 1 + Math.floor(rng.uniform() * 50);
    const b1 = [0.9, 0.5, 0, 0.99][i % 4];
    const b2 = [0.999, 0.98, 0.9, 0.5][(i >> 2) % 4];
    const eps = [1e-8, 1e-6, 0][i % 3];
    return { i, n: i === 5 ? 0 : 1 + Math.floor(rng.uniform() * 37), t, b1, b2, eps, magnitude: 10 ** (Math.floor(rng.uniform() * 8) - 4) };
  });
  it.each(cases)('case $i: $n values, step $t, β₁ $b1, β₂ $b2, ε $eps, |g| ~ $magnitude', async ({ n, t, b1, b2, eps, magnitude }) => {
    await assertNoLeaks(async () => {
      const [g, m, v] = tf.tidy(() => [tf.mul(tf.randomNormal([n], 0, 1, 'float32', 1), magnitude), tf.mul(tf.randomNormal([n], 0, 1, 'float32', 2), magnitude), tf.mul(tf.square(tf.randomNormal([n], 0, 1, 'float32', 3)), magnitude ** 2)]);
      const bc2Sqrt = Math.sqrt(1 - b2 ** t);
      const [epsilon, scale] = [eps * bc2Sqrt, bc2Sqrt / (1 - b1 ** t)];
      const got = adamStep(g, m, v, { beta1: b1, beta2: b2, epsilon, scale });
      const want = withOps(g, m, v, b1, b2, epsilon, scale);
      await assertClose(got.m, await want[0].data(), { atol: 0, rtol: 0 }, 'm');
      await assertClose(got.v, await want[1].data(), { atol: 0, rtol: 0 }, 'v');
      await assertClose(got.update, await want[2].data(), { atol: 0, rtol: 1e-7 }, 'update');
      tf.dispose([g, m, v, got.m, got.v, got.update, ...want]);
    });
  });

  it.runIf(tf.getBackend() === 'wasm')("runs in @dl/core's module on wasm (one kernel), and as tfjs ops with it off", async () => {
    await assertNoLeaks(async () => {
      const [g, m, v] = [tf.tensor1d([1, -2, 3]), tf.zeros([3]), tf.zeros([3])];
      const info = await tf.profile(() => Object.values(adamStep(g, m, v, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, scale: 1 })));
      expect(info.kernels.map((k) => k.name)).toEqual(['DLAdamStep']);
      tf.dispose(info.result as tf.Tensor[]);
      const previous = useWasmKernels(false);
      try {
        const r = adamStep(g, m, v, { beta1: 0.9, beta2: 0.999, epsilon: 0, scale: 1 });
        const u = 0.1 / Math.sqrt(0.001); // m′ = 0.1·g, √v′ = √0.001·|g|: update = (0.1 / √0.001)·sign(g)
        await assertClose(r.update, [u, -u, u], { atol: 0, rtol: 1e-6 });
        tf.dispose([r.m, r.v, r.update]);
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([g, m, v]);
    });
  });

  it('rejects bad input before doing anything', async () => {
    await assertNoLeaks(() => {
      const g = tf.zeros([3]);
      const [short, ints] = [tf.zeros([2]), tf.zeros([3], 'int32')];
      const o = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, scale: 1 };
      expect(() => adamStep(g, short, g, o)).toThrow(/adamStep: m must be of g's shape \[3\]/);
      expect(() => adamStep(g, g, g, { ...o, beta1: 1.5 })).toThrow(/beta1/);
      expect(() => adamStep(g, g, g, { ...o, lr: 1 } as never)).toThrow(/lr.*beta1, beta2, epsilon, scale/s);
      expect(() => adamStep(g, g, ints, o)).toThrow(/v must be a float32 tensor/);
      tf.dispose([g, short, ints]);
    });
  });
});
