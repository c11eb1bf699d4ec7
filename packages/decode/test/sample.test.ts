import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { sample, type SampleOptions, type StepFn } from '../src/index.js';
import { chiSquare, chiSquareSurvival, logSoftmax64, prefixStep } from './helpers.js';

const logits = [2.0, 1.5, 1.2, 0.7, 0.3, 0.1, -0.4, -1.0, -1.7, -2.5];
const probs = (() => {
  const lp = logSoftmax64(logits);
  return lp.map(Math.exp);
})();
const fixedStep: StepFn<null> = (tokens) => ({ logits: tf.tidy(() => tf.tile(tf.tensor2d([logits]), [tokens.length, 1])), state: null });

/** Renormalise a distribution over a kept set. */
function truncated(keep: (i: number) => boolean, base = probs): number[] {
  const p = base.map((v, i) => (keep(i) ? v : 0));
  const z = p.reduce((a, b) => a + b);
  return p.map((v) => v / z);
}

/** Draw N first tokens (N samples of one input, one step) and count them. */
async function draw(options: SampleOptions<null>, N = 6000): Promise<number[]> {
  const { sequences } = await sample(fixedStep, [[0]], { ...options, numReturnSequences: N, maxNewTokens: 1, seed: 1234 });
  const counts = new Array(logits.length).fill(0);
  for (const h of sequences[0]) counts[h.tokens[0]]++;
  return counts;
}

function expectFits(counts: number[], p: number[], N = 6000) {
  const { stat, df, outside } = chiSquare(counts, p, N);
  expect(outside).toBe(0);
  expect(chiSquareSurvival(stat, df)).toBeGreaterThan(0.001);
}

function expectRejects(counts: number[], p: number[], N = 6000) {
  const { stat, df, outside } = chiSquare(counts, p, N);
  expect(outside > 0 || chiSquareSurvival(stat, df) < 0.001).toBe(true);
}

describe('sample', () => {
  it('the chi-square helper has the right tail (k = 4: P(X > 18.467) = 0.001)', () => {
    expect(chiSquareSurvival(18.467, 4)).toBeCloseTo(0.001, 5);
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 4);
    expect(chiSquareSurvival(124.342, 100)).toBeCloseTo(0.05, 4);
  });

  it('plain sampling matches the softmax (chi-square, fixed seed)', async () => {
    await assertNoLeaks(async () => {
      const counts = await draw({});
      expectFits(counts, probs);
      expectRejects(counts, truncated((i) => i < 5)); // the test has power
    });
  });

  it('temperature samples softmax(logits / T)', async () => {
    await assertNoLeaks(async () => {
      const counts = await draw({ temperature: 0.5 });
      const pT = logSoftmax64(logits.map((v) => v / 0.5)).map(Math.exp);
      expectFits(counts, pT);
      expectRejects(counts, probs);
    });
  });

  it('top-k samples the renormalised k most likely tokens', async () => {
    await assertNoLeaks(async () => {
      const counts = await draw({ topK: 4 });
      expectFits(counts, truncated((i) => i < 4));
      expectRejects(counts, truncated((i) => i < 5));
      expectRejects(counts, probs);
    });
  });

  it('top-p keeps the smallest set reaching p and samples it renormalised', async () => {
    await assertNoLeaks(async () => {
      // cumulative: 0.3525, 0.5663, 0.7247, 0.8207, … → p = 0.8 needs the first 4 tokens (3 reach only 0.7247).
      let cum = 0;
      const need = probs.findIndex((v) => (cum += v) >= 0.8) + 1;
      expect(need).toBe(4);
      const counts = await draw({ topP: 0.8 });
      expectFits(counts, truncated((i) => i < need));
      expectRejects(counts, truncated((i) => i < need - 1)); // one token too few
      expectRejects(counts, truncated((i) => i < need + 1)); // one token too many
    });
  });

  it('min-p and typical sample their kept sets renormalised', async () => {
    await assertNoLeaks(async () => {
      const threshold = 0.2 * probs[0];
      const counts = await draw({ minP: 0.2 });
      expectFits(counts, truncated((i) => probs[i] >= threshold));
      // typical: rank by |−log p − H|, keep until the mass reaches 0.5
      const H = -probs.reduce((a, p) => a + p * Math.log(p), 0);
      const order = probs.map((p, i) => [Math.abs(-Math.log(p) - H), i]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
      const kept = new Set<number>();
      let mass = 0;
      for (const i of order) {
        kept.add(i);
        mass += probs[i];
        if (mass >= 0.5) break;
      }
      const countsT = await draw({ typicalP: 0.5 });
      expectFits(countsT, truncated((i) => kept.has(i)));
    });
  });

  it('combines temperature → top-k → top-p in HF order', async () => {
    await assertNoLeaks(async () => {
      const pT = logSoftmax64(logits.map((v) => v / 2)).map(Math.exp);
      const afterK = truncated((i) => i < 6, pT);
      let cum = 0;
      const need = afterK.findIndex((v) => (cum += v) >= 0.6) + 1;
      const counts = await draw({ temperature: 2, topK: 6, topP: 0.6 });
      expectFits(counts, truncated((i) => i < need, afterK));
    });
  });

  it('is reproducible with a seed, differs across seeds, and returns several samples per input', async () => {
    await assertNoLeaks(async () => {
      const opts = { maxNewTokens: 12, numReturnSequences: 3, topP: 0.9 };
      const a = await sample(prefixStep(20, 3), [[1], [2]], { ...opts, seed: 5 });
      const b = await sample(prefixStep(20, 3), [[1], [2]], { ...opts, rng: new Rng(5) });
      const c = await sample(prefixStep(20, 3), [[1], [2]], { ...opts, seed: 6 });
      expect(a.sequences.length).toBe(2);
      expect(a.sequences[0].length).toBe(3);
      expect(a.sequences.map((s) => s.map((h) => h.tokens))).toEqual(b.sequences.map((s) => s.map((h) => h.tokens)));
      expect(a.sequences.map((s) => s.map((h) => h.tokens))).not.toEqual(c.sequences.map((s) => s.map((h) => h.tokens)));
      for (const h of a.sequences.flat()) expect(h.score).toBeCloseTo(h.tokenLogprobs.reduce((x, y) => x + y, 0), 9);
    });
  });

  it('repetition penalty follows HF (s/θ if s > 0, s·θ otherwise)', async () => {
    await assertNoLeaks(async () => {
      // Tokens 0 (logit 2.0 > 0) and 7 (logit −1.0 < 0) are in the prompt.
      const counts = await draw({ repetitionPenalty: 2 });
      const penalised = logits.map((v, i) => (i === 0 || i === 7 ? (v > 0 ? v / 2 : v * 2) : v));
      // draw() prompts with [0]; add 7 through a prompt of [0, 7]
      const { sequences } = await sample(fixedStep, [[0, 7]], { repetitionPenalty: 2, numReturnSequences: 6000, maxNewTokens: 1, seed: 99 });
      const counts2 = new Array(logits.length).fill(0);
      for (const h of sequences[0]) counts2[h.tokens[0]]++;
      expectFits(counts2, logSoftmax64(penalised).map(Math.exp));
      expectFits(counts, logSoftmax64(logits.map((v, i) => (i === 0 ? v / 2 : v))).map(Math.exp));
    });
  });
});
