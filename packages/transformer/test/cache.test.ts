// Incremental decoding equals full recompute, for every position kind and every attention kind that
// has a cache, in GPT and in the encoder-decoder.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import { EncoderDecoder, GPT, type AttentionSpec, type PositionKind } from '../src/index.js';
import { modelTolerance, randomIds } from './helpers.js';

const POSITIONS: PositionKind[] = ['none', 'sinusoidal', 'learned', 'rope', 'alibi', 't5'];
const ATTENTIONS: [string, AttentionSpec | AttentionSpec[]][] = [
  ['full', 'full'],
  ['local (window 3)', { kind: 'local', lookBack: 2 }],
  ['linear elu', { kind: 'linear', featureMap: 'elu' }],
  ['linear relu', { kind: 'linear', featureMap: 'relu' }],
  ['full + local heads', ['full', { kind: 'local', lookBack: 1 }]],
];
const biasKinds = new Set<PositionKind>(['alibi', 't5']);

/** Feeds `ids` in chunks (first `first` tokens, then one at a time) through a cache; returns every position's logits. */
function cachedLogits(gpt: GPT, ids: number[][], first: number): tf.Tensor {
  const cache = gpt.createCache(ids.length);
  try {
    const parts: tf.Tensor[] = [];
    for (let t = 0; t < ids[0].length; ) {
      const n = t === 0 ? first : 1;
      parts.push(gpt.forward(ids.map((r) => r.slice(t, t + n)), { cache }).logits); // [B, n, V]
      t += n;
    }
    expect(cache.length).toBe(ids[0].length);
    const all = tf.concat(parts, 1); // [B, T, V]
    tf.dispose(parts);
    return all;
  } finally {
    cache.dispose();
  }
}

describe('GPT: cached decoding equals full recompute', () => {
  for (const position of POSITIONS) {
    for (const [name, attention] of ATTENTIONS) {
      if (biasKinds.has(position) && name !== 'full') continue;
      it(`${position} positions, ${name} attention, grouped-query heads`, async () => {
        await assertNoLeaks(async () => {
          const gpt = new GPT({ vocabSize: 11, blockSize: 12, nLayer: 2, nHead: 2, nKVHead: Array.isArray(attention) ? 2 : 1, nEmbd: 8, position, attention, seed: 3 });
          const ids = randomIds(2, 7, 0, 11, 5);
          const full = gpt.forward(ids).logits; // [2, 7, 11]
          const cached = cachedLogits(gpt, ids, 3);
          await assertClose(cached, await full.data(), modelTolerance(), 'logits', [2, 7, 11]);
          tf.dispose([full, cached]);
          gpt.dispose();
        });
      });
    }
  }

  it('biases need full attention: ALiBi or T5 with a sparse layer is refused at construction', () => {
    expect(() => new GPT({ vocabSize: 5, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, position: 'alibi', attention: { kind: 'local', lookBack: 2 } })).toThrow(
      /GPT: position must be 'none' or 'rope' with sparse, clustered or linear attention/,
    );
  });

  it('a layer without a cache (strided) decodes by recomputing the prefix, with the same tokens', async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT({ vocabSize: 9, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 8, layerAttention: [{ kind: 'strided', stride: 2, lookBack: 1 }, 'full'], seed: 4 });
      const { step, state } = gpt.decoding(1);
      expect(state.complete).toBe(false);
      const { greedy } = await import('@dl/decode');
      const out = await greedy(step, [[1, 2, 3]], { state, maxNewTokens: 5 });
      state.dispose();
      // The same greedy choices from full forward passes.
      const seq = [1, 2, 3];
      for (let i = 0; i < 5; i++) {
        const { logits } = gpt.forward([seq]);
        const last = tf.tidy(() => tf.argMax(tf.squeeze(tf.slice(logits, [0, seq.length - 1, 0], [1, 1, -1])), -1));
        seq.push((await last.data())[0]);
        tf.dispose([logits, last]);
      }
      expect(out.sequences[0][0].tokens).toEqual(seq.slice(3));
      gpt.dispose();
    });
  });
});

describe('EncoderDecoder: cached decoding equals full recompute', () => {
  for (const position of POSITIONS) {
    it(`${position} positions, padded sources`, async () => {
      await assertNoLeaks(async () => {
        const model = new EncoderDecoder({ srcVocabSize: 13, tgtVocabSize: 11, dModel: 8, nHeads: 2, numEncoderLayers: 2, numDecoderLayers: 2, position, dropout: 0, padId: 0, seed: 7 });
        const src = [[4, 5, 6, 7, 8], [9, 10, 11, 0, 0]];
        const tgt = randomIds(2, 6, 1, 11, 2);
        const full = model.forward(src, tgt).logits; // [2, 6, 11]
        const { step, state } = model.decoding(src);
        // Drive the step function by hand: after step t, the logits predict position t.
        const info = { step: 0, batchIndex: [0, 1], promptLength: [1, 1], elapsedMs: 0 };
        const rows: tf.Tensor[] = [];
        for (let t = 1; t <= 6; t++) {
          const { logits } = await step(tgt.map((r) => r.slice(0, t)), state, info);
          rows.push(tf.expandDims(logits, 1)); // [2, 1, 11]
          logits.dispose();
        }
        const cached = tf.concat(rows, 1); // [2, 6, 11]
        await assertClose(cached, await full.data(), modelTolerance(), 'logits', [2, 6, 11]);
        tf.dispose([full, cached, ...rows]);
        state.dispose();
        model.dispose();
      });
    });
  }
});
