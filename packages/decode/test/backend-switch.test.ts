// A backend switch (useBackend) while a decode is in flight fails that decode with a clear error at its
// next step, frees what it held, and leaves the process working: the next decode runs on the new backend.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useBackend } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { beamSearch, greedy, sample, type StepFn } from '../src/index.js';
import { featureStep } from './helpers.js';

const V = 5;

/** featureStep, but the step numbered `at` first switches to `to` (an await inside the step). */
function switchingStep(at: number, to: string): StepFn<null> {
  const base = featureStep(V);
  return async (tokens, state, info) => {
    if (info.step === at) await useBackend(to as never);
    return base(tokens, state, info);
  };
}

describe('a backend switch during a decode', () => {
  const active = () => tf.getBackend();
  const otherThan = (name: string) => (name === 'cpu' ? 'wasm' : 'cpu');

  for (const [label, run] of [
    ['greedy', (step: StepFn<null>) => greedy(step, [[1], [2]], { maxNewTokens: 6 })],
    ['sample', (step: StepFn<null>) => sample(step, [[1]], { maxNewTokens: 6, seed: 3 })],
    ['beamSearch', (step: StepFn<null>) => beamSearch(step, [[1]], { numBeams: 2, maxNewTokens: 6 })],
  ] as const) {
    it(`${label}: a switch inside a step fails the decode naming both backends, without leaks`, async () => {
      const start = active();
      const other = otherThan(start);
      try {
        await assertNoLeaks(async () => {
          await expect(run(switchingStep(2, other))).rejects.toThrow(
            new RegExp(`${label}: the backend changed from ${start} to ${other} during the decode \\(at step 2\\)`),
          );
        });
        // The process still works: a new decode runs on the backend now active.
        await assertNoLeaks(async () => {
          const { sequences } = await run(featureStep(V));
          expect(sequences[0][0].tokens.length).toBe(6);
        });
      } finally {
        await useBackend(start as never);
      }
    });
  }

  it('a switch between steps (in onToken) fails the next step', async () => {
    const start = active();
    try {
      await assertNoLeaks(async () => {
        let switched = false;
        const onToken = async () => {
          if (switched) return;
          switched = true;
          await useBackend(otherThan(start) as never);
        };
        await expect(greedy(featureStep(V), [[1]], { maxNewTokens: 5, onToken })).rejects.toThrow(/greedy: the backend changed from .* during the decode \(at step 1\)/);
      });
    } finally {
      await useBackend(start as never);
    }
  });

  it('selecting the backend already active is not a switch: the decode goes on', async () => {
    const start = active();
    await assertNoLeaks(async () => {
      const plain = await greedy(featureStep(V), [[1]], { maxNewTokens: 5 });
      const again = await greedy(switchingStep(2, start), [[1]], { maxNewTokens: 5 });
      expect(again.sequences[0][0].tokens).toEqual(plain.sequences[0][0].tokens);
    });
  });
});
