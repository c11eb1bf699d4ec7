#!/usr/bin/env node
// Multi-threaded wasm against one thread: `useBackend('wasm', { threads })` for each setting given
// (default 1,2,2/1; `n/m` is `{ threads: n, tfjsThreads: m }`), each in its own Node process, on a
// 1024×1024 product through tfjs (XNNPACK) and through @dl/core's matMul (its own kernel, transposed
// operand), a conv2d, an MLP training step and @dl/transformer's GPT training step (its bench,
// packages/transformer/bench/bench.mjs, with BENCH_THREADS / BENCH_TFJS_THREADS). Prints medians in ms
// and the speed-up over the first setting; asserts nothing.
// `node bench/threads.mjs [settings, e.g. 1,2,2/1,4]`; BENCH_REPS (default 15) timed runs per case,
// BENCH_GPT=0 skips the GPT step. Build @dl/core and @dl/transformer first.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const child = process.argv[2] === '--child';
const reps = Number(process.env.BENCH_REPS ?? 15);

async function median(fn, warmup = 3) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

if (child) {
  const tf = await import('@tensorflow/tfjs-core');
  const { useBackend, manualSeed, matMul, Sequential, Linear, ReLU, crossEntropy } = await import('@dl/core');
  const [threads, tfjsThreads] = process.argv[3].split('/').map(Number);
  const report = await useBackend('wasm', tfjsThreads ? { threads, tfjsThreads } : { threads });
  const a = tf.randomNormal([1024, 1024]);
  const b = tf.randomNormal([1024, 1024]);
  const x = tf.randomNormal([4, 56, 56, 64]);
  const w = tf.randomNormal([3, 3, 64, 64]);
  const read = async (f) => {
    const out = f();
    await out.data();
    out.dispose();
  };
  const result = { setting: process.argv[3], summary: report.summary };
  result.matmul = await median(() => read(() => tf.matMul(a, b)));
  result.dlMatmul = await median(() => read(() => matMul(a, b, false, true)));
  result.conv2d = await median(() => read(() => tf.conv2d(x, w, 1, 'same')));
  // One Adam step of an MNIST-sized MLP (784-256-128-10, batch 256), as bench/bench.mjs but a larger batch.
  manualSeed(0);
  const mlp = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
  const opt = tf.train.adam(1e-3);
  const input = tf.randomUniform([256, 784]);
  const labels = tf.tensor1d(Array.from({ length: 256 }, (_, i) => i % 10), 'int32');
  result.mlp = await median(() => read(() => opt.minimize(() => crossEntropy(mlp.forward(input), labels), true, mlp.parameters())));
  console.log(JSON.stringify(result));
  process.exit(0);
}

const settings = (process.argv[2] ?? '1,2,2/1').split(',');
const self = fileURLToPath(import.meta.url);
const gptBench = fileURLToPath(new URL('../../transformer/bench/bench.mjs', import.meta.url));
const rows = [];
for (const setting of settings) {
  const r = spawnSync(process.execPath, [self, '--child', setting], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`threads ${setting}: ${r.stderr}`);
  const row = JSON.parse(r.stdout.trim().split('\n').at(-1));
  if (process.env.BENCH_GPT !== '0') {
    const [threads, tfjsThreads] = setting.split('/');
    const g = spawnSync(process.execPath, [gptBench], {
      encoding: 'utf8',
      cwd: fileURLToPath(new URL('../../transformer/', import.meta.url)),
      env: { ...process.env, BENCH_BACKENDS: 'wasm', BENCH_TORCH: '0', BENCH_LENGTHS: '32', BENCH_STEPS: String(Math.min(reps, 8)), BENCH_THREADS: threads, BENCH_TFJS_THREADS: tfjsThreads ?? '' },
    });
    const m = /training: ([\d.]+) ms\/step/.exec(g.stdout);
    if (g.status !== 0 || !m) throw new Error(`GPT bench with threads ${setting}: ${g.stderr || g.stdout}`);
    row.gpt = Number(m[1]);
  }
  rows.push(row);
}

const cases = [
  ['matmul', '1024×1024 matmul (tfjs, XNNPACK)'],
  ['dlMatmul', "1024×1024 matMul(a, b, false, true) (@dl/core's kernel)"],
  ['conv2d', 'conv2d [4,56,56,64] * [3,3,64,64]'],
  ['mlp', 'MLP train step (784-256-128-10, batch 256, Adam)'],
  ['gpt', 'GPT train step (4×4×128, context 64, batch 12)'],
].filter(([key]) => rows[0][key] !== undefined);
console.log(`wasm threads — ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} logical processors, medians of ${reps} runs${rows[0].gpt === undefined ? '' : ` (GPT: ${Math.min(reps, 8)} steps)`}`);
console.log(`settings: ${rows.map((r) => `${r.setting} = ${r.summary}`).join('; ')}`);
console.log(`| case | ${rows.map((r) => `${r.setting} (ms)`).join(' | ')} | ${rows.slice(1).map((r) => `speed-up ${r.setting}`).join(' | ')} |`);
console.log(`| --- | ${rows.map(() => '---:').join(' | ')} | ${rows.slice(1).map(() => '---:').join(' | ')} |`);
for (const [key, label] of cases) {
  console.log(`| ${label} | ${rows.map((r) => r[key].toFixed(1)).join(' | ')} | ${rows.slice(1).map((r) => `${(rows[0][key] / r[key]).toFixed(2)}×`).join(' | ')} |`);
}
