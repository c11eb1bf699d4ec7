// The GPT-2 of gpt2.test.ts, but as PyTorch's torch.save(model.state_dict()) wrote it (fixtures/gpt2.pt, from
// scripts/gpt2_torch_pt.py: an nn.Module with HF's names, Conv1D layout, lm_head tied to wte so both share
// one storage, bool attn.bias mask buffers). It loads, reproduces PyTorch's logits, and saves back in
// torch.save's format under the same names (PyTorch reading that file is checked by the script's --verify).
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, decodeTorchStateDict, encodeTorchStateDict } from '@dl/core';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import { fromGPT2StateDict, GPT, toGPT2StateDict } from '../src/index.js';
import { fixture, fixturePath, modelTolerance, type FixtureTensor } from './helpers.js';

const F = fixture<{ config: { vocabSize: number; nPositions: number; nEmbd: number; nHead: number; nLayer: number; layerNormEps: number }; tokens: FixtureTensor; logits: FixtureTensor; full: { tokens: FixtureTensor; logits: FixtureTensor } }>('gpt2.json');
const rows = (t: FixtureTensor) => Array.from({ length: t.shape[0] }, (_, b) => t.data.slice(b * t.shape[1], (b + 1) * t.shape[1]));
const newGPT = (seed?: number) => {
  const c = F.config;
  return new GPT({ vocabSize: c.vocabSize, blockSize: c.nPositions, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd, normEps: c.layerNormEps, activation: 'gelu_tanh', dropout: 0, seed });
};
const isMask = (name: string) => /\.attn\.bias$/.test(name);

describe('GPT-2 weights in torch.save format', () => {
  it('a state_dict saved by PyTorch loads and reproduces its logits (batch 2 × 12 and the full context)', async () => {
    await assertNoLeaks(async () => {
      const weights = decodeTorchStateDict(readFileSync(fixturePath('gpt2.pt')));
      // PyTorch's names, tied lm_head included; the causal masks are bool buffers.
      expect(weights.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([32, 96]);
      expect(weights.get('transformer.h.1.attn.bias')!.dtype).toBe('bool');
      await assertClose(weights.get('lm_head.weight')!, await weights.get('transformer.wte.weight')!.data(), { atol: 0, rtol: 0 }, 'tied');
      const gpt = newGPT();
      fromGPT2StateDict(gpt, weights);
      for (const { tokens, logits } of [F, F.full]) {
        const out = gpt.forward(rows(tokens)).logits;
        await assertClose(out, logits.data, modelTolerance(), 'logits', logits.shape);
        out.dispose();
      }
      // The same weights as the safetensors fixture, bit for bit.
      const safe = decodeSafetensors(readFileSync(fixturePath('gpt2.safetensors'))).tensors;
      for (const [name, t] of safe) await assertClose(weights.get(name)!, await t.data(), { atol: 0, rtol: 0 }, name);
      tf.dispose([...weights.values(), ...safe.values()]);
      gpt.dispose();
    });
  });

  it('saves back under PyTorch\'s names; encode → decode gives the same values and logits', async () => {
    await assertNoLeaks(async () => {
      const weights = decodeTorchStateDict(readFileSync(fixturePath('gpt2.pt')));
      const gpt = newGPT();
      fromGPT2StateDict(gpt, weights);
      const dict = toGPT2StateDict(gpt);
      const again = decodeTorchStateDict(await encodeTorchStateDict(dict));
      expect([...again.keys()].sort()).toEqual([...weights.keys()].filter((n) => !isMask(n)).sort());
      for (const [name, t] of again) {
        expect(t.shape, name).toEqual(weights.get(name)!.shape);
        await assertClose(t, await weights.get(name)!.data(), { atol: 0, rtol: 0 }, name);
      }
      const other = newGPT(9);
      fromGPT2StateDict(other, again);
      const a = gpt.forward(rows(F.tokens)).logits;
      const b = other.forward(rows(F.tokens)).logits;
      await assertClose(a, await b.data(), { atol: 0, rtol: 0 }, 'round trip');
      tf.dispose([a, b, ...dict.values(), ...again.values(), ...weights.values()]);
      gpt.dispose();
      other.dispose();
    });
  });
});
