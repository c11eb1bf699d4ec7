// The stateful Optimizer: parameter groups, freezing, clipping, the non-finite guard, accumulation,
// no leaks over 1,000 steps, and save/load/resume giving the identical trajectory.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Linear } from '@dl/core';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import {
  Adam, AdamW, NAdam, NonFiniteGradientError, SGD, Lamb, adam, chain, decayGroups, scaleByAdam, scaleByLearningRate, warmupCosine,
  type Optimizer,
} from '../src/index.js';
import { fixture, makeProblem, type Problem } from './helpers.js';

const { problem, cases } = fixture<{ problem: Problem; cases: { name: string; gradNorms?: Record<string, number> }[] }>('optimizers.json');
const v = (values: number[]) => tf.tidy(() => tf.variable(tf.tensor1d(values)));
const values = async (t: tf.Tensor) => Array.from(await t.data());

describe('Optimizer', () => {
  it('minimize returns the loss (or null) and array gradients may skip parameters with null', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const b = v([3]);
      const opt = new SGD([w, b], { lr: 0.5 });
      const loss = await opt.minimize(() => tf.sum(tf.square(w)) as tf.Scalar);
      expect(await values(loss!)).toEqual([5]);
      loss!.dispose();
      expect(await values(w)).toEqual([0, 0]);
      expect(await opt.minimize(() => tf.sum(w) as tf.Scalar, { returnCost: false })).toBeNull();
      const g = tf.tensor1d([2]);
      const r = await opt.step([null, g]);
      expect(r).toMatchObject({ step: 3, applied: true, skipped: false, lr: [0.5] });
      expect(await values(b)).toEqual([2]);
      tf.dispose([w, b, g]);
      opt.dispose();
    });
  });

  it('a chain used directly (optax style) equals the Adam class', async () => {
    await assertNoLeaks(async () => {
      const a = v([1, -2, 3]);
      const b = v([1, -2, 3]);
      const opt = new Adam([a], { lr: 0.1 });
      const tx = chain(scaleByAdam(), scaleByLearningRate(0.1));
      let state = tx.init([b]);
      for (let i = 0; i < 5; i++) {
        const g = tf.tidy(() => tf.add(tf.mul(b, 2), 1));
        const ga = tf.tidy(() => tf.add(tf.mul(a, 2), 1));
        await opt.step([ga]);
        let next = state;
        tf.tidy(() => {
          const r = tx.update([g], state, [b]);
          b.assign(tf.add(b, r.updates[0]!));
          r.state.inner.flatMap((st) => Object.values(st.slots).flat()).forEach((t) => t && tf.keep(t));
          next = r.state;
        });
        const old = state.inner.flatMap((st) => Object.values(st.slots).flat());
        state = next;
        tf.dispose(old.filter((t): t is tf.Tensor => t !== null));
        tf.dispose([g, ga]);
      }
      await assertClose(a, await values(b), { atol: 1e-6, rtol: 1e-6 });
      tf.dispose([a, b, ...state.inner.flatMap((s) => Object.values(s.slots).flat()).filter((t): t is tf.Tensor => t !== null)]);
      opt.dispose();
    });
  });

  it('parameter groups have their own options (no decay on biases, a lower lr) and match separate optimizers', async () => {
    await assertNoLeaks(async () => {
      const [w1, b1, w2, b2] = [v([1, -1, 2]), v([0.5]), v([1, -1, 2]), v([0.5])];
      const grouped = new AdamW([{ params: [w1] }, { params: [b1], weightDecay: 0, lr: 0.01 }], { lr: 0.1, weightDecay: 0.2 });
      const alone = [new AdamW([w2], { lr: 0.1, weightDecay: 0.2 }), new AdamW([b2], { lr: 0.01, weightDecay: 0 })];
      expect(grouped.paramGroups.map((g) => [g.options.lr, g.options.weightDecay])).toEqual([[0.1, 0.2], [0.01, 0]]);
      for (let i = 0; i < 4; i++) {
        const gs = [tf.tensor1d([0.3, -0.1, 0.2]), tf.tensor1d([1])];
        const r = await grouped.step(gs);
        expect(r.lr).toEqual([0.1, 0.01]);
        await alone[0].step([gs[0]]);
        await alone[1].step([gs[1]]);
        tf.dispose(gs);
      }
      await assertClose(w1, await values(w2), { atol: 0, rtol: 0 });
      await assertClose(b1, await values(b2), { atol: 0, rtol: 0 });
      tf.dispose([w1, b1, w2, b2]);
      [grouped, ...alone].forEach((o) => o.dispose());
    });
  });

  it('decayGroups puts biases (rank ≤ 1) in a group without weight decay', async () => {
    await assertNoLeaks(async () => {
      const fc = new Linear(3, 2);
      const opt = new AdamW(decayGroups(fc, 0.05), { lr: 1e-3 });
      expect(opt.paramGroups.map((g) => [g.params.map((p) => p.shape.join('x')), g.options.weightDecay])).toEqual([[['2x3'], 0.05], [['2'], 0]]);
      opt.dispose();
      fc.dispose();
    });
  });

  it('freezing skips a variable and keeps its state; trainable = false is honoured', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const b = v([3]);
      const c = v([4]);
      c.trainable = false;
      const opt = new Adam([w, b, c], { lr: 0.1 }).freeze(b);
      expect(opt.isTrainable(b)).toBe(false);
      const loss = await opt.minimize(() => tf.addN([tf.sum(tf.square(w)), tf.sum(tf.square(b)), tf.sum(tf.square(c))]) as tf.Scalar);
      loss!.dispose();
      expect(await values(b)).toEqual([3]);
      expect(await values(c)).toEqual([4]);
      expect((await values(w)).every((x, i) => x < [1, 2][i])).toBe(true);
      const counts = JSON.parse(opt.stateDict().metadata.numbers)['0.0.count'];
      expect(counts).toEqual([1, 0, 0]); // only w took a step: b's state did not advance
      opt.unfreeze(b);
      const g = [tf.tensor1d([1, 1]), tf.tensor1d([1]), tf.tensor1d([1])];
      await opt.step(g);
      expect(JSON.parse(opt.stateDict().metadata.numbers)['0.0.count']).toEqual([2, 1, 0]);
      expect(await values(b)).not.toEqual([3]);
      tf.dispose([w, b, c, ...g]);
      opt.dispose();
    });
  });

  it('clips by global norm like torch.nn.utils.clip_grad_norm_ and reports the norm', async () => {
    await assertNoLeaks(async () => {
      const w = v([0, 0]);
      const opt = new SGD([w], { lr: 1, clipGradNorm: 1 });
      const g = tf.tensor1d([3, 4]);
      const r = await opt.step([g]);
      expect(r.gradNorm).toBeCloseTo(5, 5);
      await assertClose(w, [-3 / (5 + 1e-6), -4 / (5 + 1e-6)], { atol: 1e-6, rtol: 1e-6 });
      // The fixture case's norms (torch's clip_grad_norm_ return values) at the recorded steps.
      const want = cases.find((c) => c.name === 'sgd_clip_norm')!.gradNorms!;
      const prob = makeProblem(problem);
      const o2 = new SGD(prob.vars, { lr: 0.05, momentum: 0.9, clipGradNorm: 0.5 });
      for (let step = 1; step <= 20; step++) {
        const { grads, value } = tf.variableGrads(prob.loss, prob.vars);
        const rep = await o2.step(grads);
        tf.dispose([value, ...Object.values(grads)]);
        if (want[String(step)] !== undefined) expect(Math.abs(rep.gradNorm! - want[String(step)])).toBeLessThan(1e-3 * want[String(step)]);
      }
      tf.dispose([w, g]);
      o2.dispose();
      prob.dispose();
      opt.dispose();
    });
  });

  it('clips by value before the update', async () => {
    await assertNoLeaks(async () => {
      const w = v([0, 0, 0]);
      const opt = new SGD([w], { lr: 1, clipGradValue: 0.5 });
      const g = tf.tensor1d([3, -0.25, -4]);
      await opt.step([g]);
      expect(await values(w)).toEqual([-0.5, 0.25, 0.5]);
      tf.dispose([w, g]);
      opt.dispose();
    });
  });

  it("non-finite guard 'skip' leaves parameters and state untouched and reports it", async () => {
    await assertNoLeaks(async () => {
      const [a, b] = [v([1, 2]), v([1, 2])];
      const guarded = new Adam([a], { lr: 0.1, nonFinite: 'skip' });
      const plain = new Adam([b], { lr: 0.1 });
      const good = tf.tensor1d([0.5, -1]);
      const bad = tf.tensor1d([NaN, 1]);
      await guarded.step([good]);
      await plain.step([good]);
      const r = await guarded.step([bad]);
      expect(r).toMatchObject({ applied: false, skipped: true, nonFinite: [a.name], step: 1 });
      expect(guarded.skippedSteps).toBe(1);
      await guarded.step([good]);
      await plain.step([good]);
      await assertClose(a, await values(b), { atol: 0, rtol: 0 });
      const inf = tf.tensor1d([Infinity, 1]);
      expect((await guarded.step([inf])).skipped).toBe(true);
      tf.dispose([a, b, good, bad, inf]);
      guarded.dispose();
      plain.dispose();
    });
  });

  it("non-finite guard 'throw' throws NonFiniteGradientError and changes nothing; 'none' lets NaN through", async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const opt = new SGD([w], { lr: 0.1, nonFinite: 'throw' });
      const bad = tf.tensor1d([1, -Infinity]);
      await expect(opt.step([bad])).rejects.toThrow(NonFiniteGradientError);
      await expect(opt.step([bad])).rejects.toThrow(new RegExp(`parameter\\(s\\) ${w.name}`));
      expect(await values(w)).toEqual([1, 2]);
      expect(opt.iterations).toBe(0);
      const loose = new SGD([w], { lr: 0.1 });
      await loose.step([bad]);
      expect((await values(w))[1]).toBe(Infinity);
      tf.dispose([w, bad]);
      opt.dispose();
      loose.dispose();
    });
  });

  it('accumulates gradients over k steps and updates with their mean', async () => {
    await assertNoLeaks(async () => {
      const [a, b] = [v([1, 2, 3]), v([1, 2, 3])];
      const acc = new Adam([a], { lr: 0.1, accumulate: 3 });
      const once = new Adam([b], { lr: 0.1 });
      const gs = [tf.tensor1d([1, 0, -1]), tf.tensor1d([2, 2, 2]), tf.tensor1d([0, -5, 1])];
      expect(await acc.step([gs[0]])).toMatchObject({ applied: false, pending: 1 });
      expect(await acc.step([gs[1]])).toMatchObject({ applied: false, pending: 2 });
      expect(await values(a)).toEqual([1, 2, 3]);
      expect(await acc.step([gs[2]])).toMatchObject({ applied: true, pending: 0, step: 1 });
      const mean = tf.tidy(() => tf.div(tf.addN(gs), 3));
      await once.step([mean]);
      await assertClose(a, await values(b), { atol: 1e-7, rtol: 1e-6 });
      tf.dispose([a, b, mean, ...gs]);
      acc.dispose();
      once.dispose();
    });
  });

  it('leaks no tensors over 1,000 steps (clipping, schedule, guard); the tensor count stays flat', async () => {
    // WebGPU on SwiftShader costs ~1 ms a kernel: 200 steps there keep the file under a minute and
    // still show a flat count, which is what a leak would break.
    const steps = tf.getBackend() === 'webgpu' ? 200 : 1000;
    await assertNoLeaks(async () => {
      const w = v([0.5, -0.5, 1.5, 2]);
      const m = tf.tidy(() => tf.variable(tf.ones([2, 3])));
      const opt = new AdamW([w, m], { lr: warmupCosine({ peak: 0.01, warmupSteps: 10, totalSteps: steps }), clipGradNorm: 1, nonFinite: 'skip' });
      const loss = () => tf.add(tf.sum(tf.square(w)), tf.sum(tf.square(m))) as tf.Scalar;
      let baseline = -1;
      for (let i = 0; i < steps; i++) {
        const l = await opt.minimize(loss);
        l!.dispose();
        if (i === 1) baseline = tf.memory().numTensors;
        if (i > 1 && i % 50 === 0) expect(tf.memory().numTensors).toBe(baseline);
      }
      expect(opt.iterations).toBe(steps);
      tf.dispose([w, m]);
      opt.dispose();
    });
  });

  async function resumeCheck(make: (vars: tf.Variable[]) => Optimizer, viaFile = false) {
    const prob = makeProblem(problem);
    const opt = make(prob.vars);
    const train = async (o: Optimizer, n: number) => {
      for (let i = 0; i < n; i++) (await o.minimize(prob.loss))!.dispose();
    };
    await train(opt, 7);
    const file = viaFile ? path.join(mkdtempSync(path.join(tmpdir(), 'optim-')), 'state.safetensors') : undefined;
    const bytes = await opt.saveState(file);
    const at = opt.iterations;
    const saved = await Promise.all(prob.vars.map(values));
    await train(opt, 8);
    const straight = await Promise.all(prob.vars.map(values));
    // A fresh optimizer over the parameters as they were at the checkpoint.
    prob.vars.forEach((p, i) => tf.tidy(() => p.assign(tf.tensor(saved[i], p.shape))));
    const resumed = make(prob.vars);
    await resumed.loadState(file ?? bytes);
    expect(resumed.iterations).toBe(at);
    await train(resumed, 8);
    for (let i = 0; i < prob.vars.length; i++) expect(await values(prob.vars[i])).toEqual(straight[i]);
    opt.dispose();
    resumed.dispose();
    prob.dispose();
  }

  it('save/load resumes the identical trajectory (Adam AMSGrad with a schedule)', async () => {
    await assertNoLeaks(() => resumeCheck((vars) => new Adam(vars, { lr: warmupCosine({ peak: 0.05, warmupSteps: 3, totalSteps: 20 }), amsgrad: true })));
  });

  it('save/load resumes NAdam (host-side μ products), SGD momentum mid-accumulation, and LAMB groups via a file', async () => {
    await assertNoLeaks(async () => {
      await resumeCheck((vars) => new NAdam(vars, { lr: 0.01 }));
      await resumeCheck((vars) => new SGD(vars, { lr: 0.05, momentum: 0.9, nesterov: true, accumulate: 2 }));
      await resumeCheck((vars) => new Lamb([{ params: vars.slice(0, 2) }, { params: vars.slice(2), weightDecay: 0 }], { lr: 0.02, weightDecay: 0.1 }), true);
    });
  });

  it('loadState rejects a state of another optimizer or other shapes', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const u = v([1, 2, 3]);
      const src = new Adam([w]);
      const bytes = await src.saveState();
      src.dispose();
      const other = new AdamW([w]);
      await expect(other.loadState(bytes)).rejects.toThrow(/AdamW.loadState: state must be a state of AdamW, got "a state of Adam"/);
      const shaped = new Adam([u]);
      await expect(shaped.loadState(bytes)).rejects.toThrow(/Adam.loadState: state must be parameter groups of shapes \[\[\[3\]\]\]/);
      tf.dispose([w, u]);
      other.dispose();
      shaped.dispose();
      void adam;
    });
  });
});
