// useBackend('wasm', { threads }): tfjs-backend-wasm's threaded SIMD build in Node. Threads must give the
// single-threaded results (within float tolerance), bad counts must be rejected before anything changes,
// and a script that uses threads must end by itself.
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DLArgumentError, Linear, ReLU, Sequential, crossEntropy, manualSeed, useBackend } from '../src/index.js';
import { assertClose } from '../src/testing.js';

const limit = Math.min(os.availableParallelism(), 8);
const initial = tf.getBackend();
afterAll(async () => {
  await useBackend('wasm', { threads: 1 });
  await useBackend(initial as never);
});

/** Deterministic values in [-1, 1) without tfjs's random ops, so every backend sees the same inputs. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s / 1073741824 - 1;
  }
  return out;
}

/** A matmul, a conv2d and one SGD step of a small MLP on the active backend; tensors all disposed. */
async function compute(): Promise<Record<string, Float32Array>> {
  const before = tf.memory().numTensors;
  const [matmul, conv] = tf.tidy(() => {
    const a = tf.tensor2d(values(96 * 130, 1), [96, 130]);
    const b = tf.tensor2d(values(130 * 70, 2), [130, 70]);
    const x = tf.tensor4d(values(2 * 17 * 17 * 8, 3), [2, 17, 17, 8]);
    const w = tf.tensor4d(values(3 * 3 * 8 * 24, 4), [3, 3, 8, 24]);
    return [tf.matMul(a, b), tf.conv2d(x, w, 1, 'same')];
  });
  manualSeed(0);
  const model = new Sequential(new Linear(40, 64), new ReLU(), new Linear(64, 10));
  const x = tf.tensor2d(values(32 * 40, 5), [32, 40]);
  const y = tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 10), 'int32');
  const opt = tf.train.sgd(0.5);
  const loss = opt.minimize(() => crossEntropy(model.forward(x), y) as tf.Scalar, true, model.parameters());
  const out = {
    matmul: (await matmul.data()) as Float32Array,
    conv: (await conv.data()) as Float32Array,
    loss: (await loss!.data()) as Float32Array,
    weight: (await model.parameters()[0].data()) as Float32Array,
  };
  tf.dispose([matmul, conv, x, y, loss!]);
  opt.dispose();
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe('useBackend wasm threads: options', () => {
  for (const bad of [0, -2, 1.5, Number.NaN, '2', null, true]) {
    it(`rejects threads ${String(bad)} before changing anything`, async () => {
      const active = tf.getBackend();
      await expect(useBackend('wasm', { threads: bad as never })).rejects.toThrow(DLArgumentError);
      await expect(useBackend('wasm', { threads: bad as never })).rejects.toThrow(/options\.threads must be a positive integer or 'auto', got/);
      expect(tf.getBackend()).toBe(active);
    });
  }

  it('rejects more threads than the processors available (or 8)', async () => {
    const active = tf.getBackend();
    await expect(useBackend('wasm', { threads: limit + 1 })).rejects.toThrow(new RegExp(`options\\.threads must be a positive integer ≤ ${limit} .*got ${limit + 1}`));
    expect(tf.getBackend()).toBe(active);
  });

  it('rejects threads for a backend other than wasm, and still rejects unknown keys listing threads', async () => {
    await expect(useBackend('cpu', { threads: 1 })).rejects.toThrow(/options\.threads must be used with 'wasm'/);
    await expect(useBackend('auto', { order: ['cpu'], threads: 1 })).rejects.toThrow(/options\.threads/);
    await expect(useBackend('wasm', { thread: 2 } as never)).rejects.toThrow(/threads/);
  });

  it('rejects tfjsThreads without threads, not a positive integer, or above threads', async () => {
    const active = tf.getBackend();
    await expect(useBackend('wasm', { tfjsThreads: 1 })).rejects.toThrow(/options\.tfjsThreads must be a positive integer, given with options\.threads, got 1/);
    for (const bad of [0, 1.5, '1']) {
      await expect(useBackend('wasm', { threads: 1, tfjsThreads: bad as never })).rejects.toThrow(/options\.tfjsThreads must be a positive integer/);
    }
    await expect(useBackend('wasm', { threads: 1, tfjsThreads: 2 })).rejects.toThrow(/options\.tfjsThreads must be a positive integer ≤ threads \(1\), got 2/);
    expect(tf.getBackend()).toBe(active);
  });
});

describe.skipIf(limit < 2)('useBackend wasm threads: results', () => {
  it('2 threads give the single-threaded results (matmul, conv2d, an MLP training step)', async () => {
    const single = await useBackend('wasm', { threads: 1 });
    expect(single).toMatchObject({ name: 'wasm', threads: 1, summary: 'wasm, 1 thread' });
    const one = await compute();
    const multi = await useBackend('wasm', { threads: 2 });
    expect(multi).toMatchObject({ name: 'wasm', threads: 2, kernelThreads: 2, summary: 'wasm, 2 threads' });
    expect(tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT')).toBe(true);
    const two = await compute();
    for (const key of Object.keys(one)) await assertClose(two[key], one[key], { atol: 1e-5, rtol: 1e-5 }, key);
  });

  it('tfjsThreads: 1 keeps XNNPACK on one thread while @dl/core\'s products use both (same results)', async () => {
    const one = await (async () => {
      await useBackend('wasm', { threads: 1 });
      return compute();
    })();
    const report = await useBackend('wasm', { threads: 2, tfjsThreads: 1 });
    expect(report).toMatchObject({ name: 'wasm', threads: 1, kernelThreads: 2, summary: "wasm, 2 threads (tfjs's kernels: 1)" });
    const two = await compute();
    for (const key of Object.keys(one)) await assertClose(two[key], one[key], { atol: 1e-5, rtol: 1e-5 }, key);
  });

  it("'auto' takes every processor (up to 8); a new count restarts wasm and counts as a backend switch", async () => {
    const { backendGeneration } = await import('../src/index.js');
    await useBackend('wasm', { threads: 1 });
    const generation = backendGeneration();
    const report = await useBackend('wasm', { threads: 'auto' });
    expect(report.threads).toBe(limit);
    expect(backendGeneration()).toBe(generation + 1);
    // The same count again keeps the running backend and its tensors.
    const kept = tf.ones([2]);
    await useBackend('wasm', { threads: 'auto' });
    expect(Array.from(await kept.data())).toEqual([1, 1]);
    kept.dispose();
    // Without threads, wasm stays as it is.
    expect((await useBackend('wasm')).threads).toBeUndefined();
    expect(backendGeneration()).toBe(generation + 1);
  });

  it('a script that uses wasm threads ends by itself (the pthread workers do not keep Node alive)', () => {
    const script = fileURLToPath(new URL('../test-node/threads-exit.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '2'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal, 'killed by the timeout: the process did not exit').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ backend: 'wasm', threads: 2, kernelThreads: 2, sum: 64 * 64 * 64 });
  });
});
