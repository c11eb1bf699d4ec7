// oneCycle / oneCycleMomentum when pctStart × totalSteps = 1 (the warm-up is the single step 0): torch's
// OneCycleLR divides 0 by 0 there (ZeroDivisionError); these used to return NaN. torch's values for the later
// steps are in fixtures/hardening.json (scripts/generate_fixtures.py).
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { oneCycle, oneCycleMomentum } from '../src/index.js';
import { fixture } from './helpers.js';

interface EdgeCase {
  name: string;
  ours: { maxValue: number; totalSteps: number; pctStart: number; anneal: 'cos' | 'linear'; divFactor: number; finalDivFactor: number; threePhase: boolean };
  torchAtStep0: string;
  fromStep: number;
  values: number[];
  momentum: number[];
}
const data = fixture<{ one_cycle_edge: EdgeCase[] }>('hardening.json');

function close(got: number, want: number, label: string) {
  if (!(Math.abs(got - want) <= 1e-12 + 1e-9 * Math.abs(want))) throw new Error(`${label}: ${got} != ${want}`);
}

describe('oneCycle when pctStart × totalSteps = 1 (a warm-up of one point)', () => {
  for (const c of data.one_cycle_edge) {
    it(`${c.name}: finite at step 0, torch's OneCycleLR values after (torch: ${c.torchAtStep0} at step 0)`, () => assertNoLeaks(() => {
      const o = c.ours;
      const lr = oneCycle(o);
      const mom = oneCycleMomentum({ totalSteps: o.totalSteps, pctStart: o.pctStart, anneal: o.anneal, threePhase: o.threePhase });
      for (let t = 0; t <= o.totalSteps; t++) {
        expect(Number.isFinite(lr(t)), `lr(${t})`).toBe(true);
        expect(Number.isFinite(mom(t)), `momentum(${t})`).toBe(true);
      }
      c.values.forEach((want, i) => close(lr(c.fromStep + i), want, `lr at step ${c.fromStep + i}`));
      c.momentum.forEach((want, i) => close(mom(c.fromStep + i), want, `momentum at step ${c.fromStep + i}`));
      // Step 0 is where the empty warm-up ends and the next phase starts: the peak (two phases) or, with three
      // phases, the start value the second (also empty) phase returns to.
      if (o.threePhase) {
        close(lr(0), o.maxValue / o.divFactor, 'lr at step 0');
        close(mom(0), 0.95, 'momentum at step 0');
      } else {
        close(lr(0), o.maxValue, 'lr at step 0');
        close(mom(0), 0.85, 'momentum at step 0');
      }
    }));
  }
});

