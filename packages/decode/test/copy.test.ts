import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import {
  accumulateCoverage,
  beamSearch,
  copyDistribution,
  copyStep,
  coverageLoss,
  extendSource,
  extendedToWords,
  greedy,
  sample,
  type PointerGeneratorStepFn,
} from '../src/index.js';
import { prefixLogits } from './helpers.js';

const words = ['<eos>', '<unk>', 'the', 'cat', 'sat', 'on', 'mat'];
const vocab = new Map(words.map((w, i) => [w, i]));
const V = words.length;

/**
 * A toy pointer-generator: vocabulary logits from the prefix, attention moving one source position per
 * step (so p_gen = 0 copies the source in order), coverage in the state.
 */
function toyModel(pGen: number, S: number): PointerGeneratorStepFn<{ coverage: tf.Tensor }> {
  return (tokens, state, info) => {
    const rows = tokens.length;
    const data = new Float32Array(rows * V);
    tokens.forEach((row, r) => {
      expect(row.every((t) => t < V)).toBe(true); // OOV ids were mapped to <unk> for the model
      data.set(prefixLogits(row, V, 3), r * V);
    });
    const attention = tf.tidy(() => {
      const pos = Math.min(info.step, S - 1);
      return tf.add(tf.mul(tf.oneHot(tf.fill([rows], pos, 'int32'), S), 0.9), 0.1 / S); // [rows, S]
    });
    const coverage = accumulateCoverage(state.coverage, attention);
    return { logits: tf.tensor2d(data, [rows, V]), attention, pGen: tf.fill([rows, 1], pGen), state: { coverage } };
  };
}

describe('copy mechanism', () => {
  it('maps sources to the extended vocabulary and back', () => {
    const src = extendSource(['the', 'Zoë', 'sat', 'on', 'Zoë', 'Ärger'], vocab, V, 1);
    expect(src.extendedIds).toEqual([2, 7, 4, 5, 7, 8]);
    expect(src.modelIds).toEqual([2, 1, 4, 5, 1, 1]);
    expect(src.oovs).toEqual(['Zoë', 'Ärger']);
    expect(extendedToWords([2, 8, 7, 0], (i) => words[i], V, src.oovs)).toEqual(['the', 'Ärger', 'Zoë', '<eos>']);
  });

  it('copyDistribution is p_gen·P_vocab + (1 − p_gen)·scattered attention, and differentiable', async () => {
    await assertNoLeaks(async () => {
      const probs = tf.tensor2d([
        [0.5, 0.25, 0.25],
        [0.1, 0.2, 0.7],
      ]);
      const att = tf.tensor2d([
        [0.2, 0.3, 0.5],
        [0.6, 0.4, 0],
      ]);
      const g = tf.tensor1d([0.8, 0.25]);
      const ids = tf.tensor2d([[1, 3, 1], [4, 0, -1]], [2, 3], 'int32');
      const p = copyDistribution(probs, att, g, ids, 5);
      await assertClose(p, [0.4, 0.2 + 0.2 * 0.7, 0.2, 0.2 * 0.3, 0, 0.025 + 0.75 * 0.4, 0.05, 0.175, 0, 0.75 * 0.6], backendTolerance(), 'final', [2, 5]);
      const sums = tf.sum(p, 1);
      await assertClose(sums, [1, 1], backendTolerance(), 'normalised');
      // gradient w.r.t. the attention: d Σ w·P / d a_i = (1 − p_gen) · w[id_i]
      const w = tf.tensor2d([[1, 2, 3, 4, 5], [6, 7, 8, 9, 10]]);
      const grad = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(copyDistribution(probs, a, g, ids, 5), w)))(att);
      await assertClose(grad, [0.2 * 2, 0.2 * 4, 0.2 * 2, 0.75 * 10, 0.75 * 6, 0], backendTolerance(), 'grad');
      tf.dispose([probs, att, g, ids, p, sums, w, grad]);
    });
  });

  it('with p_gen = 1 equals plain decoding (greedy, beam, sampling)', async () => {
    await assertNoLeaks(async () => {
      const src = extendSource(['the', 'Zoë', 'sat'], vocab, V, 1);
      const init = () => ({ coverage: tf.zeros([1, 3]) });
      const plain = (tokens: readonly (readonly number[])[]) => {
        const data = new Float32Array(tokens.length * V);
        tokens.forEach((row, r) => data.set(prefixLogits(row, V, 3), r * V));
        return { logits: tf.tensor2d(data, [tokens.length, V]), state: null };
      };
      for (const run of [
        <S>(step: Parameters<typeof greedy<S>>[0], state: S) => greedy(step, [[2]], { state, eosTokenId: 0, maxNewTokens: 6 }),
        <S>(step: Parameters<typeof greedy<S>>[0], state: S) => beamSearch(step, [[2]], { state, numBeams: 3, numReturnSequences: 3, eosTokenId: 0, maxNewTokens: 6 }),
        <S>(step: Parameters<typeof greedy<S>>[0], state: S) => sample(step, [[2]], { state, seed: 3, numReturnSequences: 4, topP: 0.9, eosTokenId: 0, maxNewTokens: 6 }),
      ]) {
        const s0 = init();
        const copied = await run(copyStep(toyModel(1, 3), { sources: [src.extendedIds], vocabSize: V, unkTokenId: 1 }), s0);
        const reference = await run(plain, null);
        expect(copied.sequences[0].map((h) => h.tokens)).toEqual(reference.sequences[0].map((h) => h.tokens));
        copied.sequences[0].forEach((h, i) => h.tokenLogprobs.forEach((lp, k) => expect(lp).toBeCloseTo(reference.sequences[0][i].tokenLogprobs[k], 4)));
        tf.dispose(s0.coverage);
      }
    });
  });

  it('with p_gen = 0 copies the source, OOV words included, with every strategy', async () => {
    await assertNoLeaks(async () => {
      const sources = [extendSource(['the', 'Zoë', 'sat', 'on', 'Ärger'], vocab, V, 1), extendSource(['Quux', 'mat', 'Quux'], vocab, V, 1)];
      // two inputs: rows find their source through info.batchIndex (beams: 2 inputs × 3 beams)
      const S = 5;
      const pad = (ids: number[]) => [...ids, ...new Array(S - ids.length).fill(0)];
      const step = copyStep(toyModel(0, S), { sources: sources.map((s) => s.extendedIds), vocabSize: V, unkTokenId: 1 });
      const coverage = tf.zeros([2, S]);
      const g = await greedy(step, [[2], [2]], { state: { coverage }, maxNewTokens: 5 });
      const b = await beamSearch(step, [[2], [2]], { state: { coverage }, numBeams: 3, maxNewTokens: 5, lengthPenalty: 0 });
      const s = await sample(step, [[2], [2]], { state: { coverage }, seed: 1, temperature: 0.3, maxNewTokens: 5 });
      coverage.dispose();
      const expected0 = ['the', 'Zoë', 'sat', 'on', 'Ärger'];
      const toWords = (ids: number[], b: number) => extendedToWords(ids, (i) => words[i], V, sources[b].oovs);
      expect(toWords(g.sequences[0][0].tokens, 0)).toEqual(expected0);
      expect(toWords(b.sequences[0][0].tokens, 0)).toEqual(expected0);
      expect(g.sequences[1][0].tokens.slice(0, 3)).toEqual(sources[1].extendedIds);
      expect(b.sequences[1][0].tokens.slice(0, 3)).toEqual(sources[1].extendedIds);
      expect(toWords(s.sequences[1][0].tokens.slice(0, 3), 1)).toEqual(['Quux', 'mat', 'Quux']);
      expect(pad(sources[1].extendedIds).length).toBe(S);
      // the probability of the copied word is 0.9 + 0.1/S (plus 0.1/S per repeat of the word)
      expect(Math.exp(g.sequences[0][0].tokenLogprobs[1])).toBeCloseTo(0.9 + 0.1 / S, 4);
    });
  });

  it('copyStep takes sources padded with −1 (ignored), and refuses other negative ids', async () => {
    await assertNoLeaks(async () => {
      const sources = [extendSource(['the', 'Zoë', 'sat'], vocab, V, 1).extendedIds, [...extendSource(['Quux'], vocab, V, 1).extendedIds, -1, -1]];
      const step = copyStep(toyModel(0, 3), { sources, vocabSize: V, unkTokenId: 1 });
      const coverage = tf.zeros([2, 3]);
      const g = await greedy(step, [[2], [2]], { state: { coverage }, maxNewTokens: 3 });
      coverage.dispose();
      expect(g.sequences[1][0].tokens[0]).toBe(V); // Quux, the only real source word of input 1
      expect(() => copyStep(toyModel(0, 2), { sources: [[2, -2]], vocabSize: V, unkTokenId: 1 })).toThrow(/^copyStep: sources must be a non-empty list of extended source-id lists \(one per input; −1 pads\)/);
    });
  });

  it('coverage loss is Σ_t Σ_i min(a_t, c_t) averaged over steps, with mask, and has gradients', async () => {
    await assertNoLeaks(async () => {
      const a = tf.tensor3d([
        [
          [1, 0],
          [1, 0],
          [0.5, 0.5],
        ],
      ]);
      // c: [0,0], [1,0], [2,0] → per step 0, 1, 0.5 → mean 0.5
      const loss = coverageLoss(a);
      await assertClose(loss, [0.5], backendTolerance(), 'coverage loss');
      const mask = tf.tensor2d([[1, 1, 0]]);
      const masked = coverageLoss(a, mask);
      await assertClose(masked, [0.5], backendTolerance(), 'masked');
      const grad = tf.grad((x: tf.Tensor) => coverageLoss(x))(a);
      expect(grad.shape).toEqual([1, 3, 2]);
      const gd = await grad.data();
      expect(Array.from(gd).every(Number.isFinite)).toBe(true);
      expect(Array.from(gd).some((v) => v !== 0)).toBe(true);
      tf.dispose([a, loss, mask, masked, grad]);
    });
  });
});
