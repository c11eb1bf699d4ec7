// Options behave as Hugging Face `generate` users expect: unknown keys are rejected naming the valid ones,
// 0 turns noRepeatNgramSize and topK off, minLength is a plain option, and the caller's processors run
// before the sampling warpers.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { manualSeed, Rng } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { beamSearch, copyStep, greedy, sample, samplingProcessors, streamTokens, type LogitsProcessor, type StepFn } from '../src/index.js';
import { bigramStep, prefixStep } from './helpers.js';

const step = prefixStep(6, 3);

async function rejection(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (e) {
    return (e as Error).message;
  }
  return 'no error';
}

describe('unknown option keys are rejected, naming the valid ones', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['greedy({ maxLength })', () => greedy(step, [[1]], { maxLength: 5 } as never), /^greedy: options\.maxLength must be one of the known options \(.*maxNewTokens.*minLength.*\), got "maxLength"/],
    ['beamSearch({ num_beams })', () => beamSearch(step, [[1]], { num_beams: 4 } as never), /^beamSearch: options\.num_beams must be one of the known options \(.*numBeams.*doSample.*\)/],
    ['sample({ top_k })', () => sample(step, [[1]], { top_k: 5 } as never), /^sample: options\.top_k must be one of the known options \(.*topK.*seed.*\)/],
    ['sample({ numBeams })', () => sample(step, [[1]], { numBeams: 2 } as never), /^sample: options\.numBeams must be one of the known options/],
    ['greedy({ temperature })', () => greedy(step, [[1]], { temperature: 0.5 } as never), /^greedy: options\.temperature must be one of the known options/],
    ['copyStep({ vocab_size })', () => copyStep(() => null as never, { sources: [[1]], vocabSize: 3, unkTokenId: 0, vocab_size: 3 } as never), /^copyStep: options\.vocab_size must be one of the known options \(sources, vocabSize, unkTokenId, extendedVocabSize\)/],
    ['samplingProcessors({ topk })', () => samplingProcessors({ topk: 3 } as never), /^sample: options\.topk must be one of the known options \(temperature, topK, topP, minP, typicalP\)/],
  ];
  for (const [name, run, message] of cases) {
    it(name, async () => {
      await assertNoLeaks(async () => expect(await rejection(run)).toMatch(message));
    });
  }
});

describe('option values', () => {
  const bad: [string, () => unknown, RegExp][] = [
    ['topK −1', () => sample(step, [[1]], { topK: -1 }), /^sample: topK must be an integer ≥ 0 \(0 = off\), got -1/],
    ['topK 1.5', () => sample(step, [[1]], { topK: 1.5 }), /^sample: topK must be an integer ≥ 0/],
    ['noRepeatNgramSize −1', () => beamSearch(step, [[1]], { noRepeatNgramSize: -1 }), /^beamSearch: noRepeatNgramSize must be an integer ≥ 0 \(0 = off\), got -1/],
    ['minLength without EOS', () => greedy(step, [[1]], { minLength: 3 }), /^greedy: eosTokenId must be given when minLength is/],
    ['minLength −1', () => greedy(step, [[1]], { minLength: -1, eosTokenId: 0 }), /^greedy: minLength must be an integer ≥ 0/],
    ['seed and rng together', () => sample(step, [[1]], { seed: 1, rng: new Rng(2) }), /^sample: seed must be omitted when rng is given, got 1/],
    ['rng not an Rng', () => beamSearch(step, [[1]], { doSample: true, rng: {} as never }), /^beamSearch: rng must be an Rng from @dl\/core/],
    ['sampling options without doSample', () => beamSearch(step, [[1]], { temperature: 0.7 }), /^beamSearch: temperature must be given with doSample: true \(beam sampling\), got 0.7/],
    ['doSample not a boolean', () => beamSearch(step, [[1]], { doSample: 1 as never }), /^beamSearch: doSample must be a boolean/],
    ['highWaterMark 0', () => streamTokens(() => greedy(step, [[1]]), 0), /^streamTokens: highWaterMark must be a positive integer, got 0/],
    ['highWaterMark −3', () => streamTokens(() => greedy(step, [[1]]), -3), /^streamTokens: highWaterMark must be a positive integer, got -3/],
    ['highWaterMark 2.5', () => streamTokens(() => greedy(step, [[1]]), 2.5), /^streamTokens: highWaterMark must be a positive integer, got 2.5/],
    ['highWaterMark NaN', () => streamTokens(() => greedy(step, [[1]]), Number.NaN), /^streamTokens: highWaterMark must be a positive integer, got NaN/],
  ];
  for (const [name, run, message] of bad) {
    it(`rejects ${name}`, async () => {
      await assertNoLeaks(async () => expect(await rejection(run)).toMatch(message));
    });
  }

  it('topK 0 and noRepeatNgramSize 0 mean "off", as in HF', async () => {
    await assertNoLeaks(async () => {
      const opts = { maxNewTokens: 8, numReturnSequences: 3, seed: 11 };
      const plain = await sample(step, [[1], [2]], opts);
      const topK0 = await sample(step, [[1], [2]], { ...opts, topK: 0 });
      expect(topK0.sequences).toEqual(plain.sequences);
      const b = await beamSearch(step, [[1]], { numBeams: 3, maxNewTokens: 8 });
      const b0 = await beamSearch(step, [[1]], { numBeams: 3, maxNewTokens: 8, noRepeatNgramSize: 0 });
      expect(b0.sequences).toEqual(b.sequences);
    });
  });

  it('minLength forbids EOS while a row, prompt included, is shorter (HF min_length)', async () => {
    await assertNoLeaks(async () => {
      // EOS (0) is the most likely token after every token.
      const table = [
        [5, 1, 0],
        [5, 0, 1],
        [5, 1, 0],
      ];
      const free = await greedy(bigramStep(table), [[1, 2]], { eosTokenId: 0, maxNewTokens: 10 });
      expect(free.sequences[0][0].tokens).toEqual([0]);
      for (const decode of [
        () => greedy(bigramStep(table), [[1, 2]], { eosTokenId: 0, maxNewTokens: 10, minLength: 5 }),
        () => beamSearch(bigramStep(table), [[1, 2]], { numBeams: 2, eosTokenId: 0, maxNewTokens: 10, minLength: 5 }),
        () => sample(bigramStep(table), [[1, 2]], { eosTokenId: 0, maxNewTokens: 10, minLength: 5, seed: 1, numReturnSequences: 4 }),
      ]) {
        const r = await decode();
        for (const h of r.sequences[0]) {
          expect(h.tokens.indexOf(0)).toBe(3); // 2 prompt tokens + 3 generated reach length 5, then EOS
          expect(h.finishReason).toBe('eos');
        }
      }
    });
  });

  it("the caller's processors run before the warpers (HF), so a banned token does not take top-k's only place", async () => {
    await assertNoLeaks(async () => {
      // Token 2 is the most likely; the caller bans it. top-k 1 must then keep token 3, the next best.
      const logits: StepFn<null> = (tokens) => ({ logits: tf.tidy(() => tf.tile(tf.tensor2d([[0, 1, 4, 3, 2]]), [tokens.length, 1])), state: null });
      const ban2: LogitsProcessor = (_ids, s) => {
        const data = Float32Array.from(s.data);
        for (let r = 0; r < s.rows; r++) data[r * s.vocab + 2] = -Infinity;
        return { rows: s.rows, vocab: s.vocab, data };
      };
      const r = await sample(logits, [[0]], { topK: 1, processors: [ban2], maxNewTokens: 3, seed: 4 });
      expect(r.sequences[0][0].tokens).toEqual([3, 3, 3]);
      expect(r.sequences[0][0].tokenLogprobs).toEqual([0, 0, 0]); // the only token top-k kept
      const b = await beamSearch(logits, [[0]], { doSample: true, numBeams: 2, topK: 1, processors: [ban2], maxNewTokens: 2, seed: 4 });
      expect(b.sequences[0][0].tokens).toEqual([3, 3]);
    });
  });
});

describe('random generators', () => {
  /** A step that yields to the event loop, so two decodes started together interleave their steps. */
  const slowStep = (base: StepFn<null>): StepFn<null> => async (tokens, state, info) => {
    await new Promise((r) => setTimeout(r, 1));
    return base(tokens, state, info);
  };

  it('unseeded decodes started in the same order give the same tokens interleaved or one after the other', async () => {
    await assertNoLeaks(async () => {
      const opts = { maxNewTokens: 6, numReturnSequences: 2 };
      manualSeed(123);
      const together = await Promise.all([sample(slowStep(prefixStep(30, 5)), [[1]], opts), sample(slowStep(prefixStep(30, 6)), [[2]], opts)]);
      manualSeed(123);
      const first = await sample(slowStep(prefixStep(30, 5)), [[1]], opts);
      const second = await sample(slowStep(prefixStep(30, 6)), [[2]], opts);
      expect(together[0].sequences).toEqual(first.sequences);
      expect(together[1].sequences).toEqual(second.sequences);
      // and the global generator still seeds them: another seed, other tokens
      manualSeed(124);
      const other = await sample(slowStep(prefixStep(30, 5)), [[1]], opts);
      expect(other.sequences).not.toEqual(first.sequences);
    });
  });

  it('a seeded decode is not disturbed by an unseeded one running beside it', async () => {
    await assertNoLeaks(async () => {
      const opts = { maxNewTokens: 6, numReturnSequences: 2, seed: 9 };
      const alone = await sample(slowStep(prefixStep(30, 5)), [[1]], opts);
      const [withNeighbour] = await Promise.all([sample(slowStep(prefixStep(30, 5)), [[1]], opts), sample(slowStep(prefixStep(30, 7)), [[3]], { maxNewTokens: 6 })]);
      expect(withNeighbour.sequences).toEqual(alone.sequences);
    });
  });
});
