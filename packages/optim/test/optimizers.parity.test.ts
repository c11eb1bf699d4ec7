// Every optimizer × each of its options against torch.optim (or the hand-written reference of the paper
// where torch 1.13 lacks it): 50 steps on four parameters of different shapes, compared after steps
// 10..50 with the backend's tolerance (cpu 1e-5, wasm 1e-4, webgpu 1e-3).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { Adadelta, Adagrad, Adam, Adamax, AdamW, Lamb, Lion, NAdam, Optimizer, RAdam, RMSprop, SGD, oneCycle, oneCycleMomentum, warmupCosine } from '../src/index.js';
import { fixture, makeProblem, type Problem } from './helpers.js';

interface Case {
  name: string;
  optimizer: string;
  options: Record<string, unknown>;
  config?: { clipGradNorm?: number; clipGradValue?: number };
  schedule?: Record<string, number | string>;
  gradNorms?: Record<string, number>;
  reference: string;
  trajectory: Record<string, number[][]>;
}
const { problem, cases } = fixture<{ problem: Problem; cases: Case[] }>('optimizers.json');

const classes: Record<string, new (p: tf.Variable[], o: never) => Optimizer> = {
  SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW, Adamax, NAdam, RAdam, Lion, Lamb,
} as never;

function options(c: Case): Record<string, unknown> {
  const o: Record<string, unknown> = { ...c.options, ...(c.config ?? {}) };
  if (c.schedule?.schedule === 'warmupCosine') {
    const { peak, warmupSteps, totalSteps, init, end } = c.schedule as Record<string, number>;
    o.lr = warmupCosine({ peak, warmupSteps, totalSteps, init, end });
  }
  if (c.schedule?.schedule === 'oneCycle') {
    o.lr = oneCycle({ maxValue: c.schedule.maxValue as number, totalSteps: c.schedule.totalSteps as number });
    o.momentum = oneCycleMomentum({ totalSteps: c.schedule.totalSteps as number });
  }
  return o;
}

// WebGPU on SwiftShader runs every kernel on the CPU through Vulkan emulation: ~1 ms a dispatch, so the
// full table (75 cases × 50 steps × ~60 kernels) would take several minutes there. On webgpu we run
// the first case of each optimizer and every case with a schedule or clipping, for 20 of the 50 steps
// (compared at steps 10 and 20); cpu and wasm run everything.
const webgpu = tf.getBackend() === 'webgpu';
const seen = new Set<string>();
const selected = cases.filter((c) => {
  const first = !seen.has(c.optimizer);
  seen.add(c.optimizer);
  return !webgpu || first || c.schedule || c.config;
});

describe('optimizers match torch.optim', () => {
  it('covers every optimizer', () => {
    expect(new Set(cases.map((c) => c.optimizer))).toEqual(new Set(Object.keys(classes)));
  });

  for (const c of selected) {
    it(`${c.name} (${c.reference})`, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const prob = makeProblem(problem);
        const opt = new classes[c.optimizer](prob.vars, options(c) as never);
        for (let step = 1; step <= (webgpu ? 20 : problem.steps); step++) {
          const loss = await opt.minimize(prob.loss);
          loss?.dispose();
          const want = c.trajectory[String(step)];
          if (want) {
            for (let i = 0; i < prob.vars.length; i++) await assertClose(prob.vars[i], want[i], tol, `${c.name} step ${step} param ${i}`);
          }
        }
        opt.dispose();
        prob.dispose();
      }, c.name);
    });
  }
});
