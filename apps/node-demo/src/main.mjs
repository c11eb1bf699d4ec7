#!/usr/bin/env node
// The @dl demos. `node src/main.mjs [part …] [--backend=auto|webgpu|wasm|cpu|tensorflow] [--quick] [--epochs=N] [--only=…]`;
// `--help` lists the parts and options.
// Parts: mlp (default: MNIST MLP from @dl/core), optim, attention, cnn, decode, transformer, all.
import { existsSync } from 'node:fs';
import { useBackend } from '@dl/core';
import { DEFAULT_SAVE_DIR } from './lib/save.mjs';

const PARTS = ['mlp', 'optim', 'attention', 'cnn', 'decode', 'transformer'];
const HELP = `Usage: node src/main.mjs [part …] [options]

Parts (default: mlp; 'all' runs every part):
  mlp          an MLP from @dl/core learns MNIST digits (held-out accuracy, throughput)
  optim        @dl/optim: an MLP separates two spirals with AdamW and a warmup + cosine schedule
  attention    @dl/attention: time and peak memory of every attention variant, heatmaps of their patterns
  cnn          @dl/cnn: LeNet-5 on MNIST, FCN-8s segmentation, YOLOv1 detection (--only=lenet,fcn,yolo)
  decode       @dl/decode: greedy, beam search, sampling, streaming and copying on a toy language model
  transformer  @dl/transformer (--only=g2p,g2p-lstm,g2p-ensemble,copy,charlm):
                 g2p       grapheme-to-phoneme on CMUdict, encoder-decoder Transformer + beam search
                 g2p-lstm  the same task with an LSTM (or GRU: --cell=gru) encoder-decoder and additive attention
                 g2p-ensemble  the two decoding together (beam search over averaged probabilities)
                 copy      copying sentences with unseen names: pointer-generator vs a plain model
                 charlm    a character-level GPT on Moby Dick beside PyTorch (samples with top-p)

Options:
  --backend=auto|webgpu|wasm|cpu|tensorflow   where to run (auto picks the fastest available)
  --quick          the short runs CI uses (seconds to a minute per part)
  --epochs=N       override the number of epochs of the long runs
  --only=a,b       pick sub-runs of a part
  --save[=dir]     write the trained models (LeNet, G2P, char GPT) as safetensors with their
                   configuration, for apps/web or your own code (default dir: out/checkpoints/)
  --init-from=f    g2p, g2p-lstm: start from the weights of a model file the run wrote (e.g. apps/web/
                   public/models/g2p-transformer.safetensors, .runs/g2p-lstm/g2p-lstm.safetensors) and
                   keep training them at half the peak rate (checkpoints in .runs/g2p[-lstm]-continued)
  --seed=N         g2p, g2p-lstm: seed of the initialisation and batch order (default 1); another seed
                   trains another ensemble member, checkpointed in .runs/g2p[-lstm]-seedN
  --cell=lstm|gru  g2p-lstm: the recurrence of the encoder and decoder (default lstm); gru trains in
                   .runs/g2p-gru[-seedN], another kind of ensemble member
  --members=a,b    g2p-ensemble: the model files to combine (default: the two shipped models,
                   apps/web/public/models/g2p-transformer.safetensors and apps/node-demo/models/
                   g2p-lstm.safetensors; with --quick, the quick runs' models)
  --weights=1,1    g2p-ensemble: one weight per member (default equal)
  --stored-member-scores  g2p-ensemble (full runs): decode only the ensemble; each member's held-out
                   figures are the ones its run stored in its file
  --help           this text

Long runs checkpoint to apps/node-demo/.runs/ and resume where they stopped; figures and plots (PNG)
go to apps/node-demo/out/<part>/.`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const flag = (name, fallback) => {
  const a = args.find((s) => s.startsWith(`--${name}=`) || s === `--${name}`);
  if (!a) return fallback;
  return a.includes('=') ? a.split('=')[1] : true;
};
let parts = args.filter((a) => !a.startsWith('--'));
if (parts.length === 0) parts = ['mlp'];
if (parts.includes('all')) parts = PARTS;
for (const p of parts) {
  if (!PARTS.includes(p)) {
    console.error(`unknown part '${p}': expected one of ${PARTS.join(', ')}, all`);
    process.exit(2);
  }
}

const backend = await useBackend(flag('backend', 'auto'));
console.log(`backend: ${backend.summary}`);
if (backend.fallbackKernels.length) console.log(`  (${backend.fallbackKernels.length} kernels this backend lacks run on cpu: ${backend.fallbackKernels.slice(0, 4).join(', ')}…)`);

const options = {
  quick: Boolean(flag('quick', false)),
  epochs: flag('epochs') ? Number(flag('epochs')) : undefined,
  only: flag('only') ? String(flag('only')).split(',') : undefined,
  save: flag('save') === true ? DEFAULT_SAVE_DIR : flag('save'),
  initFrom: typeof flag('init-from') === 'string' ? flag('init-from') : undefined,
  members: typeof flag('members') === 'string' ? flag('members').split(',') : undefined,
  weights: typeof flag('weights') === 'string' ? flag('weights').split(',').map(Number) : undefined,
  seed: typeof flag('seed') === 'string' ? Number(flag('seed')) : undefined,
  cell: typeof flag('cell') === 'string' ? flag('cell') : undefined,
  storedMemberScores: Boolean(flag('stored-member-scores', false)),
};
if (options.seed !== undefined && !(Number.isInteger(options.seed) && options.seed >= 0)) {
  console.error(`--seed must be a non-negative integer, got '${flag('seed')}'`);
  process.exit(2);
}
if (options.cell !== undefined && !['lstm', 'gru'].includes(options.cell)) {
  console.error(`--cell must be lstm or gru, got '${flag('cell')}'`);
  process.exit(2);
}
for (const part of parts) {
  const file = new URL(`./parts/${part}.mjs`, import.meta.url);
  if (!existsSync(file)) {
    console.error(`part '${part}' is not available in this checkout`);
    process.exitCode = 1;
    continue;
  }
  console.log(`\n── ${part} ──`);
  const { run } = await import(file.href);
  await run(options);
}
// Dawn (webgpu) keeps the event loop alive; leave explicitly once the demos are done.
process.exit(process.exitCode ?? 0);
