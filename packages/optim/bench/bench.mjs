#!/usr/bin/env node
// `pnpm bench` for @dl/optim: one Adam / AdamW step of ours against tf.train.adam on the same backend,
// in the same run, over 1M and 10M parameters (one large variable, and many small ones), printed as
// median times and their ratio; then the step time of every optimizer over 1M parameters.
//
//   node bench/bench.mjs                 # cpu and wasm (and webgpu when DL_BENCH_BACKENDS includes it)
//   DL_BENCH_BACKENDS=cpu,wasm,webgpu node bench/bench.mjs
//
// WebGPU without a GPU runs on SwiftShader (Vulkan on the CPU): it is slow, so only 1M parameters there.
// Needs the built packages (pnpm build in packages/core and packages/optim).
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';
import * as optim from '../dist/index.js';

const backends = (process.env.DL_BENCH_BACKENDS ?? 'cpu,wasm,webgpu').split(',').map((s) => s.trim()).filter(Boolean);
const REPS = Number(process.env.DL_BENCH_REPS ?? 7); // timed steps per measurement (median)
const ROUNDS = Number(process.env.DL_BENCH_ROUNDS ?? 2); // interleaved rounds (best median kept)

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function makeVars(total, count) {
  const per = Math.floor(total / count);
  return Array.from({ length: count }, (_, i) => tf.tidy(() => tf.variable(tf.randomNormal([i === count - 1 ? total - per * (count - 1) : per], 0, 0.1, 'float32', i))));
}

function makeGrads(vars) {
  return vars.map((v, i) => tf.tidy(() => tf.randomNormal(v.shape, 0, 1e-2, 'float32', 100 + i)));
}

async function sync(vars) {
  // Wait for the device: read one element of the last variable.
  const s = tf.tidy(() => tf.slice(vars[vars.length - 1], [0], [1]));
  await s.data();
  s.dispose();
}

async function time(stepFn, vars) {
  await stepFn(); // warm-up (kernel compilation, state allocation)
  await sync(vars);
  const ts = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await stepFn();
    await sync(vars);
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

async function oursStep(make, total, count) {
  const vars = makeVars(total, count);
  const grads = makeGrads(vars);
  const opt = make(vars);
  const ms = await time(() => opt.step(grads), vars);
  opt.dispose();
  tf.dispose([...vars, ...grads]);
  return ms;
}

async function tfStep(total, count) {
  const vars = makeVars(total, count);
  const grads = makeGrads(vars);
  const opt = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const named = Object.fromEntries(vars.map((v, i) => [v.name, grads[i]]));
  const ms = await time(() => opt.applyGradients(named), vars);
  opt.dispose();
  tf.dispose([...vars, ...grads]);
  return ms;
}

const fmt = (ms) => ms.toFixed(ms < 10 ? 2 : 1);
const rows = [];
const perOpt = [];
for (const backend of backends) {
  if (backend === 'webgpu') {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  }
  const report = await useBackend(backend);
  if (report.name !== backend) {
    console.log(`skipping ${backend}: ${report.summary}`);
    continue;
  }
  const sizes = backend === 'webgpu' ? [[1e6, 1], [1e6, 100]] : [[1e6, 1], [1e6, 100], [1e7, 1], [1e7, 100]];
  for (const [total, count] of sizes) {
    const label = `${total / 1e6}M params in ${count} var${count > 1 ? 's' : ''}`;
    // Interleave so drift (other processes on the machine) hits both sides alike.
    const ref = [];
    const adam = [];
    const adamw = [];
    for (let round = 0; round < ROUNDS; round++) {
      ref.push(await tfStep(total, count));
      adam.push(await oursStep((v) => new optim.Adam(v, { lr: 1e-3 }), total, count));
      adamw.push(await oursStep((v) => new optim.AdamW(v, { lr: 1e-3 }), total, count));
    }
    const r = { backend, label, tf: Math.min(...ref), adam: Math.min(...adam), adamw: Math.min(...adamw) };
    rows.push(r);
    console.log(`${backend.padEnd(7)} ${label.padEnd(22)} tf.train.adam ${fmt(r.tf)} ms | Adam ${fmt(r.adam)} ms (${(r.adam / r.tf).toFixed(2)}×) | AdamW ${fmt(r.adamw)} ms (${(r.adamw / r.tf).toFixed(2)}×)`);
  }
  const total = 1e6;
  const makers = {
    SGD: (v) => new optim.SGD(v, { lr: 0.1 }),
    'SGD momentum': (v) => new optim.SGD(v, { lr: 0.1, momentum: 0.9, nesterov: true }),
    Adagrad: (v) => new optim.Adagrad(v),
    RMSprop: (v) => new optim.RMSprop(v),
    Adadelta: (v) => new optim.Adadelta(v),
    Adam: (v) => new optim.Adam(v),
    AdamW: (v) => new optim.AdamW(v),
    Adamax: (v) => new optim.Adamax(v),
    NAdam: (v) => new optim.NAdam(v),
    RAdam: (v) => new optim.RAdam(v),
    Lion: (v) => new optim.Lion(v),
    Lamb: (v) => new optim.Lamb(v),
  };
  for (const [name, make] of Object.entries(makers)) {
    const ms = await oursStep(make, total, 10);
    perOpt.push({ backend, name, ms });
  }
  console.log(`${backend}: per optimizer (1M params in 10 vars): ${perOpt.filter((p) => p.backend === backend).map((p) => `${p.name} ${fmt(p.ms)} ms`).join(', ')}`);
}

console.log('\n| backend | parameters | tf.train.adam (ms) | @dl/optim Adam (ms) | ratio | @dl/optim AdamW (ms) | ratio |');
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.backend} | ${r.label} | ${fmt(r.tf)} | ${fmt(r.adam)} | ${(r.adam / r.tf).toFixed(2)}× | ${fmt(r.adamw)} | ${(r.adamw / r.tf).toFixed(2)}× |`);
const names = [...new Set(perOpt.map((p) => p.name))];
const bs = [...new Set(perOpt.map((p) => p.backend))];
console.log(`\n| optimizer (1M params, 10 vars) | ${bs.map((b) => `${b} (ms)`).join(' | ')} |`);
console.log(`| --- | ${bs.map(() => '---:').join(' | ')} |`);
for (const n of names) console.log(`| ${n} | ${bs.map((b) => fmt(perOpt.find((p) => p.backend === b && p.name === n).ms)).join(' | ')} |`);
