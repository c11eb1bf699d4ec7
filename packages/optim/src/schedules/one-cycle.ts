import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, num, posInt } from './validate.js';

/** How a one-cycle phase interpolates. */
export type Anneal = 'cos' | 'linear';

/** Options of {@link oneCycle}. */
export interface OneCycleOptions {
  /** The peak value (PyTorch's `max_lr`). */
  maxValue: number;
  /** Total steps of the cycle (PyTorch's `total_steps`); steps beyond are rejected, as in PyTorch. */
  totalSteps: number;
  /** Fraction of the cycle spent increasing. Default 0.3. */
  pctStart?: number;
  /** Interpolation. Default `'cos'`. */
  anneal?: Anneal;
  /** Start value = maxValue / divFactor. Default 25. */
  divFactor?: number;
  /** Final value = start / finalDivFactor. Default 1e4. */
  finalDivFactor?: number;
  /** Three phases (up, down to the start value, down to the final value) as in fast.ai. Default false. */
  threePhase?: boolean;
}

function interp(anneal: Anneal, start: number, end: number, pct: number): number {
  return anneal === 'cos' ? end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1) : (end - start) * pct + start;
}

function check(where: string, o: { totalSteps: number; pctStart?: number; anneal?: Anneal; threePhase?: boolean }) {
  const total = posInt(where, 'totalSteps', o.totalSteps);
  const pct = num(where, 'pctStart', o.pctStart ?? 0.3);
  if (!(pct > 0 && pct < 1)) throw new DLArgumentError(where, 'pctStart', 'a number in (0, 1)', pct);
  const anneal = o.anneal ?? 'cos';
  if (anneal !== 'cos' && anneal !== 'linear') throw new DLArgumentError(where, 'anneal', "'cos' or 'linear'", anneal);
  const three = o.threePhase ?? false;
  if (typeof three !== 'boolean') throw new DLArgumentError(where, 'threePhase', 'a boolean', three);
  return { total, pct, anneal, three };
}

function build(where: string, total: number, pct: number, anneal: Anneal, three: boolean, a: number, b: number, c: number, d: number): Schedule {
  // Phase boundaries exactly as torch.optim.lr_scheduler.OneCycleLR (float end steps).
  const ends = three ? [pct * total - 1, 2 * pct * total - 2, total - 1] : [pct * total - 1, total - 1];
  const pairs: [number, number][] = three ? [[a, b], [b, a], [a, d]] : [[a, b], [c, d]];
  return named(where, (t) => {
    if (t > total) throw new DLArgumentError(where, 'step', `at most totalSteps (${total})`, t);
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const last = i === ends.length - 1;
      if (t <= ends[i] || last) {
        const span = ends[i] - start;
        // A phase of no length (pctStart · totalSteps = 1: the warm-up is the single step 0) has ended where
        // the next phase starts, so step 0 takes the next phase's start value instead of torch's 0 / 0.
        if (span > 0) return interp(anneal, pairs[i][0], pairs[i][1], (t - start) / span);
        if (last) return pairs[i][1];
      }
      start = ends[i];
    }
    return pairs[ends.length - 1][1];
  });
}

/**
 * The one-cycle policy (Smith & Topin 2018, "Super-Convergence"), PyTorch's `OneCycleLR` learning rate:
 * from maxValue/divFactor up to maxValue over the first pctStart·totalSteps steps, then down to
 * maxValue/(divFactor·finalDivFactor) (three-phase: down to the start value first, then to the final one),
 * with cosine or linear interpolation. When pctStart·totalSteps = 1 the warm-up is the single step 0, where
 * torch divides 0 by 0: step 0 then gives the value the next phase starts from (maxValue; with three phases,
 * whose second phase is then empty too, maxValue/divFactor), and every later step torch's value.
 *
 * @example
 * ```ts
 * import { oneCycle } from '@dl/optim';
 * const lr = oneCycle({ maxValue: 0.1, totalSteps: 1000 });
 * ```
 */
export function oneCycle(options: OneCycleOptions): Schedule {
  checkOptions('oneCycle', options, ['maxValue', 'totalSteps', 'pctStart', 'anneal', 'divFactor', 'finalDivFactor', 'threePhase'], ['maxValue', 'totalSteps']);
  const { total, pct, anneal, three } = check('oneCycle', options);
  const max = nonNeg('oneCycle', 'maxValue', options.maxValue);
  const div = num('oneCycle', 'divFactor', options.divFactor ?? 25);
  const finalDiv = num('oneCycle', 'finalDivFactor', options.finalDivFactor ?? 1e4);
  if (div <= 0) throw new DLArgumentError('oneCycle', 'divFactor', 'a number > 0', div);
  if (finalDiv <= 0) throw new DLArgumentError('oneCycle', 'finalDivFactor', 'a number > 0', finalDiv);
  const initial = max / div;
  return build('oneCycle', total, pct, anneal, three, initial, max, max, initial / finalDiv);
}

/** Options of {@link oneCycleMomentum}. */
export interface OneCycleMomentumOptions {
  /** Momentum at the peak of the learning rate. Default 0.85. */
  baseMomentum?: number;
  /** Momentum at the start and end. Default 0.95. */
  maxMomentum?: number;
  /** As {@link OneCycleOptions.totalSteps}. */
  totalSteps: number;
  /** As {@link OneCycleOptions.pctStart}. Default 0.3. */
  pctStart?: number;
  /** As {@link OneCycleOptions.anneal}. Default `'cos'`. */
  anneal?: Anneal;
  /** As {@link OneCycleOptions.threePhase}. Default false. */
  threePhase?: boolean;
}

/**
 * The momentum that `OneCycleLR` cycles inversely to the learning rate (`cycle_momentum=True`): from
 * maxMomentum down to baseMomentum while the lr rises, then back up. Use it for SGD's `momentum` or
 * as Adam's β₁.
 *
 * @example
 * ```ts
 * import { Linear } from '@dl/core';
 * import { Adam, oneCycle, oneCycleMomentum, SGD } from '@dl/optim';
 * const params = new Linear(3, 1).parameters();
 * const opt = new SGD(params, { lr: oneCycle({ maxValue: 0.1, totalSteps: 1000 }), momentum: oneCycleMomentum({ totalSteps: 1000 }) });
 * // Adam's β₁, as OneCycleLR cycles it for optimizers with betas:
 * const adam = new Adam(params, { lr: oneCycle({ maxValue: 1e-3, totalSteps: 1000 }), betas: [oneCycleMomentum({ totalSteps: 1000 }), 0.999] });
 * ```
 */
export function oneCycleMomentum(options: OneCycleMomentumOptions): Schedule {
  checkOptions('oneCycleMomentum', options, ['baseMomentum', 'maxMomentum', 'totalSteps', 'pctStart', 'anneal', 'threePhase'], ['totalSteps']);
  const { total, pct, anneal, three } = check('oneCycleMomentum', options);
  const base = nonNeg('oneCycleMomentum', 'baseMomentum', options.baseMomentum ?? 0.85);
  const max = nonNeg('oneCycleMomentum', 'maxMomentum', options.maxMomentum ?? 0.95);
  return three ? build('oneCycleMomentum', total, pct, anneal, true, max, base, max, max) : build('oneCycleMomentum', total, pct, anneal, false, max, base, base, max);
}
