import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';
import { wasmSharedBuffersInstalled } from '../src/wasm-shared-buffers.js';

// On wasm, @dl/core wraps tfjs's Identity and Cast kernels so that a clone, or a cast to the dtype a tensor
// already has, shares its source's buffer (as on cpu and WebGL) instead of copying it: no new buffer, the
// same values, and each tensor lives on after the other is disposed. A real conversion still converts;
// with @dl/core's kernels off, tfjs's copies run.
describe('tf.clone and same-dtype tf.cast on wasm (shared buffers)', () => {
  it.runIf(tf.getBackend() === 'wasm')('is installed by useBackend on wasm', async () => {
    await useBackend('wasm');
    expect(wasmSharedBuffersInstalled()).toBe(true);
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
      const f = tf.tensor1d([1.5, -2.5, 0]);
      const buffers = tf.memory().numDataBuffers;
      const same = tf.cast(f, 'float32');
      expect(tf.memory().numDataBuffers).toBe(buffers); // shared
      const ints = tf.cast(f, 'int32'); // a conversion: a new buffer of truncated values
      expect(tf.memory().numDataBuffers).toBe(buffers + 1);
      expect(ints.dtype).toBe('int32');
      expect(Array.from(await ints.data())).toEqual([1, -2, 0]);
      f.dispose();
      expect(Array.from(await same.data())).toEqual([1.5, -2.5, 0]);
      tf.dispose([same, ints]);
      const s = tf.tensor1d(['a', 'b'], 'string');
      const t = tf.clone(s); // strings: tfjs's own copy
      s.dispose();
      expect(await t.data()).toEqual(['a', 'b']);
      t.dispose();
    });
  });

  it.runIf(tf.getBackend() === 'wasm')('copies with the kernels off; gradients (which clone what they keep and cast) are the same either way', async () => {
    await assertNoLeaks(async () => {
      const x = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
      const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(v, v, false, true)), tf.sum(tf.sigmoid(v))));
      const shared = tf.grad(f)(x);
      const previous = useWasmKernels(false);
      try {
        const buffers = tf.memory().numDataBuffers;
        const y = tf.clone(x);
        const z = tf.cast(x, 'float32');
        expect(tf.memory().numDataBuffers).toBe(buffers + 2);
        const copied = tf.grad(f)(x);
        await assertClose(copied, await shared.data(), { atol: 0, rtol: 0 });
        tf.dispose([y, z, copied]);
      } finally {
        useWasmKernels(previous);
      }
      tf.dispose([x, shared]);
    });
  });
});
