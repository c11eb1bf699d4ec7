import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { matMul, Rng, useWasmKernels, wasmKernelsActive } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { checkMatMul } from './helpers.js';
import { KERNEL_SOURCES_SHA256 } from '../src/wasm/kernels-wasm.js';

const randn = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('matMul: randomised sweep (the SIMD kernel on wasm, tfjs elsewhere)', () => {
  it('is active on wasm', () => {
    if (tf.getBackend() === 'wasm') expect(wasmKernelsActive()).toBe(true);
  });

  // 60 configurations: sizes around the kernel's 4 × 8 tile edges (1–13) and larger ones, batch shapes
  // equal, shared (rank 2 or all-ones leading axes) on either side, every transpose pair.
  const rng = new Rng(20261201);
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.uniform() * xs.length)];
  const dims = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 31, 33, 64];
  const cases = Array.from({ length: 60 }, (_, i) => {
    const [m, n, k] = [pick(dims), pick(dims), pick(dims)];
    const ta = rng.uniform() < 0.5;
    const tb = rng.uniform() < 0.5;
    const lead = pick([[], [3], [2, 3], [1, 4]]);
    const share = pick(['none', 'a', 'b', 'a-ones']);
    const leadA = share === 'a' ? [] : share === 'a-ones' ? lead.map(() => 1) : lead;
    const leadB = share === 'b' ? [] : lead;
    const sa = [...leadA, ...(ta ? [k, m] : [m, k])];
    const sb = [...leadB, ...(tb ? [n, k] : [k, n])];
    return { i, sa, sb, ta, tb };
  });
  it.each(cases)('case $i: a $sa, b $sb, ta $ta, tb $tb', async ({ i, sa, sb, ta, tb }) => {
    await assertNoLeaks(() => checkMatMul(sa, sb, ta, tb, 100 + 3 * i, `case ${i}`));
  });

  it.runIf(tf.getBackend() === 'wasm')('computes only the gradients the tape needs (no dX for an input without one)', async () => {
    await assertNoLeaks(async () => {
      const x = randn([6, 5], 1); // a constant input, as a first layer's
      const w = randn([4, 5], 2);
      const info = await tf.profile(() => {
        const g = tf.grad((wt: tf.Tensor) => tf.sum(matMul(x, wt, false, true)))(w); // d/dW only
        g.dispose();
      });
      const products = info.kernels.filter((kr) => kr.name === 'DLMatMul').length;
      expect(products).toBe(2); // the forward product and dW, not dX
      tf.dispose([x, w]);
    });
  });

  it('empty products give zeros of the right shape', async () => {
    await assertNoLeaks(async () => {
      const a = tf.zeros([2, 3, 0]);
      const b = tf.zeros([2, 0, 4]);
      const y = matMul(a, b);
      expect(y.shape).toEqual([2, 3, 4]);
      await assertClose(y, new Float32Array(24), { atol: 0, rtol: 0 }, 'zeros');
      tf.dispose([a, b, y]);
    });
  });
});

describe('useWasmKernels', () => {
  it('switches the kernel off and on, returning the previous setting; the results agree', async () => {
    await assertNoLeaks(async () => {
      const a = randn([4, 6, 10], 1);
      const b = randn([4, 6, 12], 2);
      const on = matMul(a, b, true, false); // [4, 10, 12]
      expect(useWasmKernels(false)).toBe(true);
      expect(wasmKernelsActive()).toBe(false);
      const off = matMul(a, b, true, false);
      expect(useWasmKernels(true)).toBe(false);
      await assertClose(on, await off.data(), backendTolerance(), 'on vs off');
      tf.dispose([a, b, on, off]);
    });
  });

  it('rejects a non-boolean naming the argument', () => {
    expect(() => useWasmKernels('yes' as unknown as boolean)).toThrow(/useWasmKernels: on must be a boolean, got/);
  });
});

describe('the compiled module', () => {
  it.each(Object.keys(KERNEL_SOURCES_SHA256))('was built from the %s in the repository (rerun scripts/build-wasm-kernels.mjs after editing it)', (file) => {
    const source = readFileSync(new URL(`../src/wasm/${file}`, import.meta.url));
    expect(createHash('sha256').update(source).digest('hex')).toBe(KERNEL_SOURCES_SHA256[file]);
  });
});
