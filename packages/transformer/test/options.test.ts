// The model options the package promises, each shown to take effect: the four dropouts (embedding,
// attention, residual, feed-forward), biases on/off, the final norm, RMSNorm and multi-query heads; and
// the label-smoothed loss that ignores padding.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { EncoderDecoder, GPT, type GPTConfig } from '../src/index.js';

const base: GPTConfig = { vocabSize: 11, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, dropout: 0, seed: 1 };
const ids = [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]];

async function logits(gpt: GPT): Promise<number[]> {
  const { logits: l } = gpt.forward(ids);
  const v = Array.from(await l.data());
  l.dispose();
  return v;
}

describe('dropouts', () => {
  const kinds = ['embeddingDropout', 'attentionDropout', 'residualDropout', 'ffDropout'] as const;
  it.each(kinds)('%s alone changes the training forward pass and nothing in evaluation', async (kind) => {
    await assertNoLeaks(async () => {
      const gpt = new GPT({ ...base, [kind]: 0.5 });
      expect(gpt.config[kind]).toBe(0.5);
      for (const other of kinds.filter((k) => k !== kind)) expect(gpt.config[other], other).toBe(0);
      const plain = new GPT(base); // the same weights (same seed), no dropout anywhere
      gpt.eval();
      plain.eval();
      expect(await logits(gpt)).toEqual(await logits(plain));
      gpt.train();
      expect(await logits(gpt)).not.toEqual(await logits(plain));
      [gpt, plain].forEach((m) => m.dispose());
    });
  });

  it('dropout sets every kind, and each kind overrides it', () => {
    const ed = new EncoderDecoder({ srcVocabSize: 5, tgtVocabSize: 5, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0.2, ffDropout: 0.3 });
    const c = ed.transformer.encoder.config;
    expect([c.attentionDropout, c.residualDropout, c.ffDropout]).toEqual([0.2, 0.2, 0.3]);
    ed.dispose();
  });
});

describe('structure options', () => {
  it('bias: false removes every bias (linear layers and LayerNorms); finalNorm: false removes ln_f', async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT({ ...base, bias: false, finalNorm: false });
      const names = gpt.namedParameters().map(([n]) => n);
      expect(names.filter((n) => n.endsWith('.bias'))).toEqual([]);
      expect(names.some((n) => n.startsWith('transformer.ln_f'))).toBe(false);
      const withBias = new GPT(base);
      expect(withBias.namedParameters().some(([n]) => n === 'transformer.ln_f.bias')).toBe(true);
      expect(await logits(gpt)).toHaveLength(2 * 6 * 11);
      [gpt, withBias].forEach((m) => m.dispose());
    });
  });

  it("norm: 'rmsnorm' has a scale and no shift; nKVHead 1 (multi-query) shrinks the fused projection to (H + 2)·hd rows", async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT({ ...base, norm: 'rmsnorm', nHead: 4, nKVHead: 1 });
      const p = new Map(gpt.namedParameters());
      expect(p.has('transformer.h.0.ln_1.weight')).toBe(true);
      expect(p.has('transformer.h.0.ln_1.bias')).toBe(false);
      expect(p.get('transformer.h.0.attn.c_attn.weight')!.shape).toEqual([(4 + 2) * 4, 16]);
      expect(await logits(gpt)).toHaveLength(2 * 6 * 11);
      gpt.dispose();
    });
  });
});

describe('teacher-forced loss', () => {
  it('EncoderDecoder.loss is label-smoothed cross-entropy over the real target tokens only (padId ignored)', async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 9, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 3 });
      const src = [[3, 4, 5]];
      const loss = model.loss(src, [[1, 5, 6, 0]], [[5, 6, 2, 0]], { labelSmoothing: 0.1 });
      // The same from the logits of the three real positions (padding is last, and self-attention is causal).
      const want = tf.tidy(() => {
        const { logits } = model.forward(src, [[1, 5, 6]]);
        return crossEntropy(logits, tf.tensor2d([[5, 6, 2]], [1, 3], 'int32'), { labelSmoothing: 0.1 });
      });
      await assertClose(loss, await want.data(), backendTolerance(), 'loss');
      tf.dispose([loss, want]);
      model.dispose();
    });
  });
});
