// A GPT-2-shaped model saved by PyTorch (HF names, Conv1D layout) loads, reproduces its logits, loss and
// gradients, and saves back in the same names and layout.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { crossEntropy, decodeSafetensors, encodeSafetensors } from '@dl/core';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import { fromGPT2StateDict, GPT, toGPT2StateDict } from '../src/index.js';
import { fixture, fixturePath, modelTolerance, type FixtureTensor } from './helpers.js';

interface GPT2Fixture {
  config: { vocabSize: number; nPositions: number; nEmbd: number; nHead: number; nLayer: number; layerNormEps: number };
  tokens: FixtureTensor;
  logits: FixtureTensor;
  loss: number;
  grads: Record<string, FixtureTensor>;
  full: { tokens: FixtureTensor; logits: FixtureTensor; loss: number };
}
const F = fixture<GPT2Fixture>('gpt2.json');

function load(): { gpt: GPT; weights: Map<string, tf.Tensor> } {
  const c = F.config;
  const gpt = new GPT({ vocabSize: c.vocabSize, blockSize: c.nPositions, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, normEps: c.layerNormEps, activation: 'gelu_tanh', dropout: 0 });
  const weights = decodeSafetensors(readFileSync(fixturePath('gpt2.safetensors'))).tensors;
  fromGPT2StateDict(gpt, weights);
  return { gpt, weights };
}

const rows = (t: FixtureTensor) => Array.from({ length: t.shape[0] }, (_, b) => t.data.slice(b * t.shape[1], (b + 1) * t.shape[1]));

describe('GPT-2 weights from PyTorch', () => {
  it('reproduce the logits and the loss (batch 2 × 12 and the full 16-token context)', async () => {
    await assertNoLeaks(async () => {
      const { gpt, weights } = load();
      for (const { tokens, logits, loss } of [F, F.full]) {
        const ids = rows(tokens);
        const out = gpt.forward(ids).logits;
        await assertClose(out, logits.data, modelTolerance(), 'logits', logits.shape);
        const l = gpt.loss(ids.map((r) => r.slice(0, -1)), ids.map((r) => r.slice(1)));
        await assertClose(l, [loss], modelTolerance(), 'loss');
        tf.dispose([out, l]);
      }
      gpt.dispose();
      tf.dispose([...weights.values()]);
    });
  });

  it('give PyTorch\'s gradients (Conv1D weights transposed)', async () => {
    await assertNoLeaks(async () => {
      const { gpt, weights } = load();
      const ids = rows(F.tokens);
      const named = new Map(gpt.namedParameters());
      const { value, grads } = tf.variableGrads(() => gpt.loss(ids.map((r) => r.slice(0, -1)), ids.map((r) => r.slice(1))));
      for (const [name, want] of Object.entries(F.grads)) {
        const p = named.get(name)!;
        const g = name.endsWith('c_attn.weight') ? tf.transpose(grads[p.name]) : tf.clone(grads[p.name]);
        await assertClose(g, want.data, modelTolerance(), `d/d${name}`, want.shape);
        g.dispose();
      }
      tf.dispose([value, ...Object.values(grads), ...weights.values()]);
      gpt.dispose();
    });
  });

  it('save back under the same names, shapes and values', async () => {
    await assertNoLeaks(async () => {
      const { gpt, weights } = load();
      const dict = toGPT2StateDict(gpt);
      expect([...dict.keys()].sort()).toEqual([...weights.keys()].sort());
      for (const [name, t] of dict) {
        expect(t.shape, name).toEqual(weights.get(name)!.shape);
        await assertClose(t, await weights.get(name)!.data(), { atol: 0, rtol: 0 }, name);
      }
      // Through safetensors bytes and into a fresh model: the same logits.
      const bytes = await encodeSafetensors(dict);
      const again = decodeSafetensors(bytes).tensors;
      const other = new GPT({ vocabSize: 50, blockSize: 16, nLayer: 2, nHead: 4, nEmbd: 32, activation: 'gelu_tanh', dropout: 0, seed: 9 });
      fromGPT2StateDict(other, again);
      const a = gpt.forward(rows(F.tokens)).logits;
      const b = other.forward(rows(F.tokens)).logits;
      await assertClose(a, await b.data(), { atol: 0, rtol: 0 }, 'round trip');
      tf.dispose([a, b, ...dict.values(), ...again.values(), ...weights.values()]);
      gpt.dispose();
      other.dispose();
    });
  });

  it('a failed load leaves the model unchanged', async () => {
    await assertNoLeaks(async () => {
      const { gpt, weights } = load();
      const before = await gpt.wte.weight.data();
      const broken = new Map(weights);
      broken.delete('transformer.h.1.ln_2.bias');
      expect(() => fromGPT2StateDict(gpt, broken)).toThrow(/missing \[transformer\.h\.1\.ln_2\.bias\]/);
      const wrong = new Map(weights);
      const bad = tf.zeros([3, 3]);
      wrong.set('transformer.h.0.attn.c_proj.weight', bad);
      expect(() => fromGPT2StateDict(gpt, wrong)).toThrow(/'transformer\.h\.0\.attn\.c_proj\.weight' must be of shape \[32,32\]/);
      await assertClose(gpt.wte.weight, before, { atol: 0, rtol: 0 }, 'unchanged');
      tf.dispose([bad, ...weights.values()]);
      gpt.dispose();
    });
  });

  it('uses crossEntropy the way nanoGPT does (mean over positions)', async () => {
    await assertNoLeaks(async () => {
      const { gpt, weights } = load();
      const ids = rows(F.full.tokens);
      const { logits } = gpt.forward(ids);
      const manual = tf.tidy(() => crossEntropy(tf.slice(logits, [0, 0, 0], [1, 15, -1]), tf.tensor2d([ids[0].slice(1)], [1, 15], 'int32')));
      await assertClose(manual, [F.full.loss], modelTolerance(), 'loss');
      tf.dispose([logits, manual, ...weights.values()]);
      gpt.dispose();
    });
  });
});
