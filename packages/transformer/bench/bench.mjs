#!/usr/bin/env node
// `pnpm bench` for @dl/transformer: training tokens/s of nanoGPT's CPU model (4 layers, 4 heads, width
// 128, context 64, batch 12) beside the same training step in PyTorch on this machine, and decoding
// tokens/s for greedy and beam search (4 beams), with and without the KV cache, at 32 / 128 / 512
// generated tokens. Prints medians and ratios; asserts nothing.
// Env: BENCH_BACKENDS (default "cpu,wasm"; add webgpu for Dawn), BENCH_LENGTHS (default "32,128,512"),
// BENCH_STEPS (training steps timed, default 8), BENCH_TORCH=0 to skip PyTorch, BENCH_THREADS (wasm:
// `useBackend('wasm', { threads })`, e.g. 2) and BENCH_TFJS_THREADS (its `tfjsThreads`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';
import { beamSearch, greedy } from '@dl/decode';
import { GPT, Trainer } from '../dist/index.js';

const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm').split(',').filter(Boolean);
const lengths = (process.env.BENCH_LENGTHS ?? '32,128,512').split(',').map(Number);
const steps = Number(process.env.BENCH_STEPS ?? 8);
const CFG = { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 };
const BATCH = 12;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (v, d = 1) => (v >= 100 ? v.toFixed(0) : v.toFixed(d));

function torchStep() {
  if (process.env.BENCH_TORCH === '0') return { skipped: 'BENCH_TORCH=0' };
  const script = fileURLToPath(new URL('./torch_gpt_step.py', import.meta.url));
  if (!existsSync('/usr/bin/python3')) return { skipped: 'no /usr/bin/python3' };
  const r = spawnSync('/usr/bin/python3', [script, String(steps)], { encoding: 'utf8' });
  if (r.status !== 0) return { skipped: `PyTorch unavailable (${(r.stderr || '').trim().split('\n').at(-1)})` };
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

async function trainStep() {
  const gpt = new GPT({ ...CFG, seed: 0 });
  let s = 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % CFG.vocabSize;
  const batch = () => Array.from({ length: BATCH }, () => Array.from({ length: CFG.blockSize + 1 }, rnd));
  const trainer = new Trainer({ model: gpt, batch, loss: (b) => gpt.loss(b.map((r) => r.slice(0, -1)), b.map((r) => r.slice(1))), optimizer: { lr: 1e-3, weightDecay: 0.1, betas: [0.9, 0.99] }, clipGradNorm: 1 });
  await trainer.fit(2); // warm up kernels
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await trainer.fit(3 + i);
    times.push(performance.now() - t);
  }
  trainer.dispose();
  gpt.dispose();
  return median(times);
}

async function decodeRate(gpt, n, beams, useCache) {
  const { step, state } = gpt.decoding(1, { useCache });
  const t = performance.now();
  const opts = { state, maxNewTokens: n }; // no EOS: every run generates n tokens
  const r = beams === 1 ? await greedy(step, [[1]], opts) : await beamSearch(step, [[1]], { ...opts, numBeams: beams });
  const ms = performance.now() - t;
  state.dispose();
  const made = r.sequences[0][0].tokens.length;
  return (made * beams) / (ms / 1000);
}

const torch = torchStep();
const tokens = BATCH * CFG.blockSize;
console.log(`@dl/transformer bench — ${new Date().toISOString().slice(0, 10)}, ${steps} timed steps`);
console.log(`GPT ${CFG.nLayer} layers × ${CFG.nHead} heads × ${CFG.nEmbd}, context ${CFG.blockSize}, batch ${BATCH} (AdamW, clip 1)`);
console.log(torch.skipped ? `PyTorch: skipped (${torch.skipped})` : `PyTorch ${torch.torch} CPU (${torch.threads} threads${torch.blas ? `, ${torch.blas}` : ''}): ${fmt(torch.ms)} ms/step, ${fmt(tokens / (torch.ms / 1000), 0)} tokens/s`);
for (const name of backends) {
  const threads = name === 'wasm' && process.env.BENCH_THREADS ? Number(process.env.BENCH_THREADS) : undefined;
  const tfjsThreads = threads !== undefined && process.env.BENCH_TFJS_THREADS ? Number(process.env.BENCH_TFJS_THREADS) : undefined;
  const r = await useBackend(name, threads === undefined ? {} : tfjsThreads === undefined ? { threads } : { threads, tfjsThreads });
  if (r.name !== name) {
    console.log(`\n${name}: unavailable (${r.summary})`);
    continue;
  }
  console.log(`\n== ${r.summary.replace(/ \((?!tfjs).*\)$/, '')} ==`);
  const ms = await trainStep();
  const ratio = torch.ms ? ` (${fmt(ms / torch.ms)}× PyTorch's time)` : '';
  console.log(`training: ${fmt(ms)} ms/step, ${fmt(tokens / (ms / 1000), 0)} tokens/s${ratio}`);
  const gpt = new GPT({ ...CFG, blockSize: Math.max(...lengths) + 1, seed: 0 });
  gpt.eval();
  // Warm-up: the first calls compile kernels and size the caches' shapes.
  for (const beams of [1, 4]) for (const useCache of [true, false]) await decodeRate(gpt, 8, beams, useCache);
  console.log('| decoding | tokens | cached tok/s | uncached tok/s | cached ÷ uncached |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const beams of [1, 4]) {
    for (const n of lengths) {
      const cached = await decodeRate(gpt, n, beams, true);
      const uncached = await decodeRate(gpt, n, beams, false);
      console.log(`| ${beams === 1 ? 'greedy' : `beam ${beams}`} | ${n} | ${fmt(cached)} | ${fmt(uncached)} | ${fmt(cached / uncached)}× |`);
    }
  }
  gpt.dispose();
  console.log(`live tensors after the runs: ${tf.memory().numTensors}`);
}
process.exit(0);
