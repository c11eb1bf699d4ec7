#!/usr/bin/env node
// Non-autoregressive (CMLM, mask-predict) vs autoregressive (greedy with the KV cache) decoding on one
// task: copy-or-reverse (each target is its source or the source reversed, at random; tokens 2–7,
// lengths 3–5), the task of test/cmlm.test.ts. Both models have the same encoder-decoder (width 16,
// 2 heads, 1 + 1 layers) and train for the same steps on the same batches; then both decode the same
// 64 held-out sources in one batch. Prints accuracy (a valid output is the source or its reversal;
// length accuracy for CMLM) and output tokens per second (medians over alternating rounds, so load on
// a shared machine hits every decoder alike). Asserts nothing.
// Usage: pnpm --filter @dl/transformer build && node bench/nar-vs-ar.mjs
// Env: BENCH_BACKENDS (default "cpu,wasm"), BENCH_STEPS (training steps, default 300), BENCH_ROUNDS (default 5).
import * as tf from '@tensorflow/tfjs-core';
import { Rng, useBackend } from '@dl/core';
import { greedy } from '@dl/decode';
import { AdamW } from '@dl/optim';
import { CMLM, EncoderDecoder } from '../dist/index.js';

const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm').split(',').filter(Boolean);
const steps = Number(process.env.BENCH_STEPS ?? 300);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const PAD = 0;
const MASK = 1; // CMLM's [MASK]; the AR model uses id 1 as BOS
const BOS = 1;
const EOS = 8;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const example = (rng) => Array.from({ length: 3 + Math.floor(rng.uniform() * 3) }, () => 2 + Math.floor(rng.uniform() * 6));
function batch(xs, modes) {
  const L = Math.max(...xs.map((x) => x.length));
  const pad = (a, n) => [...a, ...Array(n - a.length).fill(PAD)];
  const tgt = xs.map((x) => (modes.uniform() < 0.5 ? [...x] : [...x].reverse()));
  return {
    src: xs.map((x) => pad(x, L)),
    lengths: xs.map((x) => x.length),
    tgt: tgt.map((t) => pad(t, L)), // CMLM
    tgtIn: tgt.map((t) => pad([BOS, ...t], L + 1)), // AR
    tgtOut: tgt.map((t) => pad([...t, EOS], L + 1)),
  };
}
const valid = (seq, src) => seq.join() === src.join() || seq.join() === [...src].reverse().join();

async function run(backend) {
  await useBackend(backend);
  const arch = { srcVocabSize: 8, dModel: 16, nHeads: 2, dimFeedforward: 32, numEncoderLayers: 1, numDecoderLayers: 1, normFirst: true, dropout: 0, padId: PAD, seed: 1 };
  const cmlm = new CMLM(new EncoderDecoder({ ...arch, tgtVocabSize: 8 }), { maskId: MASK, maxTargetLength: 8, lengthLossWeight: 1, seed: 2 });
  const ar = new EncoderDecoder({ ...arch, tgtVocabSize: 9 });
  const optN = new AdamW(cmlm.parameters(), { lr: 5e-3, weightDecay: 0 });
  const optA = new AdamW(ar.parameters(), { lr: 5e-3, weightDecay: 0 });
  const data = new Rng(5);
  const modes = new Rng(9);
  let trainN = 0;
  let trainA = 0;
  for (let s = 0; s < steps; s++) {
    const b = batch(Array.from({ length: 16 }, () => example(data)), modes);
    let t0 = performance.now();
    (await optN.minimize(() => cmlm.loss(b.src, b.tgt))).dispose();
    trainN += performance.now() - t0;
    t0 = performance.now();
    (await optA.minimize(() => ar.loss(b.src, b.tgtIn, b.tgtOut))).dispose();
    trainA += performance.now() - t0;
  }
  cmlm.eval();
  ar.eval();
  const held = new Rng(77);
  const test = batch(Array.from({ length: 64 }, () => example(held)), held);
  const sources = test.src.map((s, i) => s.slice(0, test.lengths[i]));
  const decoders = {
    'AR greedy (KV cache)': async () => {
      const { step, state } = ar.decoding(test.src);
      const out = await greedy(step, test.src.map(() => [BOS]), { state, eosTokenId: EOS, maxNewTokens: 7 });
      state.dispose();
      return out.sequences.map((s) => s[0].tokens.filter((t) => t !== EOS));
    },
  };
  for (const [T, k] of [[1, 1], [4, 1], [10, 1], [10, 3]]) {
    decoders[`CMLM T=${T}, ${k} length${k > 1 ? 's' : ''}`] = async () => (await cmlm.generate(test.src, { iterations: T, lengthCandidates: k })).sequences;
  }
  const times = Object.fromEntries(Object.keys(decoders).map((k) => [k, []]));
  const results = {};
  for (const f of Object.values(decoders)) await f(); // warm up kernels
  for (let r = 0; r < rounds; r++) {
    for (const [name, f] of Object.entries(decoders)) {
      const t0 = performance.now();
      results[name] = await f();
      times[name].push(performance.now() - t0);
    }
  }
  console.log(`\n${backend}: ${steps} training steps of batch 16 (CMLM ${(trainN / 1000).toFixed(1)} s, AR ${(trainA / 1000).toFixed(1)} s), 64 held-out sources decoded in one batch, median of ${rounds}`);
  console.log('decoder                       valid  length   ms/batch   tokens/s   vs AR');
  const arRate = (() => {
    const toks = results['AR greedy (KV cache)'].reduce((n, s) => n + s.length, 0);
    return toks / (median(times['AR greedy (KV cache)']) / 1000);
  })();
  for (const name of Object.keys(decoders)) {
    const seqs = results[name];
    const ok = seqs.filter((s, i) => valid(s, sources[i])).length / seqs.length;
    const len = seqs.filter((s, i) => s.length === sources[i].length).length / seqs.length;
    const toks = seqs.reduce((n, s) => n + s.length, 0);
    const ms = median(times[name]);
    const rate = toks / (ms / 1000);
    console.log(`${name.padEnd(28)} ${(ok * 100).toFixed(1).padStart(5)} % ${(len * 100).toFixed(0).padStart(4)} % ${ms.toFixed(1).padStart(9)} ${rate.toFixed(0).padStart(10)} ${(rate / arRate).toFixed(2).padStart(6)}×`);
  }
  optN.dispose();
  optA.dispose();
  cmlm.dispose();
  ar.dispose();
  if (tf.memory().numTensors > 0) console.log(`(${tf.memory().numTensors} tensors still alive)`);
}

for (const b of backends) await run(b);
