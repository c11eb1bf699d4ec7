import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { greedy, maxLength, type StepFn } from '../src/index.js';
import { bigramStep, cachedStep, featureStep, logSoftmax64, prefixLogits, prefixStep, type Cache } from './helpers.js';

// token 0 = EOS. 1 → 2 → 3 → 0 is the greedy path.
const table = [
  [0, 0, 0, 0],
  [0, 0, 2, 1],
  [0, 0, 0, 3],
  [4, 1, 0, 0],
];

describe('greedy', () => {
  it('follows the argmax, stops at EOS and reports log-probs', async () => {
    await assertNoLeaks(async () => {
      const { sequences, steps } = await greedy(bigramStep(table), [[1]], { eosTokenId: 0, maxNewTokens: 10 });
      const h = sequences[0][0];
      expect(h.tokens).toEqual([2, 3, 0]);
      expect(h.finishReason).toBe('eos');
      expect(steps).toBe(3);
      const expected = [logSoftmax64(table[1])[2], logSoftmax64(table[2])[3], logSoftmax64(table[3])[0]];
      h.tokenLogprobs.forEach((lp, i) => expect(lp).toBeCloseTo(expected[i], 5));
      expect(h.score).toBeCloseTo(expected.reduce((a, b) => a + b), 5);
      expect(h.sumLogprob).toBe(h.score);
    });
  });

  it('is the argmax of an arbitrary prefix function at every step, across a batch', async () => {
    await assertNoLeaks(async () => {
      const V = 7;
      const prompts = [[1, 2], [3], [4, 4, 4]];
      const { sequences } = await greedy(prefixStep(V), prompts, { maxNewTokens: 6 });
      for (const [b, p] of prompts.entries()) {
        const prefix = [...p];
        for (const t of sequences[b][0].tokens) {
          const lg = Array.from(prefixLogits(prefix, V));
          expect(t).toBe(lg.indexOf(Math.max(...lg)));
          prefix.push(t);
        }
        expect(sequences[b][0].tokens.length).toBe(6);
        expect(sequences[b][0].finishReason).toBe('length');
      }
    });
  });

  it('pads finished rows while the others continue, never mutating the prompts', async () => {
    await assertNoLeaks(async () => {
      const seen: number[][][] = [];
      const base = bigramStep(table);
      const step: StepFn<null> = (tokens, s, info) => {
        seen.push(tokens.map((r) => [...r]));
        return base(tokens, s, info);
      };
      const prompts = [[3], [1]];
      const { sequences } = await greedy(step, prompts, { eosTokenId: 0, padTokenId: 0, maxNewTokens: 10 });
      expect(prompts).toEqual([[3], [1]]);
      expect(sequences[0][0].tokens).toEqual([0]);
      expect(sequences[1][0].tokens).toEqual([2, 3, 0]);
      expect(seen[2]).toEqual([[3, 0, 0], [1, 2, 3]]); // row 0 padded with 0
    });
  });

  it('stops on stop sequences, maxLength, a time budget and an abort signal', async () => {
    await assertNoLeaks(async () => {
      const loop = [
        [0, 1, 0],
        [0, 0, 1],
        [0, 1, 0],
      ]; // 1 → 2 → 1 → 2 …
      const stop = await greedy(bigramStep(loop), [[1, 2]], { maxNewTokens: 10, stopSequences: [[2, 1, 2]] });
      expect(stop.sequences[0][0].tokens).toEqual([1, 2, 1, 2]);
      expect(stop.sequences[0][0].finishReason).toBe('stop-sequence');
      const total = await greedy(bigramStep(loop), [[1, 2]], { maxNewTokens: 10, stoppingCriteria: [maxLength(5)] });
      expect(total.sequences[0][0].tokens.length).toBe(3);
      const slow: StepFn<null> = async (tokens, s, info) => {
        await new Promise((r) => setTimeout(r, 15));
        return bigramStep(loop)(tokens, s, info);
      };
      const timed = await greedy(slow, [[1]], { maxNewTokens: 1000, maxTimeMs: 40 });
      expect(timed.sequences[0][0].finishReason).toBe('time');
      expect(timed.steps).toBeLessThan(10);
      const controller = new AbortController();
      const aborted = await greedy(bigramStep(loop), [[1]], {
        maxNewTokens: 1000,
        signal: controller.signal,
        onToken: (e) => {
          if (e.position === 4) controller.abort();
        },
      });
      expect(aborted.sequences[0][0].tokens.length).toBe(5);
      expect(aborted.sequences[0][0].finishReason).toBe('abort');
    });
  });

  it('with a tensor KV-cache state equals the stateless model, and the tensor count stays flat over 200 steps', async () => {
    const V = 11;
    const encoder = tf.ones([2, 3]);
    const counts: number[] = [];
    await assertNoLeaks(async () => {
      const cached = await greedy<Cache>(cachedStep(V), [[1, 2], [3, 4]], {
        state: { cache: null, encoder },
        maxNewTokens: 200,
        onToken: (e) => {
          if (e.batchIndex === 0) counts.push(tf.memory().numTensors);
        },
      });
      const plain = await greedy(featureStep(V), [[1, 2], [3, 4]], { maxNewTokens: 200 });
      expect(cached.sequences.map((s) => s[0].tokens)).toEqual(plain.sequences.map((s) => s[0].tokens));
    });
    expect(encoder.isDisposed).toBe(false); // the caller's tensor stays the caller's
    encoder.dispose();
    expect(counts.length).toBe(200);
    expect(new Set(counts.slice(1)).size).toBe(1);
  });
});
