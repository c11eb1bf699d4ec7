import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { matMul, Rng, useWasmKernels, wasmKernelsActive } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { KERNEL_SOURCES_SHA256 } from '../src/wasm/kernels-wasm.js';
import { setGemmChunkFloats } from '../src/wasm-gemm.js';

const randn = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/** tf.matMul with both operands broadcast to the output's batch shape explicitly: the reference. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  const la = a.shape.slice(0, -2);
  const lb = b.shape.slice(0, -2);
  const lead = la.reduce((x, y) => x * y, 1) >= lb.reduce((x, y) => x * y, 1) && la.length >= lb.length ? la : lb;
  const full = (x: tf.Tensor) => (x.shape.slice(0, -2).join() === lead.join() ? x : tf.broadcastTo(x, [...lead, ...x.shape.slice(-2)]));
  return tf.matMul(full(a), full(b), ta, tb);
}

/** Checks matMul's value and both gradients against the reference for one configuration. */
async function check(sa: number[], sb: number[], ta: boolean, tb: boolean, seed: number, label: string): Promise<void> {
  const a = randn(sa, seed);
  const b = randn(sb, seed + 1);
  const want = tf.tidy(() => reference(a, b, ta, tb));
  const up = randn(want.shape, seed + 2); // weights every output element differently
  const got = matMul(a, b, ta, tb);
  expect(got.shape, label).toEqual(want.shape);
  await assertClose(got, await want.data(), backendTolerance(), `${label}: value`);
  const loss = (fn: typeof reference) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(fn(x, y, ta, tb), up));
  const [ga, gb] = tf.grads(loss(matMul))([a, b]);
  const [wa, wb] = tf.grads(loss(reference))([a, b]);
  expect(ga.shape, label).toEqual(sa);
  expect(gb.shape, label).toEqual(sb);
  await assertClose(ga, await wa.data(), backendTolerance(), `${label}: da`);
  await assertClose(gb, await wb.data(), backendTolerance(), `${label}: db`);
  tf.dispose([a, b, want, up, got, ga, gb, wa, wb]);
}

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
    await assertNoLeaks(() => check(sa, sb, ta, tb, 100 + 3 * i, `case ${i}`));
  });

  it('runs a batch larger than its copy budget in chunks, with the same result', async () => {
    const previous = setGemmChunkFloats(500); // 3 × 5 × 9 floats per batch element: 5 elements per chunk
    try {
      await assertNoLeaks(() => check([17, 5, 9], [17, 7, 9], false, true, 7, 'chunked'));
      await assertNoLeaks(() => check([9, 5], [17, 7, 9], true, true, 8, 'chunked, shared a'));
    } finally {
      setGemmChunkFloats(previous);
    }
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
