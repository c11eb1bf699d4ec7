#!/usr/bin/env node
// Checks that PyTorch reads what encodeTorchStateDict writes: writes seeded random state dicts (float32,
// int32 and bool; scalars, empty and up to 4-D tensors) and a Linear + LayerNorm + BatchNorm1d state dict
// as .pt files with their values in expected.json, then runs scripts/verify_torch_pt.py on them, which
// torch.load()s each file (weights_only=True) and compares names, order, dtypes, shapes and values, and
// loads the module state dict into the same torch modules.
//
//   pnpm --filter @dl/core build && node packages/core/scripts/torch-pt-roundtrip.mjs [--seed=N] [--cases=M]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { BatchNorm1d, LayerNorm, Linear, encodeTorchStateDict } from '../dist/index.js';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const seed = arg('seed', 1);
const cases = arg('cases', 50);
await tf.setBackend('cpu');

let s = seed >>> 0; // mulberry32
const next = () => {
  s = (s + 0x6d2b79f5) >>> 0;
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const int = (n) => Math.floor(next() * n);

const dir = mkdtempSync(path.join(tmpdir(), 'dl-torch-pt-'));
const expected = {};
async function write(file, dict) {
  writeFileSync(path.join(dir, file), await encodeTorchStateDict(dict));
  expected[file] = {};
  for (const [name, t] of dict) expected[file][name] = { shape: t.shape, dtype: t.dtype, data: Array.from(await t.data()) };
}
for (let c = 0; c < cases; c++) {
  const dict = new Map();
  for (let i = 0, n = 1 + int(5); i < n; i++) {
    const shape = Array.from({ length: int(5) }, () => int(5));
    const size = shape.reduce((a, b) => a * b, 1);
    const dtype = ['float32', 'int32', 'bool'][int(3)];
    const data = Array.from({ length: size }, () => (dtype === 'float32' ? (next() - 0.5) * 10 ** (int(12) - 6) : dtype === 'int32' ? int(2 ** 32) - 2 ** 31 : int(2)));
    dict.set(`block${i}.${dtype}_${shape.join('x')}`, tf.tensor(data, shape, dtype));
  }
  await write(`case${c}.pt`, dict);
  tf.dispose([...dict.values()]);
}
const modules = { fc: new Linear(4, 3), ln: new LayerNorm(3), bn: new BatchNorm1d(3) };
const state = new Map();
for (const [prefix, m] of Object.entries(modules)) for (const [k, v] of m.stateDict()) state.set(`${prefix}.${k}`, v);
await write('modules.pt', state);
writeFileSync(path.join(dir, 'expected.json'), JSON.stringify(expected));
console.log(`wrote ${cases} random state dicts and modules.pt (seed ${seed}) to ${dir}`);
const verify = fileURLToPath(new URL('verify_torch_pt.py', import.meta.url));
const r = spawnSync('/usr/bin/python3', [verify, dir], { stdio: 'inherit' });
rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
