// Every @dl/attention variant, chosen per layer and per head, builds a model that trains: gradients reach
// every parameter and are finite, and a few AdamW updates lower the loss.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type Module } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { EncoderDecoder, GPT, Trainer, type AttentionSpec } from '../src/index.js';
import { randomIds } from './helpers.js';

const L = 8;
// Causal variants (usable in a GPT) and the bidirectional-only Linformer (Wang et al. 2020).
const CAUSAL: [string, AttentionSpec][] = [
  ['full', 'full'],
  ['local window', { kind: 'local', lookBack: 2 }],
  ['strided', { kind: 'strided', stride: 2, lookBack: 2 }],
  ['global tokens', { kind: 'global', count: 1, local: { lookBack: 1, lookForward: 1 } }],
  ['LSH clusters', { kind: 'lsh', nBuckets: 2, chunkSize: 4, seed: 1 }],
  ['k-means clusters', { kind: 'kmeans', nClusters: 2, chunkSize: 4 }],
  ['linear elu+1', { kind: 'linear', featureMap: 'elu' }],
  ['linear FAVOR+', { kind: 'linear', featureMap: 'favor', nFeatures: 16 }],
];

// Each test trains a few steps: a loaded machine may take far longer than a quiet one (nothing here times anything).
const TIMEOUT = 120_000;
const seqs = randomIds(2, L + 1, 0, 9, 17);
const lmLoss = (gpt: GPT) => () => gpt.loss(seqs.map((r) => r.slice(0, -1)), seqs.map((r) => r.slice(1)));

/** Gradient of `loss` for every trainable parameter: each present and finite; returns the squared norms by name. */
async function gradNorms(model: Module, loss: () => tf.Scalar): Promise<Map<string, number>> {
  const named = model.namedParameters();
  const { value, grads } = tf.variableGrads(loss, named.map(([, p]) => p));
  const norms = new Map<string, number>();
  try {
    expect(Number.isFinite((await value.data())[0])).toBe(true);
    for (const [name, p] of named) {
      const g = grads[p.name];
      expect(g, `gradient of ${name}`).toBeDefined();
      const values = Array.from(await g.data());
      expect(values.every(Number.isFinite), `finite gradient of ${name}`).toBe(true);
      norms.set(name, values.reduce((s, v) => s + v * v, 0));
    }
  } finally {
    value.dispose();
    tf.dispose(Object.values(grads));
  }
  return norms;
}

/** Three AdamW updates on one batch; returns the losses. */
async function train(model: Module, loss: () => tf.Scalar, steps = 3): Promise<number[]> {
  const trainer = new Trainer({ model, batch: () => null, loss, optimizer: { lr: 1e-2 } });
  try {
    return (await trainer.fit(steps)).losses;
  } finally {
    trainer.dispose();
  }
}

describe('attention per layer: local in the lower layers, full in the top two', () => {
  it('a 4-layer GPT builds with the right cache kinds and learns', async () => {
    await assertNoLeaks(async () => {
      const local: AttentionSpec = { kind: 'local', lookBack: 2 };
      const gpt = new GPT({ vocabSize: 9, blockSize: L, nLayer: 4, nHead: 2, nEmbd: 16, layerAttention: [local, local, 'full', 'full'], seed: 2 });
      expect(gpt.transformer.cacheKinds.map((c) => c.kind)).toEqual(['window', 'window', 'kv', 'kv']);
      const norms = await gradNorms(gpt, lmLoss(gpt));
      for (let i = 0; i < 4; i++) expect(norms.get(`transformer.h.${i}.attn.c_attn.weight`)!).toBeGreaterThan(0);
      const losses = await train(gpt, lmLoss(gpt));
      expect(losses[2]).toBeLessThan(losses[0]);
      gpt.dispose();
    });
  }, TIMEOUT);
});

describe('every attention kind in a GPT (layer 0; full above): finite gradients everywhere, and it learns', () => {
  for (const [name, spec] of CAUSAL) {
    it(name, async () => {
      await assertNoLeaks(async () => {
        const gpt = new GPT({ vocabSize: 9, blockSize: L, nLayer: 2, nHead: 2, nEmbd: 16, layerAttention: [spec, 'full'], seed: 3 });
        const norms = await gradNorms(gpt, lmLoss(gpt));
        expect(norms.get('transformer.h.0.attn.c_attn.weight')!).toBeGreaterThan(0);
        const losses = await train(gpt, lmLoss(gpt));
        expect(losses[2]).toBeLessThan(losses[0]);
        gpt.dispose();
      });
    }, TIMEOUT);
  }
});

describe('attention per head', () => {
  it('four heads of four kinds (full, local, strided, linear) in one layer train', async () => {
    await assertNoLeaks(async () => {
      const heads: AttentionSpec[] = ['full', { kind: 'local', lookBack: 1 }, { kind: 'strided', stride: 2, lookBack: 2 }, { kind: 'linear' }];
      const gpt = new GPT({ vocabSize: 9, blockSize: L, nLayer: 2, nHead: 4, nEmbd: 16, layerAttention: [heads, 'full'], seed: 4 });
      expect(gpt.transformer.cacheKinds[0].kind).toBe('none'); // strided and linear heads cannot share a KV cache
      const norms = await gradNorms(gpt, lmLoss(gpt));
      expect(norms.get('transformer.h.0.attn.c_attn.weight')!).toBeGreaterThan(0);
      const losses = await train(gpt, lmLoss(gpt));
      expect(losses[2]).toBeLessThan(losses[0]);
      gpt.dispose();
    });
  }, TIMEOUT);
});

describe('bidirectional-only kinds in an encoder-decoder', () => {
  it('Linformer (encoder) with LSH and k-means encoder layers, local decoder self-attention: its projections get gradients, and it learns', async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({
        srcVocabSize: 9, tgtVocabSize: 9, dModel: 16, nHeads: 2, numEncoderLayers: 3, numDecoderLayers: 1, dropout: 0, seed: 5,
        encoderLayerAttention: [{ kind: 'linformer', kProj: 4, maxLength: L }, { kind: 'lsh', nBuckets: 2, chunkSize: 4, seed: 2 }, { kind: 'kmeans', nClusters: 2, chunkSize: 4 }],
        decoderAttention: { kind: 'local', lookBack: 2 },
      });
      const src = seqs.map((r) => r.slice(0, L));
      const loss = () => model.loss(src, seqs.map((r) => r.slice(0, -1)), seqs.map((r) => r.slice(1)));
      const norms = await gradNorms(model, loss);
      const linformer = [...norms.keys()].filter((n) => n.startsWith('transformer.encoder.layers.0.') && !/self_attn|linear|norm/.test(n));
      expect(linformer.length).toBeGreaterThan(0); // the learned length projections
      for (const n of linformer) expect(norms.get(n)!, n).toBeGreaterThan(0);
      const losses = await train(model, loss);
      expect(losses[2]).toBeLessThan(losses[0]);
      model.dispose();
    });
  }, TIMEOUT);
});
