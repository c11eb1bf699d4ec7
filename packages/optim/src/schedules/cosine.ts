import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, num, posInt } from './validate.js';
import { join } from './compose.js';
import { linearWarmup } from './linear.js';

/** Options of {@link cosine}. */
export interface CosineOptions {
  /** Value at step 0. */
  init: number;
  /** Half period T (PyTorch's `T_max`). */
  steps: number;
  /** Minimum value (PyTorch's `eta_min`). Default 0. */
  end?: number;
}

/**
 * Cosine annealing (Loshchilov & Hutter 2017), PyTorch's `CosineAnnealingLR`:
 * v(t) = end + (init − end)(1 + cos(π t / T)) / 2. Past T it rises again, as PyTorch's does.
 *
 * @example
 * ```ts
 * import { cosine } from '@dl/optim';
 * const lr = cosine({ init: 1e-3, steps: 1000, end: 1e-5 });
 * ```
 */
export function cosine(options: CosineOptions): Schedule {
  checkOptions('cosine', options, ['init', 'steps', 'end'], ['init', 'steps']);
  const init = num('cosine', 'init', options.init);
  const T = posInt('cosine', 'steps', options.steps);
  const end = num('cosine', 'end', options.end ?? 0);
  return named('cosine', (t) => end + ((init - end) * (1 + Math.cos((Math.PI * t) / T))) / 2);
}

/** Options of {@link cosineWarmRestarts}. */
export interface CosineWarmRestartsOptions {
  /** Value at the start of each period. */
  init: number;
  /** Length of the first period (PyTorch's `T_0`). */
  period: number;
  /** Factor by which each period is longer than the previous (integer ≥ 1, PyTorch's `T_mult`). Default 1. */
  periodMult?: number;
  /** Minimum value (`eta_min`). Default 0. */
  end?: number;
}

/**
 * Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter 2017), PyTorch's
 * `CosineAnnealingWarmRestarts`: with T_cur the steps since the last restart and T_i the current period,
 * v(t) = end + (init − end)(1 + cos(π T_cur / T_i)) / 2. Restarts are found by integer arithmetic.
 *
 * @example
 * ```ts
 * import { cosineWarmRestarts } from '@dl/optim';
 * const lr = cosineWarmRestarts({ init: 0.1, period: 10, periodMult: 2 }); // restarts at 10, 30, 70, …
 * ```
 */
export function cosineWarmRestarts(options: CosineWarmRestartsOptions): Schedule {
  checkOptions('cosineWarmRestarts', options, ['init', 'period', 'periodMult', 'end'], ['init', 'period']);
  const init = num('cosineWarmRestarts', 'init', options.init);
  const T0 = posInt('cosineWarmRestarts', 'period', options.period);
  const mult = posInt('cosineWarmRestarts', 'periodMult', options.periodMult ?? 1);
  const end = num('cosineWarmRestarts', 'end', options.end ?? 0);
  return named('cosineWarmRestarts', (t) => {
    let cur = t;
    let Ti = T0;
    if (mult === 1) cur = t % T0;
    else while (cur >= Ti) [cur, Ti] = [cur - Ti, Ti * mult];
    return end + ((init - end) * (1 + Math.cos((Math.PI * cur) / Ti))) / 2;
  });
}

/** Options of {@link warmupCosine}. */
export interface WarmupCosineOptions {
  /** Value at the end of the warmup. */
  peak: number;
  /** Linear warmup steps (≥ 1). */
  warmupSteps: number;
  /** Total steps: the cosine runs from `warmupSteps` to here. */
  totalSteps: number;
  /** Value at step 0. Default 0. */
  init?: number;
  /** Value at `totalSteps`. Default 0. */
  end?: number;
}

/**
 * Linear warmup then cosine decay, the usual Transformer/LLM schedule; PyTorch's
 * `SequentialLR([LinearLR, CosineAnnealingLR], milestones=[warmupSteps])`:
 * v(t) = init + (peak − init)·t/w for t < w, else end + (peak − end)(1 + cos(π (t−w)/(T−w)))/2, and `end` after T.
 *
 * @example
 * ```ts
 * import { warmupCosine } from '@dl/optim';
 * const lr = warmupCosine({ peak: 3e-4, warmupSteps: 100, totalSteps: 2000, end: 3e-5 });
 * ```
 */
export function warmupCosine(options: WarmupCosineOptions): Schedule {
  checkOptions('warmupCosine', options, ['peak', 'warmupSteps', 'totalSteps', 'init', 'end'], ['peak', 'warmupSteps', 'totalSteps']);
  const peak = nonNeg('warmupCosine', 'peak', options.peak);
  const w = posInt('warmupCosine', 'warmupSteps', options.warmupSteps);
  const T = posInt('warmupCosine', 'totalSteps', options.totalSteps);
  if (T <= w) throw new DLArgumentError('warmupCosine', 'totalSteps', `greater than warmupSteps (${w})`, T);
  const end = nonNeg('warmupCosine', 'end', options.end ?? 0);
  const decay = cosine({ init: peak, steps: T - w, end });
  const body = join([linearWarmup({ peak, steps: w, init: options.init ?? 0 }), (t: number) => (t >= T - w ? end : decay(t))], [w]);
  return named('warmupCosine', body);
}
