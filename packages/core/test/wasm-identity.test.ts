import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';
import { wasmIdentityInstalled } from '../src/wasm-identity.js';

// On wasm, @dl/core wraps tfjs's Identity kernel so that a clone shares its source's buffer (as on cpu and
// WebGL) instead of copying it: no new buffer, the same values, and each tensor lives on after the other is
// disposed. With @dl/core's kernels off, tfjs's copy runs.
describe('tf.clone on wasm (shared buffers)', () => {
  it.runIf(tf.getBackend() === 'wasm')('is installed by useBackend on wasm', async () => {
    await useBackend('wasm');
    expect(wasmIdentityInstalled()).toBe(true);
  });

  it.runIf(tf.getBackend() === 'wasm')('shares the buffer: no new buffer, the same values, either tensor outlives the other', async () => {
    await assertNoLeaks(async () => {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        const x = tf.tensor1d([1, 0, 3, 4], dtype);
        const buffers = tf.memory().numDataBuffers;
        const y = tf.clone(x);
        expect(tf.memory().numDataBuffers, dtype).toBe(buffers); // shared: tfjs's copy makes a buffer
        expect(Array.from(await y.data())).toEqual(Array.from(await x.data()));
        x.dispose();
        expect(Array.from(await y.data())).toEqual(dtype === 'bool' ? [1, 0, 1, 1] : [1, 0, 3, 4]);
        const z = tf.clone(y);
        y.dispose();
        expect(Array.from(await z.data())).toEqual(dtype === 'bool' ? [1, 0, 1, 1] : [1, 0, 3, 4]);
        z.dispose();
      }
      const s = tf.tensor1d(['a', 'b'], 'string');
      const t = tf.clone(s); // strings: tfjs's own copy
      s.dispose();
      expect(await t.data()).toEqual(['a', 'b']);
      t.dispose();
    });
  });

  it.runIf(tf.getBackend() === 'wasm')('copies with the kernels off; gradients (which clone what they keep) are the same either way', async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
      const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(v, v, false, true)), tf.sum(tf.sigmoid(v))));
      const shared = tf.grad(f)(x);
      const previous = useWasmKernels(false);
      try {
        const buffers = tf.memory().numDataBuffers;
        const y = tf.clone(x);
        expect(tf.memory().numDataBuffers).toBe(buffers + 1);
        const copied = tf.grad(f)(x);
        await assertClose(copied, await shared.data(), { atol: 0, rtol: 0 });
        tf.dispose([y, copied]);
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([x, shared]);
    });
  });
});
