import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gelu, matMul, Rng, useBackend, useWasmKernelThreads, wasmKernelThreads } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { setThreadedMinMacs } from '../src/wasm-gemm.js';
import { checkMatMul } from './helpers.js';

// @dl/core's WebAssembly kernels on a pool of worker threads (Node, tfjs-backend-wasm's threaded build):
// every product split (threshold 0), into ranges of the batch or bands of rows, must equal tfjs's
// product, values and gradients alike.

describe('useWasmKernelThreads: arguments', () => {
  it.each([0, -1, 1.5, 17, Number.NaN, '2', undefined])('rejects threads %s naming the argument, before changing anything', async (bad) => {
    const before = wasmKernelThreads();
    await expect(useWasmKernelThreads(bad as number)).rejects.toThrow(/useWasmKernelThreads: threads must be an integer from 1 to 16, got/);
    expect(wasmKernelThreads()).toBe(before);
  });
});

describe.runIf(tf.getBackend() === 'wasm')('matMul on 3 kernel threads: randomised sweep', () => {
  let threshold = 0;
  beforeAll(async () => {
    // tfjs's threaded build (its memory is shared), then 3 kernel threads on any machine: uneven bands
    // and batch ranges, and more threads than parts.
    const report = await useBackend('wasm', { threads: 2 });
    expect(report.kernelThreads).toBe(2);
    expect(await useWasmKernelThreads(3)).toBe(3);
    threshold = setThreadedMinMacs(0);
  });
  afterAll(async () => {
    setThreadedMinMacs(threshold);
    expect(await useWasmKernelThreads(1)).toBe(1);
    expect(wasmKernelThreads()).toBe(1);
    await useBackend('wasm', { threads: 1 });
  });

  it('runs on 3 threads', () => {
    expect(wasmKernelThreads()).toBe(3);
  });

  // 40 configurations: rows from 1 (fewer bands than threads) to 70 (bands not a multiple of the 4-row
  // tile), batches of 1 (row bands), 2 (fewer products than threads: row bands of each) and 3–7 (batch
  // ranges), shared operands on either side, every transpose pair.
  const rng = new Rng(20261202);
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.uniform() * xs.length)];
  const cases = Array.from({ length: 40 }, (_, i) => {
    const m = pick([1, 3, 4, 5, 9, 12, 13, 17, 33, 70]);
    const [n, k] = [pick([1, 5, 8, 9, 16, 31]), pick([1, 4, 7, 16, 33])];
    const ta = rng.uniform() < 0.5;
    const tb = rng.uniform() < 0.5;
    const lead = pick([[], [2], [3], [7], [2, 3]]);
    const share = pick(['none', 'a', 'b']);
    const sa = [...(share === 'a' ? [] : lead), ...(ta ? [k, m] : [m, k])];
    const sb = [...(share === 'b' ? [] : lead), ...(tb ? [n, k] : [k, n])];
    return { i, sa, sb, ta, tb };
  });
  it.each(cases)('case $i: a $sa, b $sb, ta $ta, tb $tb', async ({ i, sa, sb, ta, tb }) => {
    await assertNoLeaks(() => checkMatMul(sa, sb, ta, tb, 500 + 3 * i, `case ${i}`));
  });

  it('a large product (row bands) equals the single-threaded one exactly', async () => {
    await assertNoLeaks(async () => {
      const a = tf.randomNormal([200, 96], 0, 1, 'float32', 1);
      const b = tf.randomNormal([150, 96], 0, 1, 'float32', 2);
      const threaded = matMul(a, b, false, true); // [200, 150]
      await useWasmKernelThreads(1);
      const single = matMul(a, b, false, true);
      await useWasmKernelThreads(3);
      // Each row is computed by the same code in the same order on either side: bitwise equal.
      expect(Array.from(await threaded.data())).toEqual(Array.from(await single.data()));
      tf.dispose([a, b, threaded, single]);
    });
  });

  it('GELU runs on the shared memory too', async () => {
    await assertNoLeaks(async () => {
      const x = tf.linspace(-4, 4, 101);
      const y = gelu(x);
      const want = tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2)))));
      await assertClose(y, await want.data(), backendTolerance(), 'gelu');
      tf.dispose([x, y, want]);
    });
  });

  it('holds the tensor count flat over many threaded steps', async () => {
    const w = tf.variable(tf.randomNormal([64, 32], 0, 0.1, 'float32', 3));
    const x = tf.randomNormal([48, 64], 0, 1, 'float32', 4);
    const step = () => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(matMul(x, v))))(w); // [64, 32]
      w.assign(tf.sub(w, tf.mul(g, 1e-4)));
      g.dispose();
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) tf.tidy(step);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([w, x]);
  });
});

describe.runIf(tf.getBackend() === 'wasm')('kernel threads in a plain Node script', () => {
  it('one thread without the threaded build (its memory is not shared)', async () => {
    expect(await useWasmKernelThreads(2)).toBe(1);
  });

  it('a script using them ends by itself and gets the single-threaded result', () => {
    const script = fileURLToPath(new URL('../test-node/kernel-threads-exit.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'killed by the timeout: the process did not exit').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ threads: 2, after: 1, equal: true });
  });
});
