#!/usr/bin/env node
// Cost of copyDistribution as the number of rows grows (inputs × beams): forward, and forward + the
// gradient with respect to the attention. The row counts are timed alternately (one call of each per
// round), so load on a shared machine hits all of them alike; medians over the rounds are printed with
// their ratio to the smallest row count. Linear cost in rows means "16 rows / 4 rows" ≈ 4.
// Usage: pnpm build && node bench/copy-rows.mjs. Env: BENCH_BACKENDS (default "cpu,wasm"),
// BENCH_ROUNDS (default 7), BENCH_VOCAB (default 2000), BENCH_SOURCE (default 64).
import * as tf from '@tensorflow/tfjs-core';
import { Rng, useBackend } from '@dl/core';
import { copyDistribution } from '../dist/index.js';

const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm').split(',').filter(Boolean);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const V = Number(process.env.BENCH_VOCAB ?? 2000);
const S = Number(process.env.BENCH_SOURCE ?? 64);
const OOV = 16;
const rowCounts = [4, 16];
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function inputs(rows) {
  const rng = new Rng(rows);
  const probs = tf.tidy(() => tf.softmax(tf.tensor2d(rng.normalArray(rows * V), [rows, V]))); // [rows, V]
  const attention = tf.tidy(() => tf.softmax(tf.tensor2d(rng.normalArray(rows * S), [rows, S]))); // [rows, S]
  const pGen = tf.tensor1d(rng.uniformArray(rows)); // [rows]
  const ids = Int32Array.from({ length: rows * S }, () => Math.floor(rng.uniform() * (V + OOV)));
  const sourceIds = tf.tensor2d(ids, [rows, S], 'int32'); // [rows, S]
  return { probs, attention, pGen, sourceIds };
}

async function time(fn) {
  const t0 = performance.now();
  const out = fn();
  await out.data();
  const ms = performance.now() - t0;
  out.dispose();
  return ms;
}

console.log(`copyDistribution: V = ${V}, S = ${S} source positions, ${OOV} OOV ids; median of ${rounds} alternating rounds`);
console.log('| backend | rows | forward (ms) | × 4 rows | forward + grad (ms) | × 4 rows |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const name of backends) {
  if (name === 'webgpu') {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  try {
    await useBackend(name);
  } catch (e) {
    console.log(`| ${name} | unavailable: ${e.message.split('\n')[0]} | | | | |`);
    continue;
  }
  const data = Object.fromEntries(rowCounts.map((r) => [r, inputs(r)]));
  const fwd = Object.fromEntries(rowCounts.map((r) => [r, []]));
  const bwd = Object.fromEntries(rowCounts.map((r) => [r, []]));
  const run = (r) => copyDistribution(data[r].probs, data[r].attention, data[r].pGen, data[r].sourceIds, V + OOV);
  const grad = (r) => tf.grad((a) => tf.sum(copyDistribution(data[r].probs, a, data[r].pGen, data[r].sourceIds, V + OOV)))(data[r].attention);
  for (const r of rowCounts) {
    await time(() => run(r)); // warm-up
    await time(() => grad(r));
  }
  for (let i = 0; i < rounds; i++) {
    for (const r of rowCounts) {
      fwd[r].push(await time(() => run(r)));
      bwd[r].push(await time(() => grad(r)));
    }
  }
  const f0 = median(fwd[rowCounts[0]]);
  const b0 = median(bwd[rowCounts[0]]);
  for (const r of rowCounts) {
    const f = median(fwd[r]);
    const b = median(bwd[r]);
    console.log(`| ${name} | ${r} | ${f.toFixed(2)} | ${(f / f0).toFixed(2)} | ${b.toFixed(2)} | ${(b / b0).toFixed(2)} |`);
  }
  for (const d of Object.values(data)) tf.dispose(Object.values(d));
}
