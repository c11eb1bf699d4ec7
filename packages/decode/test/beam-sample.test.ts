// Beam sampling (`beamSearch` with `doSample`), HF semantics: per input, draw max(2, 1 + #EOS)·K
// candidates without replacement from the softmax of (warped log-probs + beam scores) over all K·V
// continuations, rank the draws by score, and let the beam scorer keep the best K.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { beamSearch, type StepFn } from '../src/index.js';
import { cachedStep, chiSquare, chiSquareSurvival, featureStep, logSoftmax64, prefixStep, type Cache } from './helpers.js';

const logits = [1.0, 0.6, 0.3, 0.0, -0.4, -0.8];
const probs = logSoftmax64(logits).map(Math.exp);
const V = logits.length;
const fixedStep: StepFn<null> = (tokens) => ({ logits: tf.tidy(() => tf.tile(tf.tensor2d([logits]), [tokens.length, 1])), state: null });

/**
 * The distribution of (best, second best) among `n` draws without replacement from `p` (the two beams
 * a 2-beam search keeps after its first step), by enumerating every ordered sequence of draws.
 */
function bestTwoOfDraws(p: number[], n: number): number[] {
  const cells = new Array(p.length * p.length).fill(0);
  const walk = (taken: number[], prob: number) => {
    if (taken.length === n) {
      const [a, b] = [...taken].sort((x, y) => p[y] - p[x]);
      cells[a * p.length + b] += prob;
      return;
    }
    const rest = 1 - taken.reduce((s, i) => s + p[i], 0);
    for (let i = 0; i < p.length; i++) if (!taken.includes(i)) walk([...taken, i], (prob * p[i]) / rest);
  };
  walk([], 1);
  return cells;
}

describe('beam sampling (doSample)', () => {
  it('keeps the best 2 of 4 draws without replacement (2 beams, no EOS): chi-square over the (best, second) pairs', async () => {
    await assertNoLeaks(async () => {
      const N = 3000; // independent inputs in one call, each with its own 2 beams
      const r = await beamSearch(fixedStep, Array.from({ length: N }, () => [0]), { numBeams: 2, numReturnSequences: 2, doSample: true, maxNewTokens: 1, seed: 77 });
      const counts = new Array(V * V).fill(0);
      for (const [best, second] of r.sequences) {
        expect(best.score).toBeGreaterThanOrEqual(second.score);
        counts[best.tokens[0] * V + second.tokens[0]]++;
      }
      const expected = bestTwoOfDraws(probs, 4);
      const fit = chiSquare(counts, expected, N);
      expect(fit.outside).toBe(0);
      expect(chiSquareSurvival(fit.stat, fit.df)).toBeGreaterThan(0.001);
      // the test has power: 3 draws (what 1 + #EOS = 1.5 per beam would give) are rejected
      const three = chiSquare(counts, bestTwoOfDraws(probs, 3), N);
      expect(three.outside > 0 || chiSquareSurvival(three.stat, three.df) < 0.001).toBe(true);
    });
  });

  it('at a temperature near 0 it is beam search (same sequences, same finish reasons), with EOS and several inputs', async () => {
    await assertNoLeaks(async () => {
      for (const seed of [1, 2, 3]) {
        const opts = { numBeams: 3, numReturnSequences: 3, eosTokenId: 0, maxNewTokens: 8, lengthPenalty: 1 };
        const plain = await beamSearch(prefixStep(7, seed), [[1], [2, 4]], opts);
        const cold = await beamSearch(prefixStep(7, seed), [[1], [2, 4]], { ...opts, doSample: true, temperature: 1e-3, seed });
        expect(cold.sequences.map((s) => s.map((h) => [h.tokens, h.finishReason]))).toEqual(plain.sequences.map((s) => s.map((h) => [h.tokens, h.finishReason])));
        // the reported log-probs are the warped ones (divided by the temperature), as HF's scores
        cold.sequences[0][0].tokenLogprobs.forEach((lp, k) => expect(lp).toBeCloseTo(plain.sequences[0][0].tokenLogprobs[k] / 1e-3, 0));
      }
    });
  });

  it('is reproducible with a seed or an Rng, differs across seeds, and varies where beam search cannot', async () => {
    await assertNoLeaks(async () => {
      const opts = { numBeams: 3, numReturnSequences: 2, eosTokenId: 0, maxNewTokens: 10, doSample: true, topP: 0.95 } as const;
      const a = await beamSearch(prefixStep(12, 9), [[1], [5]], { ...opts, seed: 5 });
      const b = await beamSearch(prefixStep(12, 9), [[1], [5]], { ...opts, rng: new Rng(5) });
      expect(b.sequences).toEqual(a.sequences);
      const outputs = new Set<string>();
      for (let seed = 0; seed < 8; seed++) outputs.add(JSON.stringify((await beamSearch(prefixStep(12, 9), [[1], [5]], { ...opts, seed })).sequences.map((s) => s[0].tokens)));
      expect(outputs.size).toBeGreaterThan(2);
      for (const s of a.sequences) for (const h of s) expect(h.score).toBeCloseTo(h.sumLogprob / h.tokens.length, 9);
    });
  });

  it('follows the beams with a KV-cache state and keeps the tensor count flat', async () => {
    const encoder = tf.ones([2, 3]);
    const counts: number[] = [];
    await assertNoLeaks(async () => {
      const opts = { numBeams: 3, numReturnSequences: 3, maxNewTokens: 40, doSample: true, topK: 5, seed: 3 } as const;
      const cached = await beamSearch<Cache>(cachedStep(11), [[1, 2], [3, 4]], {
        ...opts,
        state: { cache: null, encoder },
        stoppingCriteria: [{ reason: 'probe', check: () => (counts.push(tf.memory().numTensors), false) }],
      });
      const plain = await beamSearch(featureStep(11), [[1, 2], [3, 4]], opts);
      expect(cached.sequences.map((s) => s.map((h) => h.tokens))).toEqual(plain.sequences.map((s) => s.map((h) => h.tokens)));
    });
    expect(encoder.isDisposed).toBe(false);
    encoder.dispose();
    expect(new Set(counts).size).toBe(1);
  });
});
