// Gradients register on first use (Module, losses, useBackend, ensureGradients), never on import: a plain
// Node script and a tree-shaken browser bundle of the built package both train with correct gradients.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkgRoot = path.join(here, '..');
const work = mkdtempSync(path.join(pkgRoot, 'node_modules', '.registration-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runNode(file: string): Record<string, unknown> {
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000, cwd: pkgRoot });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describe('gradient registration', () => {
  it('package.json declares no side effects, and importing the built package registers nothing; a Module does', () => {
    expect(JSON.parse(readFileSync(path.join(pkgRoot, 'package.json'), 'utf8')).sideEffects).toBe(false);
    const r = runNode(path.join(pkgRoot, 'test-node', 'registration.mjs'));
    expect(r.afterImport).toBe(false);
    expect(r.afterModule).toBe(true);
    expect(r.again).toBe(0);
    // d/dx Σ(x Wᵀ + b) = W
    expect(r.grad).toEqual(r.weight);
  });

  it('a tree-shaken browser bundle that imports only Linear and crossEntropy trains it with correct gradients', async () => {
    const entry = path.join(work, 'entry.mjs');
    writeFileSync(
      entry,
      `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { Linear, crossEntropy } from '@dl/core';
await tf.setBackend('cpu');
const layer = new Linear(3, 2);
const x = tf.tensor2d([[1, 2, 3], [0, 1, 0]]);
const y = tf.tensor1d([1, 0], 'int32');
const [w, b] = layer.parameters();
const { grads } = tf.variableGrads(() => crossEntropy(layer.forward(x), y), [w, b]);
// By hand: softmax(logits) − onehot(y), averaged over the batch; dW = dlogitsᵀ x, db = Σ dlogits.
const logits = await tf.add(tf.matMul(x, w, false, true), b).array();
const dlogits = logits.map((row, i) => {
  const m = Math.max(...row);
  const e = row.map((v) => Math.exp(v - m));
  const s = e.reduce((a, c) => a + c, 0);
  return e.map((v, c) => (v / s - (c === [1, 0][i] ? 1 : 0)) / 2);
});
const xs = await x.array();
const dW = [0, 1].map((c) => [0, 1, 2].map((k) => dlogits[0][c] * xs[0][k] + dlogits[1][c] * xs[1][k]));
const db = [0, 1].map((c) => dlogits[0][c] + dlogits[1][c]);
const got = { dW: await grads[w.name].array(), db: await grads[b.name].array() };
const err = Math.max(...got.dW.flat().map((v, i) => Math.abs(v - dW.flat()[i])), ...got.db.map((v, i) => Math.abs(v - db[i])));
console.log(JSON.stringify({ err }));
`,
    );
    const out = path.join(work, 'bundle.mjs');
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      treeShaking: true,
      outfile: out,
      metafile: true,
      logLevel: 'silent',
      nodePaths: [path.join(pkgRoot, 'node_modules')],
      alias: { '@dl/core': pkgRoot },
      // Run in Node as a page would run it: without \`process\` and with a window, tfjs takes its browser platform.
      define: { process: 'undefined' },
      banner: { js: 'globalThis.window = globalThis; globalThis.document = {};' },
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.includes('packages/core/dist/') || f.includes(`${path.basename(pkgRoot)}/dist/`))).toBe(true);
    expect(inputs.filter((f) => f.startsWith('node:') || /^(fs|path|module|url)$/.test(f))).toEqual([]);
    const r = runNode(out);
    expect(r.err as number).toBeLessThan(1e-5);
  });
});
