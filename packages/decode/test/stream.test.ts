import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import * as tf from '@tensorflow/tfjs-core';
import { beamSearch, greedy, sample, streamTokens, type StepFn, type TokenEvent } from '../src/index.js';
import { prefixStep } from './helpers.js';

describe('streaming', () => {
  it('yields greedy and sampled tokens as decided, matching the result', async () => {
    await assertNoLeaks(async () => {
      const stream = streamTokens((onToken, signal) => greedy(prefixStep(9, 2), [[1], [3]], { maxNewTokens: 7, eosTokenId: 0, onToken, signal }), 2);
      const seen: TokenEvent[] = [];
      for await (const e of stream) seen.push(e);
      const result = await stream.result;
      for (let b = 0; b < 2; b++) {
        expect(seen.filter((e) => e.batchIndex === b).map((e) => e.token)).toEqual(result.sequences[b][0].tokens);
        expect(seen.filter((e) => e.batchIndex === b).map((e) => e.logprob)).toEqual(result.sequences[b][0].tokenLogprobs);
      }
      const events: TokenEvent[] = [];
      const s = await sample(prefixStep(9, 2), [[1]], { maxNewTokens: 5, numReturnSequences: 2, seed: 1, onToken: (e) => void events.push(e) });
      for (let k = 0; k < 2; k++) expect(events.filter((e) => e.sequence === k).map((e) => e.token)).toEqual(s.sequences[0][k].tokens);
    });
  });

  it('streams beam search tokens once every candidate agrees, ending with the best sequence', async () => {
    await assertNoLeaks(async () => {
      const positionsAtStep: number[] = [];
      const events: TokenEvent[] = [];
      // The first generated token is almost certain (4), so the beams agree on it long before the end.
      const base = prefixStep(6, 4);
      const step: StepFn<null> = async (tokens, state, info) => {
        const out = await base(tokens, state, info);
        if (info.step > 0) return out;
        const logits = tf.tidy(() => tf.add(out.logits, tf.mul(tf.oneHot(tf.fill([tokens.length], 4, 'int32'), 6), 20)));
        out.logits.dispose();
        return { logits, state };
      };
      const r = await beamSearch(step, [[1], [2]], {
        minNewTokens: 2,
        numBeams: 3,
        maxNewTokens: 12,
        eosTokenId: 0,
        onToken: (e) => void events.push(e),
        stoppingCriteria: [{ reason: 'probe', check: () => (positionsAtStep.push(events.length), false) }],
      });
      for (let b = 0; b < 2; b++) {
        const mine = events.filter((e) => e.batchIndex === b);
        expect(mine.map((e) => e.token)).toEqual(r.sequences[b][0].tokens);
        expect(mine.map((e) => e.position)).toEqual(mine.map((_, i) => i));
      }
      expect(positionsAtStep.some((n) => n > 0)).toBe(true); // some tokens came before the end
    });
  });

  it('stops the decoder when the consumer stops early, and passes errors on', async () => {
    await assertNoLeaks(async () => {
      let steps = 0;
      const step = prefixStep(5, 1);
      const stream = streamTokens((onToken, signal) =>
        greedy<null>(
          (t, s, i) => {
            steps++;
            return step(t, s, i);
          },
          [[1]],
          { maxNewTokens: 1000, onToken, signal },
        ),
      );
      let n = 0;
      for await (const e of stream) {
        expect(e.position).toBe(n);
        if (++n === 3) break;
      }
      const result = await stream.result;
      expect(result.sequences[0][0].finishReason).toBe('abort');
      expect(steps).toBeLessThan(10);
      const failing = streamTokens(() => greedy(() => ({ logits: null as never, state: null }), [[1]]));
      await expect(failing.next()).rejects.toThrow(/step/);
      await expect(failing.result).rejects.toThrow(/step/);
    });
  });
});
