// Every hyperparameter torch lets a scheduler drive takes a schedule (β₁ and β₂ of the Adam family, as
// OneCycleLR cycles β₁, besides lr, weight decay and momentum), against torch (fixtures/hardening.json); values
// a schedule returns are checked when used (a NaN or negative learning rate throws, and the step changes
// nothing); errors name the schedule, never print its source; Nesterov without momentum is sgd's error.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import {
  Adam, Adamax, AdamW, Lamb, Lion, NAdam, RAdam, RMSprop, SGD, adam, linear, oneCycle, oneCycleMomentum, scaleByAdam, sgd,
  type Optimizer, type Schedule,
} from '../src/index.js';
import { fixture, makeProblem, snapshot, type Problem } from './helpers.js';

interface BetaCase {
  name: string;
  optimizer: 'Adam' | 'AdamW' | 'Adamax' | 'RAdam';
  options: Record<string, unknown>;
  schedule?: { maxValue: number; totalSteps: number; pctStart: number; baseMomentum: number; maxMomentum: number };
  beta2?: { init: number; end: number; steps: number };
  reference: string;
  trajectory: Record<string, number[][]>;
}
const data = fixture<{ problem: Problem; scheduled_betas: BetaCase[] }>('hardening.json');
const webgpu = tf.getBackend() === 'webgpu';
const v = (values: number[]) => tf.tidy(() => tf.variable(tf.tensor1d(values)));
const values = async (t: tf.Tensor) => Array.from(await t.data());

describe('β₁ and β₂ follow schedules (torch cycles Adam\'s β₁ in OneCycleLR)', () => {
  const classes = { Adam, AdamW, Adamax, RAdam } as const;
  for (const c of data.scheduled_betas) {
    it(`${c.name} (${c.reference})`, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const prob = makeProblem(data.problem);
        const o: Record<string, unknown> = { ...c.options };
        if (c.schedule) {
          const { maxValue, totalSteps, pctStart, baseMomentum, maxMomentum } = c.schedule;
          o.lr = oneCycle({ maxValue, totalSteps, pctStart });
          o.betas = [oneCycleMomentum({ totalSteps, pctStart, baseMomentum, maxMomentum }), 0.999];
        }
        if (c.beta2) o.betas = [0.9, linear(c.beta2)];
        const opt = new classes[c.optimizer](prob.vars, o as never);
        // WebGPU on SwiftShader: 20 of the 50 steps (compared at 10 and 20), as in optimizers.parity.
        for (let step = 1; step <= (webgpu ? 20 : data.problem.steps); step++) {
          (await opt.minimize(prob.loss))?.dispose();
          const want = c.trajectory[String(step)];
          if (want) for (let i = 0; i < prob.vars.length; i++) await assertClose(prob.vars[i], want[i], tol, `${c.name} step ${step} param ${i}`);
        }
        opt.dispose();
        prob.dispose();
      }, c.name);
    });
  }

  it('every optimizer with betas takes schedules for both (constant schedules give the constants\' trajectory)', async () => {
    await assertNoLeaks(async () => {
      const makers: [string, (w: tf.Variable[], betas: [number | Schedule, number | Schedule]) => Optimizer][] = [
        ['Adam', (w, betas) => new Adam(w, { lr: 0.05, betas })], ['AdamW', (w, betas) => new AdamW(w, { lr: 0.05, betas })],
        ['Adamax', (w, betas) => new Adamax(w, { lr: 0.05, betas })], ['NAdam', (w, betas) => new NAdam(w, { lr: 0.05, betas })],
        ['RAdam', (w, betas) => new RAdam(w, { lr: 0.05, betas })], ['Lion', (w, betas) => new Lion(w, { lr: 0.05, betas })],
        ['Lamb', (w, betas) => new Lamb(w, { lr: 0.05, betas })],
      ];
      // The parameters and every state tensor (Lion's sign update hides β in the parameters for a few steps).
      const run = async (make: (typeof makers)[number][1], betas: [number | Schedule, number | Schedule]) => {
        const w = v([0.5, -1.5, 2]);
        const opt = make([w], betas);
        for (let i = 0; i < 4; i++) (await opt.minimize(() => tf.sum(tf.mul(tf.square(w), tf.tensor1d([1, 2, 3]))) as tf.Scalar))?.dispose();
        const out = [...(await values(w)), ...Object.values((await snapshot(opt)).tensors).flat()];
        opt.dispose();
        w.dispose();
        return out;
      };
      for (const [name, make] of makers) {
        const constants = await run(make, [0.9, 0.95]);
        expect(await run(make, [() => 0.9, () => 0.95]), name).toEqual(constants);
        const cycled = await run(make, [oneCycleMomentum({ totalSteps: 10 }), linear({ init: 0.9, end: 0.99, steps: 10 })]);
        expect(cycled.every(Number.isFinite), name).toBe(true);
        expect(cycled, name).not.toEqual(constants);
      }
      expect(scaleByAdam({ b1: oneCycleMomentum({ totalSteps: 5 }) }).name).toBe('scaleByAdam');
    });
  });

  it('errors about a scheduled β₁ name the schedule and never print its source', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      function tooBig(t: number) { return 1 + t; } // eslint-disable-line
      const bad: [() => unknown, RegExp][] = [
        [() => adam({ betas: [tooBig] as never }), /^adam: betas must be a pair of numbers in \[0, 1\) or schedules, got \[schedule 'tooBig'\]$/],
        [() => adam({ betas: [(t: number) => t, 1.5] }), /^adam: betas must be a pair of numbers in \[0, 1\) or schedules, got \[a schedule,1\.5\]$/],
        [() => adam({ betas: 'x' as never }), /^adam: betas must be a pair of numbers in \[0, 1\) or schedules, got "x"$/],
      ];
      for (const [fn, re] of bad) {
        let message = '';
        try {
          fn();
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message).toMatch(re);
        expect(message).not.toMatch(/return|=>|\{/);
      }
      const opt = new Adam([w], { betas: [tooBig, 0.999] });
      const g = tf.ones([2]);
      await expect(opt.step([g])).rejects.toThrow(/^adam: betas\[0\] must be a number in \[0, 1\), got 1 from the schedule 'tooBig' at step 0$/);
      expect(await values(w)).toEqual([1, 2]);
      expect(opt.iterations).toBe(0);
      g.dispose();
      opt.dispose();
      w.dispose();
    });
  });
});

describe('schedule values are checked when they are used', () => {
  const table: [string, (w: tf.Variable[]) => Optimizer, RegExp][] = [
    ['NaN learning rate', (w) => new SGD(w, { lr: () => NaN }), /^sgd: lr must be a number ≥ 0, got NaN from the schedule 'lr' at step 0$/],
    ['negative learning rate', (w) => new Adam(w, { lr: function warm(t: number) { return 0.1 * t - 0.05; } }), /^adam: lr must be a number ≥ 0, got -0\.05 from the schedule 'warm' at step 0$/],
    ['infinite weight decay', (w) => new AdamW(w, { weightDecay: () => Infinity }), /^adamw: weightDecay must be a number ≥ 0, got Infinity from the schedule 'weightDecay' at step 0$/],
    ['negative momentum', (w) => new SGD(w, { lr: 0.1, momentum: () => -0.5 }), /^sgd: momentum must be a number ≥ 0, got -0\.5 from the schedule 'momentum' at step 0$/],
    ['RMSprop momentum NaN', (w) => new RMSprop(w, { momentum: () => NaN }), /^rmsprop: momentum must be a number ≥ 0, got NaN from the schedule 'momentum' at step 0$/],
    ['β₂ of 1 from a schedule', (w) => new Adam(w, { betas: [0.9, () => 1] }), /^adam: betas\[1\] must be a number in \[0, 1\), got 1 from a schedule at step 0$/],
  ];
  for (const [name, make, re] of table) {
    it(`${name} throws and changes nothing`, async () => {
      await assertNoLeaks(async () => {
        const w = v([1, -2]);
        const opt = make([w]);
        const g = tf.tensor1d([0.5, 0.5]);
        await expect(opt.step([g])).rejects.toThrow(re);
        expect(await values(w)).toEqual([1, -2]);
        expect(opt.iterations).toBe(0);
        g.dispose();
        opt.dispose();
        w.dispose();
      }, name);
    });
  }

  it('a bad value in the second group leaves the first group unchanged too (the step is all or nothing)', async () => {
    await assertNoLeaks(async () => {
      const a = v([1, 2]);
      const b = v([3, 4]);
      const opt = new SGD([{ params: [a] }, { params: [b], lr: (t: number) => (t > 0 ? NaN : 0.1) }], { lr: 0.1, momentum: 0.9 });
      const g = [tf.ones([2]), tf.ones([2])];
      await opt.step(g);
      const before = await snapshot(opt);
      const [a1, b1] = [await values(a), await values(b)];
      await expect(opt.step(g)).rejects.toThrow(/^sgd: lr must be a number ≥ 0, got NaN from the schedule 'lr' at step 1$/);
      expect(await values(a)).toEqual(a1);
      expect(await values(b)).toEqual(b1);
      expect(await snapshot(opt)).toEqual(before);
      tf.dispose([...g, a, b]);
      opt.dispose();
    });
  });
});

describe('Nesterov without momentum', () => {
  it('is rejected by sgd, which the user called, not by the inner trace', () => assertNoLeaks(() => {
    expect(() => sgd({ lr: 0.1, nesterov: true })).toThrow(/^sgd: nesterov must be used with momentum > 0 and dampening 0 \(as in PyTorch\), got momentum 0, dampening 0$/);
    expect(() => sgd({ lr: 0.1, momentum: 0.9, dampening: 0.5, nesterov: true })).toThrow(/^sgd: nesterov must be used with momentum > 0 and dampening 0/);
    expect(() => sgd({ lr: 0.1, momentum: 0.9, nesterov: true })).not.toThrow();
  }));
});
