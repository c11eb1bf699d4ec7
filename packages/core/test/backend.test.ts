import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendGeneration, installCpuFallbacks, useBackend } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

describe('useBackend', () => {
  it('reports the active backend and the kernels it borrowed', async () => {
    const name = tf.getBackend();
    const report = await useBackend(name as never);
    expect(report.name).toBe(name);
    expect(report.attempts.at(-1)).toEqual({ name, ok: true });
    expect(report.summary).toBe(name);
    if (name === 'wasm') {
      // The kernels training needs and wasm lacks now run through cpu.
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
      expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
      expect(installCpuFallbacks('wasm')).toEqual([]); // nothing left to add
    }
  });

  it("explains why a backend it cannot start was skipped in 'auto'", async () => {
    const active = tf.getBackend();
    const report = await useBackend('auto', { order: ['webgl', active as never] });
    expect(report.name).toBe(active);
    expect(report.attempts[0].name).toBe('webgl');
    expect(report.attempts[0].ok).toBe(false);
    expect(report.attempts[0].reason).toMatch(/not installed|needs a browser/);
    expect(report.summary).toMatch(new RegExp(`^${active} \\(webgl: `));
  });

  it('ops still run after switching backends back and forth', async () => {
    await assertNoLeaks(async () => {
      const active = tf.getBackend();
      await useBackend('cpu');
      const a = tf.tidy(() => tf.sum(tf.ones([3])));
      expect((await a.data())[0]).toBe(3);
      a.dispose();
      await useBackend(active as never);
      expect(tf.getBackend()).toBe(active);
    });
  });
});

describe('backend switches', () => {
  it('overlapping useBackend calls are serialised: the engine runs the backend getBackend() names', async () => {
    const active = tf.getBackend();
    const other = active === 'cpu' ? 'wasm' : 'cpu';
    try {
      // Not awaited in between: before serialisation the second call ran while the first was half done.
      const reports = await Promise.all([useBackend(other as never), useBackend(active as never), useBackend(other as never), useBackend(active as never)]);
      expect(reports.map((r) => r.name)).toEqual([other, active, other, active]);
      expect(tf.getBackend()).toBe(active);
      expect(tf.engine().backend).toBe(tf.findBackend(active));
      await assertNoLeaks(async () => {
        const s = tf.tidy(() => tf.sum(tf.add(tf.ones([4]), 1)));
        expect((await s.data())[0]).toBe(8);
        s.dispose();
      });
    } finally {
      await useBackend(active as never);
    }
  });

  it('a failed switch does not block the next one', async () => {
    const active = tf.getBackend();
    await assertNoLeaks(async () => {
      const results = await Promise.allSettled([useBackend('auto', { order: ['webgl'] }), useBackend(active as never)]);
      expect(results[0].status).toBe('rejected');
      expect(results[1].status).toBe('fulfilled');
      expect(tf.getBackend()).toBe(active);
    });
  });

  it('a backend that fails to initialise leaves the previous one active (tfjs would leave none)', async () => {
    const active = tf.getBackend();
    // A stand-in for tfjs-node whose native binding fails to load.
    tf.registerBackend('tensorflow', () => {
      throw new Error('native binding missing');
    });
    const warn = console.warn;
    console.warn = () => undefined; // tfjs logs the failed initialisation
    try {
      const g0 = backendGeneration();
      await expect(useBackend('tensorflow')).rejects.toThrow(/no backend could start: tensorflow: /);
      expect(tf.getBackend()).toBe(active);
      expect(tf.engine().backend).toBe(tf.findBackend(active));
      expect(backendGeneration()).toBe(g0);
      await assertNoLeaks(async () => {
        const s = tf.tidy(() => tf.sum(tf.ones([3])));
        expect((await s.data())[0]).toBe(3);
        s.dispose();
      });
    } finally {
      console.warn = warn;
      tf.removeBackend('tensorflow');
    }
  });

  it('backendGeneration() counts the switches that change the active backend', async () => {
    const active = tf.getBackend();
    const other = active === 'cpu' ? 'wasm' : 'cpu';
    await assertNoLeaks(async () => {
      const g0 = backendGeneration();
      await useBackend(active as never); // same backend again: not a switch
      expect(backendGeneration()).toBe(g0);
      await useBackend(other as never);
      await useBackend(active as never);
      expect(backendGeneration()).toBe(g0 + 2);
    });
  });

  it('rejects unknown option keys, naming the valid ones', async () => {
    await assertNoLeaks(() => expect(useBackend('cpu', { cpuFallback: false } as never)).rejects.toThrow(/useBackend: options.cpuFallback must be one of the known options \(order, nodeWebGPU, cpuFallbacks, threads, tfjsThreads\)/));
  });

  it("useBackend('cpu') does not print tfjs-backend-cpu's install-tfjs-node banner", async () => {
    const script = fileURLToPath(new URL('../test-node/cpu-quiet.mjs', import.meta.url));
    await assertNoLeaks(() => {
      // A fresh process: the banner comes with the cpu backend's first write in a process.
      const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000, env: process.env });
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!)).toEqual({ backend: 'cpu', sum: 6 });
      expect(r.stdout + r.stderr).not.toMatch(/tfjs-node|Hi, looks like/);
    });
  });
});
