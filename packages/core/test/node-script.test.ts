// Proves training through the built package in plain Node (ESM and CJS), outside vitest.
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('plain node scripts', () => {
  for (const file of ['train.mjs', 'train.cjs']) {
    it(`${file} trains with only tfjs-core and a backend`, () => {
      const backend = tf.getBackend();
      const script = fileURLToPath(new URL(`../test-node/${file}`, import.meta.url));
      const r = spawnSync(process.execPath, [script, backend], { encoding: 'utf8', timeout: 240_000, env: process.env });
      expect(r.status, r.stderr).toBe(0);
      const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
      expect(result).toMatchObject({ backend, ok: true });
      expect(result.last).toBeLessThan(result.first);
    });
  }

  it('a wasm kernel that runs on cpu gives the right values without tfjs-backend-cpu\'s tfjs-node banner', () => {
    const script = fileURLToPath(new URL('../test-node/fallback-quiet.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 120_000, env: process.env });
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result).toEqual({ backend: 'wasm', fallbacks: true, sums: [4, 6] });
    expect(r.stdout + r.stderr).not.toMatch(/tfjs-node/);
  });
});
