import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { BeamHypotheses, beamSearch, greedy, type StepFn } from '../src/index.js';
import { cachedStep, featureStep, logSoftmax64, prefixLogits, prefixStep, type Cache } from './helpers.js';

/** Every sequence of length ≤ L over V tokens where EOS may only come last, with its summed log-prob. */
function enumerate(prompt: number[], V: number, eos: number, L: number, seed: number): { tokens: number[]; sum: number; finished: boolean }[] {
  const out: { tokens: number[]; sum: number; finished: boolean }[] = [];
  const walk = (tokens: number[], sum: number) => {
    const lp = logSoftmax64(prefixLogits([...prompt, ...tokens], V, seed));
    for (let j = 0; j < V; j++) {
      const next = [...tokens, j];
      const s = sum + lp[j];
      if (j === eos) out.push({ tokens: next, sum: s, finished: true });
      else if (next.length === L) out.push({ tokens: next, sum: s, finished: false });
      else walk(next, s);
    }
  };
  walk([], 0);
  return out;
}

describe('beamSearch', () => {
  it('with one beam equals greedy (tokens, log-probs, score)', async () => {
    await assertNoLeaks(async () => {
      for (const seed of [1, 2, 3]) {
        const prompts = [[1], [2, 3]];
        const g = await greedy(prefixStep(6, seed), prompts, { eosTokenId: 0, maxNewTokens: 12 });
        const b = await beamSearch(prefixStep(6, seed), prompts, { numBeams: 1, eosTokenId: 0, maxNewTokens: 12, lengthPenalty: 0 });
        for (let i = 0; i < prompts.length; i++) {
          expect(b.sequences[i][0].tokens).toEqual(g.sequences[i][0].tokens);
          b.sequences[i][0].tokenLogprobs.forEach((lp, k) => expect(lp).toBeCloseTo(g.sequences[i][0].tokenLogprobs[k], 5));
          expect(b.sequences[i][0].score).toBeCloseTo(g.sequences[i][0].score, 5);
        }
      }
    });
  });

  it('as wide as the search space finds the exact best sequences (brute force), for several length penalties', async () => {
    await assertNoLeaks(async () => {
      const V = 3;
      const L = 4;
      for (const [seed, alpha] of [
        [1, 1],
        [2, 0],
        [3, 2],
        [4, -0.5],
      ]) {
        const all = enumerate([1], V, 0, L, seed);
        const ranked = all.map((h) => ({ ...h, score: h.sum / h.tokens.length ** alpha })).sort((a, b) => b.score - a.score);
        const K = all.length; // every sequence fits in the beam and in the hypotheses
        const r = await beamSearch(prefixStep(V, seed), [[1]], { numBeams: K, numReturnSequences: 5, eosTokenId: 0, maxNewTokens: L, lengthPenalty: alpha, earlyStopping: 'never' });
        const got = r.sequences[0];
        for (let i = 0; i < 5; i++) {
          expect(got[i].tokens).toEqual(ranked[i].tokens);
          expect(got[i].score).toBeCloseTo(ranked[i].score, 6); // per-token log-probs are float32
          expect(got[i].finishReason).toBe(ranked[i].finished ? 'eos' : 'length');
        }
      }
    });
  });

  it('beats greedy where the greedy first token leads nowhere', async () => {
    await assertNoLeaks(async () => {
      // From 1: token 2 is likelier than 3, but after 2 everything is flat; after 3, EOS is certain.
      const logits: Record<string, number[]> = { '1': [-9, -9, 1, 0.5], '1,2': [0, 0, 0, 0], '1,3': [9, -9, -9, -9] };
      const step: StepFn<null> = (tokens) => ({ logits: tf.tensor2d(tokens.flatMap((t) => logits[t.join(',')] ?? [0, 0, 0, 0]), [tokens.length, 4]), state: null });
      const g = await greedy(step, [[1]], { eosTokenId: 0, maxNewTokens: 2 });
      const b = await beamSearch(step, [[1]], { numBeams: 2, eosTokenId: 0, maxNewTokens: 2, lengthPenalty: 0 });
      expect(g.sequences[0][0].tokens[0]).toBe(2);
      expect(b.sequences[0][0].tokens).toEqual([3, 0]);
      expect(b.sequences[0][0].score).toBeGreaterThan(g.sequences[0][0].score);
    });
  });

  it('returns n-best sorted by score = Σ log p / length^α with per-token log-probs summing to Σ log p', async () => {
    await assertNoLeaks(async () => {
      const r = await beamSearch(prefixStep(8, 5), [[1]], { numBeams: 4, numReturnSequences: 4, eosTokenId: 0, maxNewTokens: 6, lengthPenalty: 1.5 });
      const hyps = r.sequences[0];
      expect(hyps.length).toBe(4);
      for (let i = 1; i < hyps.length; i++) expect(hyps[i - 1].score).toBeGreaterThanOrEqual(hyps[i].score);
      for (const h of hyps) {
        const sum = h.tokenLogprobs.reduce((a, b) => a + b, 0);
        expect(h.sumLogprob).toBeCloseTo(sum, 9);
        expect(h.score).toBeCloseTo(sum / h.tokens.length ** 1.5, 9);
        // each per-token log-prob is the log-softmax of the model at that prefix
        h.tokens.forEach((t, k) => expect(h.tokenLogprobs[k]).toBeCloseTo(logSoftmax64(prefixLogits([1, ...h.tokens.slice(0, k)], 8, 5))[t], 5));
      }
    });
  });

  it('batches all beams of all inputs in one call and matches decoding each input alone', async () => {
    await assertNoLeaks(async () => {
      const calls = { rows: [] as number[] };
      const prompts = [[1], [2, 5], [7]];
      const opts = { numBeams: 3, numReturnSequences: 3, eosTokenId: 0, maxNewTokens: 7 };
      const together = await beamSearch(prefixStep(9, 7, calls), prompts, opts);
      expect(new Set(calls.rows)).toEqual(new Set([9]));
      for (const [i, p] of prompts.entries()) {
        const alone = await beamSearch(prefixStep(9, 7), [p], opts);
        expect(together.sequences[i].map((h) => h.tokens)).toEqual(alone.sequences[0].map((h) => h.tokens));
      }
    });
  });

  it('follows the beams with a KV-cache state (reorder) and keeps the tensor count flat over 200 steps', async () => {
    const V = 13;
    const encoder = tf.ones([2, 4]);
    const counts: number[] = [];
    await assertNoLeaks(async () => {
      const opts = { numBeams: 4, numReturnSequences: 2, maxNewTokens: 200 };
      const cached = await beamSearch<Cache>(cachedStep(V), [[1, 2], [3, 4]], {
        ...opts,
        state: { cache: null, encoder },
        stoppingCriteria: [{ reason: 'probe', check: () => (counts.push(tf.memory().numTensors), false) }],
      });
      const plain = await beamSearch(featureStep(V), [[1, 2], [3, 4]], opts);
      expect(cached.sequences.map((s) => s.map((h) => h.tokens))).toEqual(plain.sequences.map((s) => s.map((h) => h.tokens)));
      expect(cached.sequences[0][0].tokens.length).toBe(200);
    });
    expect(encoder.isDisposed).toBe(false);
    encoder.dispose();
    expect(counts.length).toBe(199);
    expect(new Set(counts).size).toBe(1);
  });

  it('respects minNewTokens and noRepeatNgramSize', async () => {
    await assertNoLeaks(async () => {
      const r = await beamSearch(prefixStep(5, 11), [[1]], { numBeams: 3, numReturnSequences: 3, eosTokenId: 0, minNewTokens: 4, noRepeatNgramSize: 2, maxNewTokens: 10 });
      for (const h of r.sequences[0]) {
        const eosAt = h.tokens.indexOf(0);
        if (eosAt >= 0) expect(eosAt).toBeGreaterThanOrEqual(4);
        const full = [1, ...h.tokens];
        const bigrams = full.slice(1).map((t, i) => `${full[i]},${t}`);
        expect(new Set(bigrams).size).toBe(bigrams.length);
      }
    });
  });

  it('stopping criteria end the search when every live row is flagged (finished inputs excluded)', async () => {
    await assertNoLeaks(async () => {
      const base = prefixStep(6, 8);
      // Input 0 (prompt [5]) can only say EOS, so it finishes at once; input 1 keeps going.
      const step: StepFn<null> = async (tokens, state, info) => {
        const out = await base(tokens, state, info);
        const logits = tf.tidy(() => tf.add(out.logits, tf.mul(tf.oneHot(tf.tensor1d(tokens.map((t) => (t[0] === 5 ? 0 : 1)), 'int32'), 6), tf.tensor2d(tokens.map((t) => [t[0] === 5 ? 60 : 0]), [tokens.length, 1]))));
        out.logits.dispose();
        return { logits, state };
      };
      const r = await beamSearch(step, [[5], [2]], {
        numBeams: 2,
        eosTokenId: 0,
        earlyStopping: true,
        maxNewTokens: 50,
        stoppingCriteria: [{ reason: 'probe', check: (ids, info) => ids.map((_, row) => info.batchIndex[row] === 1 && info.step >= 3) }],
      });
      expect(r.sequences[0][0].tokens).toEqual([0]);
      expect(r.steps).toBe(3);
      expect(r.sequences[1][0].finishReason).toBe('probe');
      expect(r.sequences[1][0].tokens.length).toBe(3);
    });
  });

  it('early stopping true / false / never follow HF is_done', () => {
    // Two finished hypotheses with scores -1 and -2 (α = 1: sums -2 over 2 tokens, -6 over 3).
    const make = (early: boolean | 'never', alpha = 1) => {
      const h = new BeamHypotheses(2, alpha, early, 10);
      h.add([1, 0], [-1, -1], -2, 2);
      h.add([2, 3, 0], [-2, -2, -2], -6, 3);
      return h;
    };
    expect(new BeamHypotheses(2, 1, true, 10).isDone(-1, 1)).toBe(false); // not enough hypotheses
    expect(make(true).isDone(-0.1, 4)).toBe(true);
    // false: worst (-2) ≥ best running (-9) / 4 = -2.25 → done; with -7/4 = -1.75 → not done.
    expect(make(false).isDone(-9, 4)).toBe(true);
    expect(make(false).isDone(-7, 4)).toBe(false);
    // never, α > 0: bound uses maxNewTokens: -9 / 10 = -0.9 > -2 → not done.
    expect(make('never').isDone(-9, 4)).toBe(false);
    expect(make('never').isDone(-30, 4)).toBe(true);
    // never, α ≤ 0: like false (current length).
    expect(make('never', 0).isDone(-9, 4)).toBe(true);
    // Adding a better one evicts the worst and raises worstScore.
    const h = make(false);
    h.add([4, 0], [-0.25, -0.25], -0.5, 2);
    expect(h.size).toBe(2);
    expect(h.worstScore).toBeCloseTo(-1);
    expect(h.sorted().map((x) => x.tokens)).toEqual([[4, 0], [1, 0]]);
  });

  it('early stopping changes the search the HF way', async () => {
    await assertNoLeaks(async () => {
      const opts = { numBeams: 3, numReturnSequences: 3, eosTokenId: 0, maxNewTokens: 8, lengthPenalty: 1 };
      const early = await beamSearch(prefixStep(4, 21), [[1]], { ...opts, earlyStopping: true });
      const never = await beamSearch(prefixStep(4, 21), [[1]], { ...opts, earlyStopping: 'never' });
      const heuristic = await beamSearch(prefixStep(4, 21), [[1]], { ...opts, earlyStopping: false });
      expect(early.steps).toBeLessThanOrEqual(heuristic.steps);
      expect(heuristic.steps).toBeLessThanOrEqual(never.steps);
      // more search never finds a worse best hypothesis
      expect(never.sequences[0][0].score).toBeGreaterThanOrEqual(early.sequences[0][0].score - 1e-12);
      // with early stopping all returned sequences end in EOS once it stops
      expect(early.sequences[0].every((h) => h.finishReason === 'eos')).toBe(true);
    });
  });
});
