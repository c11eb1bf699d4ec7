import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { beamSearch, ensemble, greedy, sample, type StepFn } from '../src/index.js';
import { logSoftmax64, prefixLogits, prefixStep } from './helpers.js';

/** The ensemble's scores in float64: log Σ wᵢ pᵢ ('mean') or Σ wᵢ log pᵢ ('logMean'), for one prefix. */
function reference(prefix: readonly number[], V: number, seeds: readonly number[], weights: readonly number[], combine: 'mean' | 'logMean'): number[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const w = weights.map((x) => x / total);
  const lps = seeds.map((s) => logSoftmax64(prefixLogits(prefix, V, s)));
  return Array.from({ length: V }, (_, j) =>
    combine === 'logMean' ? lps.reduce((a, lp, i) => a + w[i] * lp[j], 0) : Math.log(lps.reduce((a, lp, i) => a + w[i] * Math.exp(lp[j]), 0)),
  );
}

/** A step function returning the reference scores directly: what decoding with the ensemble must equal. */
function referenceStep(V: number, seeds: readonly number[], weights: readonly number[], combine: 'mean' | 'logMean'): StepFn<null> {
  return (tokens) => ({ logits: tf.tensor2d(tokens.flatMap((row) => reference(row, V, seeds, weights, combine)), [tokens.length, V]), state: null });
}

/**
 * A member with a tensor state `[rows, 1]`: the sum of the tokens it has seen (the whole prompt on the
 * first step, then the last token). Its logits depend on that sum only, so it is a stateless function
 * of the prefix (`sumStep`) as long as the decoder reorders its state with the beams.
 */
function statefulSumStep(V: number, seed: number): StepFn<tf.Tensor> {
  return (tokens, state, info) => {
    const seen = state.dataSync(); // [rows]
    const sums = tokens.map((row, r) => seen[r] + (info.step === 0 ? row.reduce((a, b) => a + b, 0) : row[row.length - 1]));
    return {
      logits: tf.tensor2d(sums.flatMap((s) => [...prefixLogits([s], V, seed)]), [tokens.length, V]), // [rows, V]
      state: tf.tensor2d(sums, [tokens.length, 1]), // [rows, 1]
    };
  };
}
const sumStep = (V: number, seed: number): StepFn<null> => (tokens) => ({
  logits: tf.tensor2d(tokens.flatMap((row) => [...prefixLogits([row.reduce((a, b) => a + b, 0)], V, seed)]), [tokens.length, V]),
  state: null,
});

describe('ensemble', () => {
  it('combines the members as log Σ wᵢ pᵢ or Σ wᵢ log pᵢ (randomised sweep of 24 configurations)', async () => {
    const tol = backendTolerance();
    let rng = 12345;
    const rand = () => ((rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let c = 0; c < 24; c++) {
      const V = 2 + Math.floor(rand() * 30);
      const n = 1 + Math.floor(rand() * 4);
      const seeds = Array.from({ length: n }, (_, i) => 100 * c + i + 1);
      const weights = seeds.map(() => (rand() < 0.15 ? 0 : 0.1 + rand() * 3));
      if (!weights.some((w) => w > 0)) weights[0] = 1;
      const combine = rand() < 0.5 ? 'mean' : 'logMean';
      const rows = 1 + Math.floor(rand() * 5);
      const tokens = Array.from({ length: rows }, () => Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Math.floor(rand() * V)));
      const { step, state } = ensemble(
        seeds.map((s) => ({ step: prefixStep(V, s), state: null })),
        { weights: c % 5 === 0 && weights.every((w) => w > 0) ? undefined : weights, combine },
      );
      const w = c % 5 === 0 && weights.every((x) => x > 0) ? seeds.map(() => 1) : weights;
      await assertNoLeaks(async () => {
        const out = await step(tokens, state, { step: 0, batchIndex: tokens.map((_, i) => i), promptLength: tokens.map((t) => t.length), elapsedMs: 0 });
        expect(out.state).toEqual(seeds.map(() => null));
        const expected = tokens.flatMap((row) => reference(row, V, seeds, w, combine));
        await assertClose(await out.logits.data(), expected, tol, `config ${c} (V ${V}, ${n} members, ${combine})`);
        out.logits.dispose();
      }, `config ${c}`);
    }
  });

  it('decodes like one model with the combined scores: greedy, beam search and seeded sampling', async () => {
    const V = 11;
    const seeds = [3, 5, 8];
    const weights = [1, 2, 0.5];
    for (const combine of ['mean', 'logMean'] as const) {
      await assertNoLeaks(async () => {
        const ref = referenceStep(V, seeds, weights, combine);
        const make = () => ensemble(seeds.map((s) => ({ step: prefixStep(V, s), state: null })), { weights, combine });
        const prompts = [[1, 2], [4], [7, 7, 7]];
        const common = { eosTokenId: 0, maxNewTokens: 8 };
        const e1 = make();
        const g = await greedy(e1.step, prompts, { ...common, state: e1.state });
        const gRef = await greedy(ref, prompts, common);
        expect(g.sequences.map((s) => s[0].tokens)).toEqual(gRef.sequences.map((s) => s[0].tokens));
        const e2 = make();
        const b = await beamSearch(e2.step, prompts, { ...common, state: e2.state, numBeams: 4, numReturnSequences: 3 });
        const bRef = await beamSearch(ref, prompts, { ...common, numBeams: 4, numReturnSequences: 3 });
        expect(b.sequences.map((s) => s.map((h) => h.tokens))).toEqual(bRef.sequences.map((s) => s.map((h) => h.tokens)));
        b.sequences.flat().forEach((h, i) => expect(h.score).toBeCloseTo(bRef.sequences.flat()[i].score, 4));
        const e3 = make();
        const s = await sample(e3.step, prompts, { ...common, state: e3.state, seed: 9, numReturnSequences: 2, topP: 0.9 });
        const sRef = await sample(ref, prompts, { ...common, seed: 9, numReturnSequences: 2, topP: 0.9 });
        expect(s.sequences.map((x) => x.map((h) => h.tokens))).toEqual(sRef.sequences.map((x) => x.map((h) => h.tokens)));
      }, combine);
    }
  });

  it("reorders every member's tensor state with the beams and frees what it replaces", async () => {
    const V = 9;
    const prompts = [[1, 2], [3], [5, 6, 7]];
    const init = () => tf.zeros([prompts.length, 1]); // [inputs, 1]: nothing seen yet
    const a = init();
    const b = init();
    const counts: number[] = [];
    await assertNoLeaks(async () => {
      const { step, state } = ensemble(
        [
          { step: statefulSumStep(V, 21), state: a },
          { step: prefixStep(V, 22), state: null },
          { step: statefulSumStep(V, 23), state: b },
        ],
        { weights: [1, 1, 2] },
      );
      const opts = { numBeams: 3, numReturnSequences: 3, maxNewTokens: 30 };
      const r = await beamSearch(step, prompts, { ...opts, state, stoppingCriteria: [{ reason: 'probe', check: () => (counts.push(tf.memory().numTensors), false) }] });
      const plain = ensemble([{ step: sumStep(V, 21), state: null }, { step: prefixStep(V, 22), state: null }, { step: sumStep(V, 23), state: null }], { weights: [1, 1, 2] });
      const rRef = await beamSearch(plain.step, prompts, { ...opts, state: plain.state });
      expect(r.sequences.map((s) => s.map((h) => h.tokens))).toEqual(rRef.sequences.map((s) => s.map((h) => h.tokens)));
    });
    // The caller's states stay the caller's; the count is flat from step to step.
    expect(a.isDisposed || b.isDisposed).toBe(false);
    a.dispose();
    b.dispose();
    expect(new Set(counts.slice(1)).size).toBe(1);
  });

  it('frees the members’ outputs when a later member fails, and names the member', async () => {
    const V = 5;
    const bad: StepFn<null> = () => ({ logits: tf.zeros([1, V + 1]), state: null });
    const s0 = tf.zeros([1, 1]);
    await assertNoLeaks(async () => {
      const { step, state } = ensemble([{ step: statefulSumStep(V, 1), state: s0 }, { step: bad, state: null }]);
      await expect(step([[1]], state, { step: 0, batchIndex: [0], promptLength: [1], elapsedMs: 0 })).rejects.toThrow(/members\[1\]\.step.*\[1, 5\]/s);
    });
    expect(s0.isDisposed).toBe(false);
    s0.dispose();
  });

  it('rejects bad members and options before decoding', () => {
    const m = { step: prefixStep(4, 1), state: null };
    expect(() => ensemble([])).toThrow(/ensemble.*members.*non-empty/);
    expect(() => ensemble([m, { state: null } as never])).toThrow(/members\[1\]/);
    expect(() => ensemble([m, m], { weights: [1] })).toThrow(/weights.*one weight per member \(2\)/);
    expect(() => ensemble([m, m], { weights: [1, -1] })).toThrow(/weights\[1\]/);
    expect(() => ensemble([m, m], { weights: [0, 0] })).toThrow(/weights.*positive sum/);
    expect(() => ensemble([m], { combine: 'max' as never })).toThrow(/combine.*'mean' or 'logMean'/);
    expect(() => ensemble([m], { weight: [1] } as never)).toThrow(/weight.*weights, combine/s);
  });
});
