#!/usr/bin/env node
// `pnpm bench`: time and peak tensor bytes of every attention variant for N = 256 … 8192 (as far as
// memory allows) on wasm and webgpu (SwiftShader in this container: capped at small N), cpu for small N.
// Prints one table per backend with fitted scaling exponents, the full-vs-hand-written ratio and the
// issue's targets. Env: BENCH_BACKENDS (default "cpu,wasm,webgpu"), BENCH_MAX_N (default 8192).
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';
import {
  benchmarkAttention,
  favorFeatureMap,
  formatBenchTable,
  globalAttention,
  KMeansRouting,
  linearAttention,
  Linformer,
  localAttention,
  lshAttention,
  scaledDotProductAttention,
  scalingExponent,
  stridedAttention,
} from '../dist/index.js';

const D = 64;
const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm,webgpu').split(',').filter(Boolean);
const maxN = Number(process.env.BENCH_MAX_N ?? 8192);
const caps = { cpu: 512, wasm: maxN, webgpu: Math.min(maxN, 512) }; // SwiftShader runs WebGPU on the CPU: slow

function variants(n) {
  const hand = (q, k, v) => ({ output: tf.tidy(() => tf.matMul(tf.softmax(tf.matMul(tf.mul(q, 1 / Math.sqrt(D)), k, false, true)), v)) });
  return [
    { name: 'hand-written matMul→softmax→matMul', attend: hand },
    { name: 'full', attend: scaledDotProductAttention },
    { name: 'local (±32)', attend: localAttention({ window: 32 }) },
    { name: 'strided (stride 64, ±16 steps)', attend: stridedAttention({ stride: 64, lookBack: 16, lookForward: 16 }) },
    { name: 'global (2) + local (±32)', attend: globalAttention({ count: 2, local: { lookBack: 32, lookForward: 32 } }) },
    { name: 'LSH (16 buckets, chunk 64)', attend: lshAttention({ nBuckets: 16, chunkSize: 64 }) },
    { name: 'k-means (16 clusters, chunk 64)', attend: new KMeansRouting(1, D, 16, { chunkSize: 64 }).eval().attend },
    { name: 'linear elu+1', attend: linearAttention() },
    { name: 'linear elu+1 causal (prefix sums)', attend: linearAttention({ causal: true, chunkSize: 64 }) },
    { name: 'linear FAVOR+ (64 features)', attend: linearAttention({ featureMap: favorFeatureMap(D, 64) }) },
    { name: 'Linformer (k = 128)', attend: new Linformer(n, 128).attend },
  ];
}

const started = Date.now();
const report = [];
for (const backend of backends) {
  if (backend === 'webgpu') {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  let chosen;
  try {
    chosen = await useBackend(backend);
  } catch (e) {
    console.log(`\n## ${backend}: unavailable (${e.message.split('\n')[0]})`);
    continue;
  }
  const ns = [];
  for (let n = 256; n <= caps[backend]; n *= 2) ns.push(n);
  // Linformer's E/F are sized per N, so build the variants at the largest N (shorter inputs use a prefix).
  const vs = variants(ns[ns.length - 1]);
  const rows = [];
  for (const n of ns) {
    // one timed call at N ≥ 4096 (full attention takes seconds there), the median of 3 below
    rows.push(...(await benchmarkAttention(vs, [n], {
      dim: D,
      repeats: n >= 4096 ? 1 : 3,
      onRow: (r) => process.stderr.write(`${backend} N=${r.n} ${r.variant}: ${r.error ?? `${r.ms.toFixed(1)} ms, ${(r.peakBytes / 2 ** 20).toFixed(1)} MB`}\n`),
    })));
  }
  const table = formatBenchTable(rows);
  const top = Math.max(...rows.filter((r) => r.variant === 'full' && !r.error).map((r) => r.n));
  const at = (name, n) => rows.find((r) => r.variant === name && r.n === n);
  const lines = [`\n## ${chosen.summary}: batch 1, 1 head, d = ${D}, N = ${ns.join(', ')}`, '', table, ''];
  const full = at('full', top);
  lines.push(`Targets at N = ${top} (largest N where full attention ran):`);
  for (const r of rows.filter((x) => x.n === top && !['full', 'hand-written matMul→softmax→matMul'].includes(x.variant))) {
    const pct = (100 * r.peakBytes) / full.peakBytes;
    lines.push(`- ${r.variant}: ${pct.toFixed(1)}% of full attention's peak bytes${pct <= 5 ? '' : ' (above the 5% target)'}`);
  }
  const ratios = ns.map((n) => [n, at('full', n), at('hand-written matMul→softmax→matMul', n)]).filter(([, f, h]) => f && h && !f.error && !h.error);
  lines.push(`- full / hand-written time: ${ratios.map(([n, f, h]) => `N=${n} ${(f.ms / h.ms).toFixed(2)}×`).join(', ')}`);
  const lin = ns.filter((n) => n >= 1024).map((n) => [n, at('linear elu+1', n), at('full', n)]).filter(([, l, f]) => l && f && !l.error && !f.error);
  lines.push(`- linear elu+1 vs full time from N = 1024: ${lin.map(([n, l, f]) => `N=${n} ${(f.ms / l.ms).toFixed(1)}× faster`).join(', ') || 'not measured'}`);
  const fe = scalingExponent(rows.filter((r) => r.variant === 'full' && !r.error).map((r) => [r.n, r.peakBytes]));
  lines.push(`- fitted bytes exponent: full ${fe.toFixed(2)}`);
  console.log(lines.join('\n'));
  report.push(...lines);
}
console.log(`\n(total ${((Date.now() - started) / 1000).toFixed(0)} s, ${new Date().toISOString().slice(0, 10)})`);
