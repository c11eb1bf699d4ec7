#!/usr/bin/env node
// Steps to converge on sequence reversal with and without the guided-attention loss (Tachibana et al.
// 2018; `reverse: true`, since reversal reads the source backwards). Same model, seed, batches and
// optimizer for every run; the only difference is λ · guidedAttentionLoss(crossWeights) added to the
// cross-entropy. Every 10 steps, greedy decoding (KV cache) of 64 held-out sources is scored; a run has
// converged when 90 % of them are reversed exactly. Prints steps to converge and seconds. Asserts nothing.
// Usage: pnpm --filter @dl/transformer build && node bench/guided-reversal.mjs
// Env: BENCH_BACKENDS (default "wasm"), BENCH_MAX_STEPS (default 1500), BENCH_LAMBDAS (default "0,1,10"),
// BENCH_SEEDS (default "1,2,3").
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, Rng, useBackend } from '@dl/core';
import { greedy } from '@dl/decode';
import { AdamW } from '@dl/optim';
import { EncoderDecoder, guidedAttentionLoss } from '../dist/index.js';

const backends = (process.env.BENCH_BACKENDS ?? 'wasm').split(',').filter(Boolean);
const maxSteps = Number(process.env.BENCH_MAX_STEPS ?? 1500);
const lambdas = (process.env.BENCH_LAMBDAS ?? '0,1,10').split(',').map(Number);
const seeds = (process.env.BENCH_SEEDS ?? '1,2,3').split(',').map(Number);
const PAD = 0;
const BOS = 1;
const EOS = 2;

// Tokens 3–12, lengths 4–10.
const example = (rng) => Array.from({ length: 4 + Math.floor(rng.uniform() * 7) }, () => 3 + Math.floor(rng.uniform() * 10));
function batch(xs) {
  const L = Math.max(...xs.map((x) => x.length));
  const pad = (a, n) => [...a, ...Array(n - a.length).fill(PAD)];
  return {
    src: xs.map((x) => pad(x, L)),
    srcLengths: xs.map((x) => x.length),
    tgtIn: xs.map((x) => pad([BOS, ...[...x].reverse()], L + 1)),
    tgtOut: xs.map((x) => pad([...[...x].reverse(), EOS], L + 1)),
    tgtLengths: xs.map((x) => x.length + 1),
  };
}

async function accuracy(model, test) {
  model.eval();
  const { step, state } = model.decoding(test.src, { srcLengths: test.srcLengths });
  const out = await greedy(step, test.src.map(() => [BOS]), { state, eosTokenId: EOS, maxNewTokens: 11 });
  state.dispose();
  model.train();
  return out.sequences.filter((s, i) => s[0].tokens.join() === [...test.src[i].slice(0, test.srcLengths[i]).reverse(), EOS].join()).length / test.src.length;
}

async function run(lambda, seed, test) {
  const model = new EncoderDecoder({ srcVocabSize: 13, tgtVocabSize: 13, dModel: 32, nHeads: 2, dimFeedforward: 64, numEncoderLayers: 1, numDecoderLayers: 1, normFirst: true, dropout: 0, padId: PAD, seed });
  const opt = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 });
  const data = new Rng(100 + seed);
  const t0 = performance.now();
  let converged = null;
  let acc = 0;
  for (let s = 1; s <= maxSteps && converged === null; s++) {
    const b = batch(Array.from({ length: 32 }, () => example(data)));
    const loss = await opt.minimize(() => tf.tidy(() => {
      const out = model.forward(b.src, b.tgtIn, { srcLengths: b.srcLengths, tgtLengths: b.tgtLengths, returnWeights: lambda > 0 });
      let l = crossEntropy(out.logits, tf.tensor2d(b.tgtOut, undefined, 'int32'), { ignoreIndex: PAD });
      if (lambda > 0) l = tf.add(l, tf.mul(guidedAttentionLoss(out.crossWeights, { srcLengths: b.srcLengths, tgtLengths: b.tgtLengths, reverse: true }), lambda));
      tf.dispose([out.logits, ...(out.encoderWeights ?? []), ...(out.decoderWeights ?? []), ...(out.crossWeights ?? [])]);
      return l;
    }));
    loss.dispose();
    if (s % 10 === 0) {
      acc = await accuracy(model, test);
      if (acc >= 0.9) converged = s;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  opt.dispose();
  model.dispose();
  return { converged, acc, seconds };
}

for (const backend of backends) {
  await useBackend(backend);
  const held = new Rng(7);
  const test = batch(Array.from({ length: 64 }, () => example(held)));
  console.log(`\n${backend}: reversal (lengths 4–10, 10 tokens), batch 32, AdamW 1e-3; steps until 90 % of 64 held-out sources are reversed exactly (greedy)`);
  console.log('λ      seed  steps  seconds  final accuracy');
  for (const lambda of lambdas) {
    for (const seed of seeds) {
      const r = await run(lambda, seed, test);
      console.log(`${String(lambda).padEnd(6)} ${String(seed).padStart(4)} ${String(r.converged ?? `>${maxSteps}`).padStart(6)} ${r.seconds.toFixed(1).padStart(8)} ${(r.acc * 100).toFixed(1).padStart(8)} %`);
    }
  }
}
