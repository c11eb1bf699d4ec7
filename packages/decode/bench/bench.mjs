// Per-token cost of each decoding strategy on a fixed step function of realistic cost: a small MLP
// language model over a 32k vocabulary (Embedding 32000×64 → Linear 64→256 → ReLU → Linear 256→32000,
// ≈ 8.2 M multiply-adds per row). Compares greedy, beam search (4 and 8, all beams batched in one step
// call), beam 4 unbatched (one step call per beam), and sampling (temperature + top-k + top-p).
// Usage: pnpm build && pnpm bench. Backends: DL_BENCH_BACKENDS (default cpu,wasm). webgpu is opt-in: on
// SwiftShader (no GPU) one 32k-wide matmul takes ~11 s, so its run takes many minutes and measures nothing useful.
import * as tf from '@tensorflow/tfjs-core';
import { Embedding, Linear, manualSeed, useBackend } from '@dl/core';
import { beamSearch, greedy, sample } from '../dist/index.js';

const backends = (process.env.DL_BENCH_BACKENDS ?? 'cpu,wasm').split(',');
const VOCAB = 32000;
const started = Date.now();

function buildModel() {
  manualSeed(0);
  const emb = new Embedding(VOCAB, 64);
  const fc1 = new Linear(64, 256);
  const out = new Linear(256, VOCAB);
  // Weights stored [in, out] for inference: tfjs's matMul with transposeB (what Linear.forward does) is
  // ~8× slower on wasm for a 32k-wide output, which would make the bench measure that instead.
  const w1 = tf.transpose(fc1.weight); // [64, 256]
  const w2 = tf.transpose(out.weight); // [256, 32000]
  /** @type {import('../dist/index.js').StepFn<null>} */
  const step = (tokens) => ({
    logits: tf.tidy(() => {
      const last = tf.tensor1d(tokens.map((t) => t[t.length - 1]), 'int32'); // [rows]
      const h = tf.relu(tf.add(tf.matMul(emb.forward(last), w1), fc1.bias)); // [rows, 256]
      return tf.add(tf.matMul(h, w2), out.bias); // [rows, 32000]
    }),
    state: null,
  });
  /** The same model, one step call per row (what decoding beams without batching costs). */
  const unbatched = async (tokens, state, info) => {
    const parts = [];
    for (let r = 0; r < tokens.length; r++) parts.push(step([tokens[r]], state, info).logits);
    const logits = tf.concat(parts, 0); // [rows, 32000]
    tf.dispose(parts);
    return { logits, state };
  };
  return { step, unbatched, dispose: () => (tf.dispose([w1, w2]), [emb, fc1, out].forEach((m) => m.dispose())) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function time(fn, tokens, reps) {
  await fn(); // warm-up (kernels, shader compilation)
  const perToken = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const r = await fn();
    const ms = performance.now() - t0;
    const generated = r.sequences[0][0].tokens.length;
    if (generated !== tokens) throw new Error(`expected ${tokens} tokens, got ${generated}`);
    perToken.push(ms / generated);
  }
  return median(perToken);
}

const rows = [];
for (const name of backends) {
  if (name === 'webgpu') {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
  }
  let report;
  try {
    report = await useBackend(name);
  } catch (e) {
    console.log(`${name}: unavailable (${e.message.split('\n')[0]})`);
    continue;
  }
  const N = name === 'webgpu' ? 2 : 16; // generated tokens per run
  const reps = name === 'webgpu' ? 1 : 3;
  const m = buildModel();
  const prompt = [[17]];
  const base = { maxNewTokens: N }; // no EOS: every run generates exactly N tokens
  const results = {
    greedy: await time(() => greedy(m.step, prompt, base), N, reps),
    'beam 4': await time(() => beamSearch(m.step, prompt, { ...base, numBeams: 4 }), N, reps),
    'beam 8': await time(() => beamSearch(m.step, prompt, { ...base, numBeams: 8 }), N, reps),
    'beam 4 unbatched': await time(() => beamSearch(m.unbatched, prompt, { ...base, numBeams: 4 }), N, reps),
    'sample (T 0.8, top-k 50, top-p 0.9)': await time(() => sample(m.step, prompt, { ...base, temperature: 0.8, topK: 50, topP: 0.9, seed: 1 }), N, reps),
  };
  m.dispose();
  const g = results.greedy;
  for (const [strategy, ms] of Object.entries(results)) rows.push({ backend: report.name, strategy, ms, ratio: ms / g });
  console.log(`${report.name}: done (${((Date.now() - started) / 1000).toFixed(0)} s so far)`);
}

console.log(`\n@dl/decode bench, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, vocabulary ${VOCAB}, MLP step (≈ 8.2 M MACs per row)`);
console.log('| backend | strategy | ms / generated token (median) | × greedy |');
console.log('|---|---|---:|---:|');
for (const r of rows) console.log(`| ${r.backend} | ${r.strategy} | ${r.ms.toFixed(2)} | ${r.ratio.toFixed(2)} |`);
for (const b of new Set(rows.map((r) => r.backend))) {
  const get = (s) => rows.find((r) => r.backend === b && r.strategy === s).ms;
  const ratio = get('beam 4') / get('greedy');
  console.log(`${b}: beam 4 / greedy = ${ratio.toFixed(2)} (target ≤ 2: ${ratio <= 2 ? 'met' : 'MISSED'}); batching speeds beam 4 up ${(get('beam 4 unbatched') / get('beam 4')).toFixed(2)}×`);
}
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);
