// Every schedule against torch.optim.lr_scheduler, step by step (boundaries, restarts, plateau patience).
import { describe, expect, it } from 'vitest';
import {
  constant, cosine, cosineWarmRestarts, cyclic, exponential, join, linear, multiply, multiStep, noam, oneCycle, oneCycleMomentum,
  polynomial, reduceOnPlateau, sequence, stepDecay, warmupCosine, type Schedule,
} from '../src/index.js';
import { fixture } from './helpers.js';

interface Case { name: string; ours: Record<string, unknown>; values: number[]; momentum?: number[]; metrics?: number[] }
const { cases } = fixture<{ cases: Case[] }>('schedules.json');

function build(o: Record<string, unknown>): { lr: Schedule; momentum?: Schedule } {
  const { fn, ...a } = o as Record<string, unknown> & { fn: string };
  const r = a as never;
  switch (fn) {
    case 'stepDecay': return { lr: stepDecay(r) };
    case 'multiStep': return { lr: multiStep(r) };
    case 'exponential': return { lr: exponential(r) };
    case 'constantFactor': {
      const { init, factor, totalIters } = a as { init: number; factor: number; totalIters: number };
      return { lr: join([constant(init * factor), constant(init)], [totalIters]) };
    }
    case 'linear': return { lr: linear(r) };
    case 'polynomial': return { lr: polynomial(r) };
    case 'cosine': return { lr: cosine(r) };
    case 'cosineWarmRestarts': return { lr: cosineWarmRestarts(r) };
    case 'oneCycle': {
      const { baseMomentum, maxMomentum, ...rest } = a as Record<string, never>;
      return {
        lr: oneCycle(rest as never),
        momentum: oneCycleMomentum({ baseMomentum, maxMomentum, totalSteps: rest.totalSteps, pctStart: rest.pctStart, anneal: rest.anneal, threePhase: rest.threePhase }),
      };
    }
    case 'cyclic': {
      const { baseMomentum, maxMomentum, stepSizeDown, ...rest } = a as Record<string, never>;
      const shared = { stepSizeUp: rest.stepSizeUp, stepSizeDown: stepSizeDown ?? undefined, mode: rest.mode, gamma: rest.gamma };
      // PyTorch cycles momentum inversely: the same formula from max_momentum towards base_momentum.
      return { lr: cyclic({ ...shared, base: rest.base, max: rest.max }), momentum: cyclic({ ...shared, base: maxMomentum, max: baseMomentum }) };
    }
    case 'noam': return { lr: noam(r) };
    case 'warmupCosine': return { lr: warmupCosine(r) };
    case 'sequenceExpStep': return { lr: sequence([[exponential({ init: 0.1, gamma: 0.9 }), 15], [stepDecay({ init: 0.1, stepSize: 4, gamma: 0.5 }), 45]]) };
    case 'chained': return { lr: multiply(exponential({ init: 0.1, gamma: 0.97 }), stepDecay({ init: 1, stepSize: 6, gamma: 0.5 })) };
    default: throw new Error(`unknown schedule ${fn}`);
  }
}

function close(got: number, want: number, label: string) {
  if (!(Math.abs(got - want) <= 1e-12 + 1e-9 * Math.abs(want))) throw new Error(`${label}: ${got} != ${want}`);
}

describe('schedules match torch.optim.lr_scheduler', () => {
  for (const c of cases.filter((x) => !x.metrics)) {
    it(c.name, () => {
      const { lr, momentum } = build(c.ours);
      c.values.forEach((v, t) => close(lr(t), v, `${c.name} lr at step ${t}`));
      if (c.momentum) c.momentum.forEach((v, t) => close(momentum!(t), v, `${c.name} momentum at step ${t}`));
    });
  }

  for (const c of cases.filter((x) => x.metrics)) {
    it(c.name, () => {
      const { fn, ...o } = c.ours as Record<string, unknown>;
      expect(fn).toBe('reduceOnPlateau');
      const p = reduceOnPlateau(o as never);
      c.metrics!.forEach((m, i) => close(p.report(m), c.values[i], `${c.name} after report ${i}`));
      expect(p(1234)).toBe(p.value);
      // State round trip: a copy continues identically.
      const q = reduceOnPlateau(o as never);
      q.loadState(p.state());
      for (const m of [0.3, 0.3, 0.3, 0.3, 0.3]) expect(q.report(m)).toBe(p.report(m));
    });
  }

  it('covers every schedule kind', () => {
    const kinds = new Set(cases.map((c) => (c.ours as { fn: string }).fn));
    for (const k of ['stepDecay', 'multiStep', 'exponential', 'constantFactor', 'linear', 'polynomial', 'cosine', 'cosineWarmRestarts', 'oneCycle', 'cyclic', 'noam', 'warmupCosine', 'sequenceExpStep', 'chained', 'reduceOnPlateau']) {
      expect(kinds.has(k), k).toBe(true);
    }
  });

  it('one-cycle rejects steps past totalSteps, as PyTorch', () => {
    const s = oneCycle({ maxValue: 0.1, totalSteps: 10 });
    expect(() => s(11)).toThrow(/oneCycle: step must be at most totalSteps \(10\)/);
  });

  it('warmupCosine stays at `end` after totalSteps; join offsets each piece', () => {
    const s = warmupCosine({ peak: 1, warmupSteps: 2, totalSteps: 6, end: 0.1 });
    expect(s(0)).toBe(0);
    expect(s(1)).toBe(0.5);
    expect(s(2)).toBe(1);
    expect(s(6)).toBeCloseTo(0.1, 12);
    expect(s(100)).toBe(0.1);
    const j = join([constant(1), (t) => t], [3]);
    expect([0, 2, 3, 5].map(j)).toEqual([1, 1, 0, 2]);
  });
});
