// Dropout's generator: seeded dropouts own their generator, so interleaved trainings do not change each
// other's results; unseeded ones share the global generator (manualSeed), as documented.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DLArgumentError, Dropout, getRng, Linear, manualSeed, mseLoss, Rng, Sequential } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

/** A tiny regression model with dropout whose masks come from `dropout`'s options. */
function model(seed: number, dropout: ConstructorParameters<typeof Dropout>[1]) {
  const rng = new Rng(seed);
  return new Sequential(new Linear(6, 8, { rng }), new Dropout(0.5, dropout), new Linear(8, 2, { rng }));
}

/** One training step's function: returns the loss value after the step. */
function trainer(net: Sequential, seed: number) {
  const rng = new Rng(seed + 100);
  const x = tf.tensor2d(rng.normalArray(5 * 6), [5, 6]);
  const y = tf.tensor2d(rng.normalArray(5 * 2), [5, 2]);
  const opt = tf.train.sgd(0.05);
  return {
    async step(): Promise<number> {
      const loss = opt.minimize(() => mseLoss(net.forward(x), y) as tf.Scalar, true, net.parameters(true))!;
      const v = (await loss.data())[0];
      loss.dispose();
      return v;
    },
    dispose() {
      tf.dispose([x, y]);
      opt.dispose();
      net.dispose();
    },
  };
}

async function alone(seed: number, dropout: ConstructorParameters<typeof Dropout>[1], steps: number): Promise<number[]> {
  const t = trainer(model(seed, dropout), seed);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) out.push(await t.step());
  t.dispose();
  return out;
}

describe('Dropout generators', () => {
  it('two interleaved trainings with seeded dropouts give exactly what each gives alone', async () => {
    await assertNoLeaks(async () => {
      const steps = 6;
      const a = await alone(1, { seed: 11 }, steps);
      const b = await alone(2, { seed: 22 }, steps);
      const ta = trainer(model(1, { seed: 11 }), 1);
      const tb = trainer(model(2, { seed: 22 }), 2);
      const ia: number[] = [];
      const ib: number[] = [];
      for (let i = 0; i < steps; i++) {
        ia.push(await ta.step());
        getRng().uniform(); // unrelated draws from the global generator between steps change nothing either
        ib.push(await tb.step());
        ib.push(await tb.step());
        i++;
        ia.push(await ta.step());
      }
      expect(ia).toEqual(a);
      expect(ib).toEqual(b);
      ta.dispose();
      tb.dispose();
    });
  });

  it('a seed gives the same masks as an Rng with that seed, and repeats', async () => {
    await assertNoLeaks(async () => {
      const x = tf.ones([4, 8]);
      const bySeed = new Dropout(0.3, { seed: 5 });
      const byRng = new Dropout(0.3, { rng: new Rng(5) });
      for (let i = 0; i < 3; i++) {
        const [u, v] = [bySeed.forward(x), byRng.forward(x)];
        expect(Array.from(await u.data())).toEqual(Array.from(await v.data()));
        tf.dispose([u, v]);
      }
      expect(bySeed.rng).toBeInstanceOf(Rng);
      tf.dispose(x);
    });
  });

  it('unseeded dropouts share the global generator: manualSeed repeats them, other draws move them', async () => {
    await assertNoLeaks(async () => {
      const x = tf.ones([4, 8]);
      const drop = new Dropout(0.5);
      expect(drop.rng).toBeNull();
      const mask = async () => {
        const y = drop.forward(x);
        const v = Array.from(await y.data());
        y.dispose();
        return v;
      };
      manualSeed(9);
      const first = await mask();
      manualSeed(9);
      expect(await mask()).toEqual(first);
      manualSeed(9);
      getRng().uniform(); // someone else drew from the global generator first
      expect(await mask()).not.toEqual(first);
      tf.dispose(x);
    });
  });

  it('rejects a bad seed, both seed and rng, and unknown option keys', async () => {
    await assertNoLeaks(() => {
      const cases: [() => unknown, RegExp][] = [
        [() => new Dropout(0.1, { seed: -1 }), /Dropout: options.seed must be an integer ≥ 0, got -1/],
        [() => new Dropout(0.1, { seed: 1, rng: new Rng(1) }), /Dropout: options.seed must be left out when options.rng is given/],
        [() => new Dropout(0.1, { sed: 1 } as never), /Dropout: options.sed must be one of the known options \(seed, rng\)/],
        [() => new Dropout(0.1, { rng: {} as never }), /Dropout: options.rng must be an Rng/],
      ];
      for (const [f, message] of cases) {
        expect(f).toThrow(DLArgumentError);
        expect(f).toThrow(message);
      }
    });
  });
});
