// The step functions drive @dl/decode's strategies: greedy and beam search with the KV cache give the
// same results as without it (beam search reorders the caches as it re-ranks beams), sampling is
// seeded, and tensor counts stay flat.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { beamSearch, greedy, sample } from '@dl/decode';
import { EncoderDecoder, GPT, type AttentionSpec } from '../src/index.js';

const strip = (r: { sequences: { tokens: number[]; score: number }[][] }) => r.sequences.map((hs) => hs.map((h) => [h.tokens.join(' '), h.score.toFixed(4)]));

describe('GPT with @dl/decode', () => {
  const attentions: [string, AttentionSpec][] = [
    ['full', 'full'],
    ['local', { kind: 'local', lookBack: 2 }],
    ['linear', { kind: 'linear', featureMap: 'elu' }],
  ];
  // WebGPU runs on SwiftShader in CI, where every decoding step's read-back is slow: full attention only.
  for (const [name, attention] of attentions.filter(([n]) => process.env.DL_BACKEND !== 'webgpu' || n === 'full')) {
    it(`beam search (4 beams) and greedy: cached = uncached (${name} attention, rotary positions)`, async () => {
      await assertNoLeaks(async () => {
        const gpt = new GPT({ vocabSize: 13, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 16, position: 'rope', attention, seed: 8 });
        const prompts = [[1, 2, 3], [4, 5, 6]];
        const run = async (useCache: boolean, numBeams: number) => {
          const { step, state } = gpt.decoding(2, { useCache });
          try {
            const opts = { state, maxNewTokens: 6, eosTokenId: 0 };
            return numBeams === 1 ? await greedy(step, prompts, opts) : await beamSearch(step, prompts, { ...opts, numBeams, numReturnSequences: 3 });
          } finally {
            state.dispose();
          }
        };
        expect(strip(await run(true, 1))).toEqual(strip(await run(false, 1)));
        expect(strip(await run(true, 4))).toEqual(strip(await run(false, 4)));
        gpt.dispose();
      });
    });
  }

  it('seeded sampling repeats, and a long decode keeps the tensor count flat', async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT({ vocabSize: 11, blockSize: 64, nLayer: 1, nHead: 2, nEmbd: 8, seed: 2 });
      const go = async (onToken?: () => void) => {
        const { step, state } = gpt.decoding(1);
        try {
          return await sample(step, [[1]], { state, maxNewTokens: 40, temperature: 0.9, topP: 0.9, seed: 5, onToken });
        } finally {
          state.dispose();
        }
      };
      const counts: number[] = [];
      const a = await go(() => counts.push(tf.memory().numTensors));
      const b = await go();
      expect(a.sequences[0][0].tokens).toEqual(b.sequences[0][0].tokens);
      expect(a.sequences[0][0].tokens.length).toBe(40);
      // The cache grows in place: after the first few tokens the number of live tensors is constant.
      expect(new Set(counts.slice(3)).size).toBe(1);
      gpt.dispose();
    });
  });
});

describe('EncoderDecoder with @dl/decode', () => {
  it('beam search over padded sources: cached (cross-attention keys computed once) = uncached', async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 9, dModel: 16, nHeads: 2, nKVHeads: 1, numEncoderLayers: 1, numDecoderLayers: 2, dropout: 0, padId: 0, seed: 4 });
      const src = [[3, 4, 5, 6], [7, 8, 0, 0], [9, 3, 3, 0]];
      const run = async (useCache: boolean) => {
        const { step, state } = model.decoding(src, {}, { useCache });
        try {
          return await beamSearch(step, src.map(() => [1]), { state, numBeams: 3, numReturnSequences: 2, eosTokenId: 2, maxNewTokens: 7 });
        } finally {
          state.dispose();
        }
      };
      const cached = await run(true);
      expect(strip(cached)).toEqual(strip(await run(false)));
      expect(cached.sequences.length).toBe(3);
      model.dispose();
    });
  });

  it('padding in a source does not change its decoding (the same source alone, unpadded)', async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 9, dModel: 16, nHeads: 2, numEncoderLayers: 2, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 5 });
      const dec = async (src: number[][]) => {
        const { step, state } = model.decoding(src);
        try {
          return await greedy(step, src.map(() => [1]), { state, maxNewTokens: 5 });
        } finally {
          state.dispose();
        }
      };
      const batch = await dec([[3, 4, 5, 6, 7], [7, 8, 0, 0, 0]]);
      const alone = await dec([[7, 8]]);
      expect(batch.sequences[1][0].tokens).toEqual(alone.sequences[0][0].tokens);
      model.dispose();
    });
  });
});
