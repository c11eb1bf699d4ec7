// Scheduled sampling for Transformers (Mihaylova & Martins 2019): p = 0 is teacher forcing exactly,
// p = 1 feeds the first pass's predictions (a hand-set model whose prediction is known), the replaced
// positions are exactly the seeded draws below p, sampling follows the softmax, gradients equal those of
// the second pass alone, and nothing leaks.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { constant, linear } from '@dl/optim';
import { EncoderDecoder, scheduledSamplingInputs, scheduledSamplingLoss } from '../src/index.js';
import { modelTolerance, randomIds } from './helpers.js';

const PAD = 0;
const BOS = 1;
const EOS = 2;

function makeModel(seed = 0): EncoderDecoder {
  return new EncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 10, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: PAD, seed });
}

/** The generator ignores its input and scores token `winner` highest: every prediction is `winner`. */
function predictAlways(model: EncoderDecoder, winner: number): void {
  tf.tidy(() => {
    model.generator!.weight.assign(tf.zerosLike(model.generator!.weight));
    model.generator!.bias!.assign(tf.mul(tf.cast(tf.reshape(tf.oneHot(tf.tensor1d([winner], 'int32'), 10), [10]), 'float32'), 5));
  });
}

const src = [[4, 5, 6, 7], [8, 9, PAD, PAD]];
const tgtIn = [[BOS, 7, 6, 5, 4], [BOS, 9, 8, PAD, PAD]];
const tgtOut = [[7, 6, 5, 4, EOS], [9, 8, EOS, PAD, PAD]];

describe('scheduledSamplingInputs', () => {
  it('p = 0 returns the gold inputs and draws B·Lt numbers', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel();
      const rng = new Rng(1);
      const mixed = scheduledSamplingInputs(model, src, tgtIn, { schedule: constant(0), step: 0, rng });
      expect(Array.from(await mixed.data())).toEqual(tgtIn.flat());
      const twin = new Rng(1);
      twin.uniformArray(10);
      expect(rng.uniform()).toBe(twin.uniform());
      mixed.dispose();
      model.dispose();
    });
  });

  it("p = 1 feeds the first pass's prediction for the previous position everywhere but BOS and padding", async () => {
    await assertNoLeaks(async () => {
      const model = makeModel();
      predictAlways(model, 3);
      const mixed = scheduledSamplingInputs(model, src, tgtIn, { schedule: constant(1), step: 0, rng: new Rng(2) });
      expect(Array.from(await mixed.data())).toEqual([BOS, 3, 3, 3, 3, BOS, 3, 3, PAD, PAD]);
      mixed.dispose();
      model.dispose();
    });
  });

  it('p = 1 with a real model: input t is the argmax of the teacher-forced logits at t − 1', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel(5);
      const ids = randomIds(3, 6, 3, 10, 9).map((r) => [BOS, ...r.slice(1)]);
      const srcIds = randomIds(3, 5, 3, 10, 10);
      const { logits } = model.forward(srcIds, ids);
      const argmax = tf.argMax(logits, -1);
      const pred = Array.from(await argmax.data());
      const mixed = scheduledSamplingInputs(model, srcIds, ids, { schedule: constant(1), step: 0, rng: new Rng(3) });
      const expected = ids.map((row, b) => row.map((v, t) => (t === 0 ? v : pred[b * 6 + t - 1])));
      expect(Array.from(await mixed.data())).toEqual(expected.flat());
      tf.dispose([logits, argmax, mixed]);
      model.dispose();
    });
  });

  it('replaces exactly the positions whose seeded draw is below p(step)', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel();
      predictAlways(model, 3); // gold inputs never contain 3, so a 3 marks a replacement
      const B = 16;
      const Lt = 10;
      const gold = randomIds(B, Lt, 4, 10, 11).map((r) => [BOS, ...r.slice(1)]);
      const source = randomIds(B, 4, 4, 10, 12);
      const schedule = linear({ init: 0, end: 0.6, steps: 100 });
      const p = schedule(50); // 0.3
      const mixed = scheduledSamplingInputs(model, source, gold, { schedule, step: 50, rng: new Rng(4) });
      const draws = new Rng(4).uniformArray(B * Lt);
      const got = Array.from(await mixed.data());
      const expected = gold.flat().map((v, i) => (i % Lt !== 0 && draws[i] < p ? 3 : v));
      expect(got).toEqual(expected);
      const replaced = got.filter((v) => v === 3).length;
      expect(replaced).toBeGreaterThan(0.15 * B * (Lt - 1));
      expect(replaced).toBeLessThan(0.45 * B * (Lt - 1));
      // The same seed gives the same inputs; another seed other ones.
      const again = scheduledSamplingInputs(model, source, gold, { schedule, step: 50, rng: new Rng(4) });
      expect(Array.from(await again.data())).toEqual(got);
      const other = scheduledSamplingInputs(model, source, gold, { schedule, step: 50, rng: new Rng(5) });
      expect(Array.from(await other.data())).not.toEqual(got);
      tf.dispose([mixed, again, other]);
      model.dispose();
    });
  });

  it("'sample' draws from the softmax (seeded Gumbel-max); a small temperature gives the argmax", async () => {
    await assertNoLeaks(async () => {
      const model = makeModel();
      // Logits = bias: token 3 gets log 3, token 4 log 1, the rest −30: P(3) = 3/4, P(4) = 1/4.
      tf.tidy(() => {
        model.generator!.weight.assign(tf.zerosLike(model.generator!.weight));
        model.generator!.bias!.assign(tf.tensor1d([-30, -30, -30, Math.log(3), 0, -30, -30, -30, -30, -30]));
      });
      const B = 32;
      const Lt = 9;
      const gold = Array.from({ length: B }, () => [BOS, ...Array<number>(Lt - 1).fill(5)]);
      const source = Array.from({ length: B }, () => [6, 7]);
      const mixed = scheduledSamplingInputs(model, source, gold, { schedule: constant(1), step: 0, mode: 'sample', rng: new Rng(6) });
      const v = Array.from(await mixed.data()).filter((_, i) => i % Lt !== 0);
      const threes = v.filter((t) => t === 3).length / v.length;
      expect(v.every((t) => t === 3 || t === 4)).toBe(true);
      expect(threes).toBeGreaterThan(0.65);
      expect(threes).toBeLessThan(0.85);
      const cold = scheduledSamplingInputs(model, source, gold, { schedule: constant(1), step: 0, mode: 'sample', temperature: 0.01, rng: new Rng(6) });
      expect(Array.from(await cold.data()).filter((_, i) => i % Lt !== 0).every((t) => t === 3)).toBe(true);
      tf.dispose([mixed, cold]);
      model.dispose();
    });
  });
});

describe('scheduledSamplingLoss', () => {
  it('p = 0 equals teacher forcing exactly', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel(2);
      const tf0 = model.loss(src, tgtIn, tgtOut, { labelSmoothing: 0.1 });
      const ss = scheduledSamplingLoss(model, src, tgtIn, tgtOut, { schedule: linear({ init: 0, end: 1, steps: 10 }), step: 0, labelSmoothing: 0.1, rng: new Rng(1) });
      expect((await ss.data())[0]).toBe((await tf0.data())[0]);
      tf.dispose([tf0, ss]);
      model.dispose();
    });
  });

  it('p = 1 is the loss of the second pass on the predicted inputs, and keeps the gold padding mask', async () => {
    await assertNoLeaks(async () => {
      const hand = makeModel(3);
      // A large bias makes every prediction the padding id, while the logits still depend on the
      // decoder's states: replaced inputs equal to padId must still be attended to.
      tf.tidy(() => hand.generator!.bias!.assign(tf.tensor1d([20, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
      const inputs = scheduledSamplingInputs(hand, src, tgtIn, { schedule: constant(1), step: 0, rng: new Rng(1) });
      const fed = [[BOS, PAD, PAD, PAD, PAD], [BOS, PAD, PAD, PAD, PAD]];
      expect(Array.from(await inputs.data())).toEqual(fed.flat());
      const ss = scheduledSamplingLoss(hand, src, tgtIn, tgtOut, { schedule: constant(1), step: 0, rng: new Rng(1) });
      const mask = tf.tensor2d([[false, false, false, false, false], [false, false, false, true, true]], [2, 5], 'bool');
      const direct = hand.loss(src, fed, tgtOut, { tgtKeyPaddingMask: mask });
      await assertClose(ss, await direct.data(), backendTolerance(), 'second-pass loss');
      // Without the gold mask the replaced positions would be hidden as padding: a different value.
      const hidden = hand.loss(src, fed, tgtOut);
      expect(Math.abs((await hidden.data())[0] - (await ss.data())[0])).toBeGreaterThan(1e-4);
      tf.dispose([inputs, ss, mask, direct, hidden]);
      hand.dispose();
    });
  });

  it('gradients are those of the second pass alone', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel(4);
      const opts = { schedule: constant(0.5), step: 0, mode: 'sample' as const };
      const rngA = new Rng(8);
      const rngB = new Rng(8);
      const params = model.parameters();
      const a = tf.variableGrads(() => scheduledSamplingLoss(model, src, tgtIn, tgtOut, { ...opts, rng: rngA }) as tf.Scalar, params);
      // The same draws, outside any tape: then the plain loss on those inputs.
      const mixed = scheduledSamplingInputs(model, src, tgtIn, { ...opts, rng: rngB });
      const mask = tf.tensor2d([[false, false, false, false, false], [false, false, false, true, true]], [2, 5], 'bool');
      const b = tf.variableGrads(() => model.loss(src, mixed, tgtOut, { tgtKeyPaddingMask: mask }), params);
      await assertClose(a.value, await b.value.data(), modelTolerance(), 'loss');
      expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
      for (const k of Object.keys(b.grads)) await assertClose(a.grads[k], await b.grads[k].data(), modelTolerance(), `grad ${k}`);
      tf.dispose([a.value, b.value, mixed, mask, ...Object.values(a.grads), ...Object.values(b.grads)]);
      model.dispose();
    });
  });

  it('the first pass is not recorded on the gradient tape (one customGrad node and the mixing ops)', async () => {
    await assertNoLeaks(async () => {
      const model = makeModel(4);
      // tfjs's engine keeps the active tape here while gradients are being recorded.
      const tape = () => (tf.engine().state as unknown as { activeTape: unknown[] | null }).activeTape?.length ?? -1;
      let firstPass = -1;
      let forwardPass = -1;
      const { value, grads } = tf.variableGrads(() => {
        let t0 = tape();
        const mixed = scheduledSamplingInputs(model, src, tgtIn, { schedule: constant(1), step: 0, rng: new Rng(1) });
        firstPass = tape() - t0;
        t0 = tape();
        const { logits } = model.forward(src, mixed);
        forwardPass = tape() - t0;
        mixed.dispose();
        return tf.mean(logits) as tf.Scalar;
      }, model.parameters());
      // A decoder pass records hundreds of ops (over 400 here); the first pass records its one
      // customGrad node and the dozen small ops that mix the inputs.
      expect(forwardPass).toBeGreaterThan(200);
      expect(firstPass).toBeGreaterThanOrEqual(1);
      expect(firstPass).toBeLessThan(30);
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  });

  // WebGPU on SwiftShader takes seconds per step: 3 steps there (flat tensor count, finite loss).
  const webgpu = tf.getBackend() === 'webgpu';

  it('trains with AdamW and a schedule: the tensor count stays flat, the loss falls', async () => {
    await assertNoLeaks(async () => {
      const { AdamW } = await import('@dl/optim');
      const model = makeModel(6);
      const opt = new AdamW(model.parameters(), { lr: 1e-2, weightDecay: 0 });
      const rng = new Rng(9);
      const schedule = linear({ init: 0, end: 0.5, steps: 20 });
      const losses: number[] = [];
      let count = -1;
      for (let step = 0; step < (webgpu ? 3 : 30); step++) {
        const loss = await opt.minimize(() => scheduledSamplingLoss(model, src, tgtIn, tgtOut, { schedule, step, rng }) as tf.Scalar);
        losses.push((await loss!.data())[0]);
        loss!.dispose();
        const now = tf.memory().numTensors;
        if (step >= 2) expect(now, `tensor count at step ${step}`).toBe(count);
        count = now;
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      if (!webgpu) expect(losses[losses.length - 1]).toBeLessThan(losses[0] / 2);
      opt.dispose();
      model.dispose();
    });
  });
});

describe('scheduled sampling: bad input', () => {
  it('rejects bad arguments, naming them', async () => {
    await assertNoLeaks(() => {
      const model = makeModel();
      const ok = { schedule: constant(0.5), step: 0 };
      const wideMask = tf.zeros([2, 4], 'bool');
      const cases: [string, () => unknown, RegExp][] = [
        ['model', () => scheduledSamplingInputs({} as never, src, tgtIn, ok), /scheduledSamplingInputs: model must be an EncoderDecoder/],
        ['options', () => scheduledSamplingInputs(model, src, tgtIn, undefined as never), /scheduledSamplingInputs: options must be an object/],
        ['schedule', () => scheduledSamplingInputs(model, src, tgtIn, { schedule: 0.5 as never, step: 0 }), /scheduledSamplingInputs: schedule must be a schedule/],
        ['schedule value', () => scheduledSamplingInputs(model, src, tgtIn, { schedule: constant(1.5), step: 0 }), /scheduledSamplingInputs: schedule must be a probability in \[0, 1\] at step 0, got 1\.5/],
        ['step', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, step: -1 }), /scheduledSamplingInputs: step must be an integer ≥ 0/],
        ['mode', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, mode: 'topk' as never }), /scheduledSamplingInputs: mode must be 'argmax' or 'sample'/],
        ['temperature', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, mode: 'sample', temperature: 0 }), /scheduledSamplingInputs: temperature must be a number in \(0, Infinity\]/],
        ['temperature without sampling', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, temperature: 2 }), /temperature must be given only with mode 'sample'/],
        ['rng', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, rng: 3 as never }), /scheduledSamplingInputs: rng must be an Rng/],
        ['unknown key', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, p: 0.5 } as never), /scheduledSamplingInputs: options\.p must be one of the known options/],
        ['tgtIn', () => scheduledSamplingInputs(model, src, [[1, 12]], ok), /scheduledSamplingInputs: tgtIn must be token ids in \[0, 10\)/],
        ['tgtLengths', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, tgtLengths: [5, 6] }), /scheduledSamplingInputs: tgtLengths must be 2 integers in \[1, 5\]/],
        ['tgtKeyPaddingMask', () => scheduledSamplingInputs(model, src, tgtIn, { ...ok, tgtKeyPaddingMask: wideMask }), /scheduledSamplingInputs: tgtKeyPaddingMask must be a bool tensor \[2, 5\]/],
        ['loss options', () => scheduledSamplingLoss(model, src, tgtIn, tgtOut, { ...ok, smoothing: 0.1 } as never), /scheduledSamplingLoss: options\.smoothing must be one of the known options/],
      ];
      for (const [name, f, re] of cases) expect(f, name).toThrow(re);
      wideMask.dispose();
      model.dispose();
    });
  });
});
