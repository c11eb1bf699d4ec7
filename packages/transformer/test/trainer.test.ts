// The training-loop helper: learning, exact resume (model, optimizer, step, data position, dropout's
// random generator), accumulation, evaluation with early stopping, and flat tensor counts.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { getRng, manualSeed } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { noam, warmupCosine } from '@dl/optim';
import { GPT, Trainer, type TrainerOptions } from '../src/index.js';
import { randomIds } from './helpers.js';

type Batch = number[][];
// A learnable corpus (each sequence counts up modulo 7 from a random start); position p takes two of
// them, a pure function of p.
const corpus = randomIds(8, 1, 0, 7, 11).map(([s]) => Array.from({ length: 9 }, (_, i) => (s + i) % 7));
const batchAt = (p: number): Batch => [corpus[(2 * p) % 8], corpus[(2 * p + 1) % 8]];

function setup(extra: Partial<TrainerOptions<Batch>> = {}): { gpt: GPT; trainer: Trainer<Batch> } {
  // Dropout on: resuming must also restore the random generator that draws its masks.
  const gpt = new GPT({ vocabSize: 7, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, dropout: 0.1, seed: 1 });
  const trainer = new Trainer<Batch>({
    model: gpt,
    batch: batchAt,
    loss: (b) => gpt.loss(b.map((r) => r.slice(0, -1)), b.map((r) => r.slice(1))),
    optimizer: { lr: warmupCosine({ peak: 1e-2, warmupSteps: 3, totalSteps: 12 }), weightDecay: 0.1 },
    clipGradNorm: 1,
    ...extra,
  });
  return { gpt, trainer };
}

describe('Trainer', () => {
  it('learns, and a run resumed from a checkpoint repeats the uninterrupted losses exactly', async () => {
    await assertNoLeaks(async () => {
      manualSeed(5);
      const a = setup();
      const full = await a.trainer.fit(12);
      expect(full.losses.length).toBe(12);
      expect(full.losses[11]).toBeLessThan(full.losses[0] - 0.3);
      a.trainer.dispose();
      a.gpt.dispose();

      manualSeed(5);
      const b = setup();
      const first = await b.trainer.fit(5);
      const bytes = await b.trainer.checkpoint();
      b.trainer.dispose();
      b.gpt.dispose();
      manualSeed(999); // a different generator state, which the checkpoint must override

      const c = setup();
      await c.trainer.restore(bytes);
      expect(c.trainer.step).toBe(5);
      expect(c.trainer.dataPosition).toBe(5);
      const rest = await c.trainer.fit(12);
      expect([...first.losses, ...rest.losses]).toEqual(full.losses);
      c.trainer.dispose();
      c.gpt.dispose();
    });
  });

  it('accumulates micro-batches, evaluates, stops early, checkpoints, and keeps the tensor count flat', async () => {
    await assertNoLeaks(async () => {
      const counts: number[] = [];
      const evalsSeen: number[] = [];
      const checkpoints: number[] = [];
      let metric = 10;
      const { gpt, trainer } = setup({
        accumulate: 2,
        evalEvery: 2,
        evaluate: (m) => {
          expect(m.training).toBe(false);
          metric = Math.min(metric, 5); // improves once, then never again
          return metric;
        },
        earlyStopping: { patience: 2 },
        onProgress: (p) => {
          counts.push(tf.memory().numTensors);
          if (p.evalMetric !== undefined) evalsSeen.push(p.step);
        },
        checkpointEvery: 3,
        onCheckpoint: (bytes, step) => {
          expect(bytes.length).toBeGreaterThan(1000);
          checkpoints.push(step);
        },
      });
      const r = await trainer.fit(20);
      // Evaluations at 2 (best 5), 4 and 6 (no improvement): patience 2 stops after step 6.
      expect(r.stopped).toBe('early-stopping');
      expect(r.step).toBe(6);
      expect(evalsSeen).toEqual([2, 4, 6]);
      expect(trainer.dataPosition).toBe(12); // two micro-batches per update
      expect(checkpoints).toEqual([3, 6]);
      expect(new Set(counts.slice(1)).size).toBe(1); // flat after the first update
      trainer.dispose();
      gpt.dispose();
    });
  });

  it('an update that fails midway (second micro-batch) changes nothing: a retry repeats the uninterrupted run', async () => {
    await assertNoLeaks(async () => {
      manualSeed(7);
      const a = setup({ accumulate: 2 });
      const full = await a.trainer.fit(4);
      a.trainer.dispose();
      a.gpt.dispose();

      manualSeed(7);
      let fail = true;
      // Position 5 is the second micro-batch of update 3: the first time it is asked for, its ids leave the vocabulary.
      const b = setup({ accumulate: 2, batch: (p) => (p === 5 && fail ? [[1, 2, 3, 4, 5, 6, 7, 8, 99]] : batchAt(p)) });
      await expect(b.trainer.fit(4)).rejects.toThrow(/GPT\.forward: idx must be token ids in \[0, 7\)/);
      expect(b.trainer.step).toBe(2);
      expect(b.trainer.dataPosition).toBe(4);
      expect(b.trainer.optimizer.stateDict().metadata.accumulated).toBe('0'); // update 3's first micro-batch was dropped
      const weights = await b.gpt.wte.weight.data();
      const rng = getRng().getState();
      fail = false;
      const rest = await b.trainer.fit(4);
      expect(rest.losses).toEqual(full.losses.slice(2));
      // And the failed call had left the weights and the generator where update 2 left them.
      manualSeed(7);
      const c = setup({ accumulate: 2 });
      await c.trainer.fit(2);
      expect(Array.from(await c.gpt.wte.weight.data())).toEqual(Array.from(weights));
      expect(getRng().getState()).toEqual(rng);
      [b, c].forEach((r) => {
        r.trainer.dispose();
        r.gpt.dispose();
      });
    });
  });

  it('builds AdamW with decay on matrices only, follows a Noam schedule, and reports the pre-clipping gradient norm', async () => {
    await assertNoLeaks(async () => {
      const schedule = noam({ dModel: 16, warmupSteps: 2, factor: 0.5 });
      const seen: { step: number; lr: number | undefined; gradNorm?: number }[] = [];
      const { gpt, trainer } = setup({ optimizer: { lr: schedule, weightDecay: 0.1 }, clipGradNorm: 1e-3, onProgress: (p) => void seen.push(p) });
      const groups = trainer.optimizer.paramGroups as readonly { params: readonly tf.Variable[]; options: { weightDecay?: number } }[];
      const named = new Map(gpt.namedParameters().map(([n, v]) => [v, n]));
      expect(groups.map((g) => g.options.weightDecay)).toEqual([0.1, 0]);
      expect(groups[0].params.every((v) => v.rank === 2)).toBe(true); // embeddings and weight matrices
      expect(groups[1].params.map((v) => named.get(v)).filter((n) => !/(bias|ln_\d|ln_f)/.test(n!))).toEqual([]); // biases and norms
      expect(groups[0].params.length + groups[1].params.length).toBe(gpt.namedParameters().length);
      await trainer.fit(3);
      expect(seen.map((p) => p.lr)).toEqual([0, 1, 2].map((t) => schedule(t)));
      // A clip far below the gradient norm: the report gives the norm before clipping.
      expect(seen.every((p) => p.gradNorm !== undefined && p.gradNorm > 1e-3)).toBe(true);
      trainer.dispose();
      gpt.dispose();
    });
  });

  it('rejects bad options and a checkpoint of another model, changing nothing', async () => {
    await assertNoLeaks(async () => {
      const { gpt, trainer } = setup();
      expect(() => new Trainer({ ...{ model: gpt, batch: batchAt, loss: () => tf.scalar(0) }, epochs: 3 } as never)).toThrow(/Trainer: options\.epochs must be one of the known options/);
      expect(() => new Trainer({ model: gpt, batch: batchAt, loss: () => tf.scalar(0), evalEvery: 5 })).toThrow(/Trainer: evaluate must be given together with evalEvery/);
      expect(() => new Trainer({ model: gpt, batch: batchAt, loss: () => tf.scalar(0), checkpointEvery: 5 })).toThrow(/Trainer: onCheckpoint must be a function/);
      const other = new GPT({ vocabSize: 7, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16, seed: 2 });
      const otherTrainer = new Trainer<Batch>({ model: other, batch: batchAt, loss: (b) => other.loss(b.map((r) => r.slice(0, -1)), b.map((r) => r.slice(1))) });
      await otherTrainer.fit(1);
      const bytes = await otherTrainer.checkpoint();
      const before = await gpt.wte.weight.data();
      await expect(trainer.restore(bytes)).rejects.toThrow(/Trainer.restore: model must be the checkpoint's parameters, got missing \[\], unexpected \[transformer\.h\.1\./);
      expect(Array.from(await gpt.wte.weight.data())).toEqual(Array.from(before));
      expect(trainer.step).toBe(0);
      otherTrainer.dispose();
      other.dispose();
      trainer.dispose();
      gpt.dispose();
    });
  });
});
