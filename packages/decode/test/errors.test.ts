import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { beamSearch, copyDistribution, copyStep, gatherState, greedy, minP, sample, streamTokens, topK, topP, temperature, typical, type StepFn } from '../src/index.js';
import { prefixStep } from './helpers.js';

const step = prefixStep(5);
const cases: [string, () => unknown, RegExp][] = [
  ['topP 0', () => sample(step, [[1]], { topP: 0 }), /sample: topP must be a number in \(0, 1\], got 0/],
  ['topP > 1', () => sample(step, [[1]], { topP: 1.5 }), /topP must be .*got 1.5/],
  ['topP NaN', () => topP(Number.NaN), /topP: p must be/],
  ['topK 2.5', () => topK(2.5), /topK: k must be a positive integer/],
  ['temperature 0', () => sample(step, [[1]], { temperature: 0 }), /sample: temperature must be a number in \(0, Infinity\], got 0/],
  ['temperature −1', () => temperature(-1), /temperature: temperature must be/],
  ['minP 2', () => sample(step, [[1]], { minP: 2 }), /sample: minP must be/],
  ['minP factory', () => minP(-0.1), /minP: minP must be/],
  ['typicalP 0', () => typical(0), /typical: mass must be/],
  ['numBeams 0', () => beamSearch(step, [[1]], { numBeams: 0 }), /beamSearch: numBeams must be a positive integer, got 0/],
  ['numReturnSequences > numBeams', () => beamSearch(step, [[1]], { numBeams: 2, numReturnSequences: 3 }), /beamSearch: numReturnSequences must be ≤ numBeams \(2\), got 3/],
  ['earlyStopping', () => beamSearch(step, [[1]], { earlyStopping: 'sometimes' as never }), /beamSearch: earlyStopping must be/],
  ['lengthPenalty NaN', () => beamSearch(step, [[1]], { lengthPenalty: Number.NaN }), /beamSearch: lengthPenalty must be a finite number/],
  ['maxNewTokens 0', () => greedy(step, [[1]], { maxNewTokens: 0 }), /greedy: maxNewTokens must be a positive integer, got 0/],
  ['repetitionPenalty 0', () => greedy(step, [[1]], { repetitionPenalty: 0 }), /greedy: repetitionPenalty must be/],
  ['eosTokenId −1', () => greedy(step, [[1]], { eosTokenId: -1 }), /greedy: eosTokenId must be a non-negative integer/],
  ['minNewTokens without EOS', () => greedy(step, [[1]], { minNewTokens: 2 }), /greedy: eosTokenId must be given when minNewTokens is/],
  ['inputIds empty', () => greedy(step, []), /greedy: inputIds must be a non-empty list/],
  ['inputIds floats', () => greedy(step, [[1.5]]), /greedy: inputIds must be lists of non-negative integer token ids/],
  ['step not a function', () => greedy(null as never, [[1]]), /greedy: step must be a function/],
  ['numReturnSequences 0', () => sample(step, [[1]], { numReturnSequences: 0 }), /sample: numReturnSequences must be a positive integer/],
  ['stopSequences', () => greedy(step, [[1]], { stopSequences: [[]] }), /greedy: stopSequences must be a list of non-empty token-id lists/],
  ['maxTimeMs', () => greedy(step, [[1]], { maxTimeMs: -5 }), /greedy: maxTimeMs must be/],
  ['vocabSize mismatch', () => greedy(step, [[1]], { vocabSize: 6 }), /greedy: step logits must be of shape \[1, 6\].*got Tensor float32 \[1,5\]/],
  ['copyStep unk', () => copyStep(() => null as never, { sources: [[1]], vocabSize: 3, unkTokenId: 3 }), /copyStep: unkTokenId must be < vocabSize \(3\), got 3/],
  ['copyStep sources', () => copyStep(() => null as never, { sources: [], vocabSize: 3, unkTokenId: 0 }), /copyStep: sources must be/],
  ['streamTokens', () => streamTokens(null as never), /streamTokens: start must be a function/],
];

describe('invalid arguments get clear errors naming the argument', () => {
  for (const [name, run, message] of cases) {
    it(name, async () => {
      await assertNoLeaks(async () => {
        let error: unknown = null;
        try {
          await run();
        } catch (e) {
          error = e;
        }
        expect(error, `${name} should throw`).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(message);
      });
    });
  }

  it('logits whose width changes between steps', async () => {
    await assertNoLeaks(async () => {
      const growing: StepFn<null> = (tokens) => ({ logits: tf.zeros([tokens.length, 3 + tokens[0].length]), state: null });
      await expect(greedy(growing, [[1]], { maxNewTokens: 3 })).rejects.toThrow(/greedy: step logits must be of shape \[1, 4\]/);
      const wrongRows: StepFn<null> = () => ({ logits: tf.zeros([1, 4]), state: null });
      await expect(beamSearch(wrongRows, [[1]], { numBeams: 2 })).rejects.toThrow(/beamSearch: step logits must be of shape \[2, vocab\]/);
      const rank3: StepFn<null> = (tokens) => ({ logits: tf.zeros([tokens.length, 1, 4]), state: null });
      await expect(sample(rank3, [[1]])).rejects.toThrow(/sample: step logits must be of shape \[1, vocab\]/);
    });
  });

  it('a state that cannot be gathered, and shape errors of the copy distribution', async () => {
    await assertNoLeaks(async () => {
      const t = tf.zeros([1, 2]);
      expect(() => gatherState({ cache: t }, [0, 1])).toThrow(/gatherState: state.cache must be a tensor with a row axis 0 of size > 1/);
      class Opaque {
        x = t;
      }
      expect(() => gatherState(new Opaque(), [0, 0])).toThrow(/reorder\(indices\)/);
      const ids = tf.zeros([1, 3], 'int32');
      expect(() => tf.tidy(() => copyDistribution(tf.zeros([1, 4]), tf.zeros([2, 3]), tf.zeros([1]), ids, 5))).toThrow(/copyDistribution: attention must be of size 1 on axis 0/);
      expect(() => tf.tidy(() => copyDistribution(tf.zeros([1, 4]), tf.zeros([1, 3]), tf.zeros([1]), ids, 3))).toThrow(/copyDistribution: extendedVocabSize must be an integer ≥ 4/);
      tf.dispose([t, ids]);
    });
  });

  it('NaN or +Infinity logits stop every decoder with a clear error (never NaN scores)', async () => {
    await assertNoLeaks(async () => {
      for (const [bad, name] of [
        [Number.NaN, 'NaN'],
        [Infinity, '\\+Infinity'],
      ] as const) {
        // Row 1, token 2 goes bad at step 1.
        const poisoned: StepFn<null> = (tokens, s, info) => {
          const data = new Float32Array(tokens.length * 5).map((_, i) => (i % 5) * 0.1);
          if (info.step === 1) data[1 * 5 + 2] = bad;
          return { logits: tf.tensor2d(data, [tokens.length, 5]), state: s };
        };
        const message = (where: string) => new RegExp(`^${where}: the step function's logits hold ${name} at step 1 \\(row 1, token 2\\); logits must be finite or -Infinity`);
        await expect(greedy(poisoned, [[1], [2]])).rejects.toThrow(message('greedy'));
        await expect(sample(poisoned, [[1], [2]], { seed: 1 })).rejects.toThrow(message('sample'));
        await expect(beamSearch(poisoned, [[1]], { numBeams: 2 })).rejects.toThrow(message('beamSearch'));
        await expect(beamSearch(poisoned, [[1]], { numBeams: 2, repetitionPenalty: 1.2 })).rejects.toThrow(message('beamSearch'));
        await expect(beamSearch(poisoned, [[1]], { numBeams: 2, doSample: true, seed: 1 })).rejects.toThrow(message('beamSearch'));
        // A processor that produces NaN or +Infinity is named as the culprit.
        const broken = (_ids: unknown, s: { rows: number; vocab: number; data: Float32Array }) => ({ ...s, data: Float32Array.from(s.data, (v, i) => (i === 3 ? bad : v)) });
        await expect(beamSearch(prefixStep(5), [[1]], { numBeams: 2, processors: [broken] })).rejects.toThrow(new RegExp(`^beamSearch: the logits processors' scores hold ${name} at step 0 \\(row 0, token 3\\)`));
        await expect(greedy(prefixStep(5), [[1]], { processors: [broken] })).rejects.toThrow(new RegExp(`^greedy: the logits processors' scores hold ${name} at step 0 \\(row 0, token 3\\)`));
      }
    });
  });

  it('a fully forbidden row is reported, not sampled', async () => {
    await assertNoLeaks(async () => {
      const allBanned = () => ({ rows: 1, vocab: 5, data: new Float32Array(5).fill(-Infinity) });
      await expect(greedy(step, [[1]], { processors: [allBanned] })).rejects.toThrow(/every token is forbidden for row 0 at step 0/);
    });
  });
});
