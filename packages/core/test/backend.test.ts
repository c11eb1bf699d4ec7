import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { installCpuFallbacks, useBackend } from '../src/index.js';
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
