import { describe, expect, it } from 'vitest';
import { minLength, minNewTokens, minP, noRepeatNgram, processorList, repetitionPenalty, temperature, topK, topP, typical, type ScoreMatrix, type StepInfo } from '../src/index.js';

const info = (step = 0, rows = 1): StepInfo => ({ step, batchIndex: new Array(rows).fill(0), promptLength: new Array(rows).fill(1), elapsedMs: 0 });
const m = (...rows: number[][]): ScoreMatrix => ({ rows: rows.length, vocab: rows[0].length, data: Float32Array.from(rows.flat()) });
const kept = (s: ScoreMatrix, r = 0) => Array.from(s.data.slice(r * s.vocab, (r + 1) * s.vocab)).flatMap((v, i) => (v > -Infinity ? [i] : []));
const logp = (p: number[]) => p.map(Math.log);

describe('logits processors', () => {
  it('never mutate their input', () => {
    const s = m([1, 2, 3, 4], [4, 3, 2, 1]);
    const copy = Float32Array.from(s.data);
    for (const p of [temperature(0.5), topK(2), topP(0.5), minP(0.5), typical(0.5), repetitionPenalty(2), noRepeatNgram(1), minNewTokens(3, 0), minLength(5, 0)]) {
      p([[1, 2], [3]], s, info(0, 2));
      expect(s.data).toEqual(copy);
    }
  });

  it('top-p keeps the smallest set whose mass reaches p, at least one token', () => {
    const s = m(logp([0.5, 0.3, 0.15, 0.05]));
    expect(kept(topP(0.5)([[0]], s, info()))).toEqual([0]); // 0.5 reaches 0.5 exactly
    expect(kept(topP(0.51)([[0]], s, info()))).toEqual([0, 1]);
    expect(kept(topP(0.8)([[0]], s, info()))).toEqual([0, 1]);
    expect(kept(topP(0.81)([[0]], s, info()))).toEqual([0, 1, 2]);
    expect(kept(topP(1e-9)([[0]], s, info()))).toEqual([0]);
    expect(kept(topP(1)([[0]], s, info()))).toEqual([0, 1, 2, 3]);
    expect(kept(topP(0.1, 3)([[0]], s, info()))).toEqual([0, 1, 2]); // minTokensToKeep
    const unsorted = m(logp([0.05, 0.3, 0.15, 0.5]));
    expect(kept(topP(0.7)([[0]], unsorted, info()))).toEqual([1, 3]);
  });

  it('top-k keeps k tokens (and ties with the k-th), rows independently', () => {
    const s = m([1, 5, 3, 3, 0], [9, 8, 7, 6, 5]);
    const out = topK(2)([[0], [0]], s, info(0, 2));
    expect(kept(out, 0)).toEqual([1, 2, 3]);
    expect(kept(out, 1)).toEqual([0, 1]);
    expect(out.data[1]).toBe(5); // kept values unchanged
    expect(kept(topK(10)([[0]], m([1, 2]), info()))).toEqual([0, 1]);
  });

  it('min-p drops tokens below minP × the top probability', () => {
    const s = m(logp([0.5, 0.3, 0.1, 0.06, 0.04]));
    expect(kept(minP(0.19)([[0]], s, info()))).toEqual([0, 1, 2]);
    expect(kept(minP(0.21)([[0]], s, info()))).toEqual([0, 1]);
    expect(kept(minP(0.0)([[0]], s, info()))).toEqual([0, 1, 2, 3, 4]);
    expect(kept(minP(1)([[0]], s, info()))).toEqual([0]);
  });

  it('typical keeps the tokens closest to the entropy until the mass is reached', () => {
    const p = [0.4, 0.3, 0.2, 0.1];
    const H = -p.reduce((a, v) => a + v * Math.log(v), 0); // 1.2799
    // |−log p − H|: 0.364, 0.076, 0.330, 1.023 → order 1, 2, 0, 3
    expect(H).toBeCloseTo(1.2799, 3);
    const s = m(logp(p));
    expect(kept(typical(0.3)([[0]], s, info()))).toEqual([1]);
    expect(kept(typical(0.31)([[0]], s, info()))).toEqual([1, 2]);
    expect(kept(typical(0.85)([[0]], s, info()))).toEqual([0, 1, 2]);
  });

  it('temperature, repetition penalty, no-repeat-n-gram, min length', () => {
    expect(Array.from(temperature(2)([[0]], m([2, -4]), info()).data)).toEqual([1, -2]);
    expect(Array.from(repetitionPenalty(2)([[0, 1, 1]], m([2, -4, 3]), info()).data)).toEqual([1, -8, 3]);
    // row 1 2 3 1 2 → the bigram after "2"... trigram "1 2 3" exists, so after "1 2" token 3 is banned
    expect(kept(noRepeatNgram(3)([[1, 2, 3, 1, 2]], m([0, 0, 0, 0, 0]), info()))).toEqual([0, 1, 2, 4]);
    expect(kept(noRepeatNgram(2)([[1, 2, 1]], m([0, 0, 0, 0]), info()))).toEqual([0, 1, 3]);
    expect(kept(noRepeatNgram(1)([[1, 2]], m([0, 0, 0, 0]), info()))).toEqual([0, 3]);
    expect(kept(noRepeatNgram(4)([[1, 2]], m([0, 0, 0]), info()))).toEqual([0, 1, 2]);
    expect(kept(minNewTokens(2, [0, 3])([[5]], m([0, 0, 0, 0]), info(1)))).toEqual([1, 2]);
    expect(kept(minNewTokens(2, 0)([[5]], m([0, 0, 0, 0]), info(2)))).toEqual([0, 1, 2, 3]);
    expect(kept(minLength(3, 0)([[5, 6]], m([0, 0]), info()))).toEqual([1]);
    expect(kept(minLength(3, 0)([[5, 6, 7]], m([0, 0]), info()))).toEqual([0, 1]);
  });

  it('processorList applies left to right', () => {
    const s = m([4, 2, 1, -1]);
    const a = processorList(temperature(0.5), topK(2))([[0]], s, info());
    expect(Array.from(a.data)).toEqual([8, 4, -Infinity, -Infinity]);
    const b = processorList(topK(2), repetitionPenalty(4))([[0, 2]], s, info());
    expect(Array.from(b.data)).toEqual([1, 2, -Infinity, -Infinity]);
  });
});
