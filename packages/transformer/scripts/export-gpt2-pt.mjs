#!/usr/bin/env node
// Writes the GPT-2 of fixtures/gpt2.pt back in torch.save's format, through @dl: the PyTorch file is decoded
// (decodeTorchStateDict), loaded into a @dl GPT (fromGPT2StateDict), and saved again
// (encodeTorchStateDict(toGPT2StateDict(gpt))). Then PyTorch checks it:
//
//   pnpm --filter @dl/core build && pnpm --filter @dl/transformer build
//   node packages/transformer/scripts/export-gpt2-pt.mjs /tmp/ours.pt
//   /usr/bin/python3 packages/transformer/scripts/gpt2_torch_pt.py --verify /tmp/ours.pt
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { decodeTorchStateDict, encodeTorchStateDict } from '@dl/core';
import { GPT, fromGPT2StateDict, toGPT2StateDict } from '../dist/index.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node export-gpt2-pt.mjs OUT.pt');
  process.exit(2);
}
await tf.setBackend('cpu');
const fixtures = (name) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const { config: c } = JSON.parse(readFileSync(fixtures('gpt2.json'), 'utf8'));
const gpt = new GPT({ vocabSize: c.vocabSize, blockSize: c.nPositions, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, normEps: c.layerNormEps, activation: 'gelu_tanh', dropout: 0 });
const weights = decodeTorchStateDict(readFileSync(fixtures('gpt2.pt')));
fromGPT2StateDict(gpt, weights);
const dict = toGPT2StateDict(gpt);
const bytes = await encodeTorchStateDict(dict);
writeFileSync(out, bytes);
console.log(`${out}: ${bytes.length} bytes, ${dict.size} tensors (${[...dict.keys()].slice(0, 3).join(', ')}, …)`);
tf.dispose([...weights.values(), ...dict.values()]);
gpt.dispose();
