import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, num, posInt } from './validate.js';

/** Options of {@link cyclic}. */
export interface CyclicOptions {
  /** Value at the bottom of each cycle (PyTorch's `base_lr`; for momentum pass max_momentum here). */
  base: number;
  /** Value at the top (PyTorch's `max_lr`; for momentum pass base_momentum here). */
  max: number;
  /** Steps of the increasing half. Default 2000. */
  stepSizeUp?: number;
  /** Steps of the decreasing half. Default `stepSizeUp`. */
  stepSizeDown?: number;
  /** `'triangular'` (constant amplitude), `'triangular2'` (halved each cycle), `'exp_range'` (× γ^t). Default `'triangular'`. */
  mode?: 'triangular' | 'triangular2' | 'exp_range';
  /** γ of `'exp_range'`. Default 1. */
  gamma?: number;
  /** A custom amplitude scale; overrides `mode`. */
  scaleFn?: (x: number) => number;
  /** Whether `scaleFn` gets the cycle number (`'cycle'`) or the step (`'iterations'`). Default `'cycle'`. */
  scaleMode?: 'cycle' | 'iterations';
}

/**
 * Cyclical learning rates (Smith 2017, "Cyclical Learning Rates for Training Neural Networks"),
 * PyTorch's `CyclicLR`. With L = up + down, c = ⌊1 + t/L⌋, x = 1 + t/L − c, s = x/r if x ≤ r else
 * (x−1)/(r−1) where r = up/L:
 *
 * v(t) = base + (max − base) · s · f(c or t)
 *
 * with f = 1 (triangular), 1/2^{c−1} (triangular2) or γ^t (exp_range). PyTorch's momentum cycling is the
 * same formula with base = max_momentum and max = base_momentum.
 *
 * @example
 * ```ts
 * import { cyclic } from '@dl/optim';
 * const lr = cyclic({ base: 1e-4, max: 1e-2, stepSizeUp: 500, mode: 'triangular2' });
 * ```
 */
export function cyclic(options: CyclicOptions): Schedule {
  checkOptions('cyclic', options, ['base', 'max', 'stepSizeUp', 'stepSizeDown', 'mode', 'gamma', 'scaleFn', 'scaleMode'], ['base', 'max']);
  const base = num('cyclic', 'base', options.base);
  const max = num('cyclic', 'max', options.max);
  const up = posInt('cyclic', 'stepSizeUp', options.stepSizeUp ?? 2000);
  const down = posInt('cyclic', 'stepSizeDown', options.stepSizeDown ?? up);
  const mode = options.mode ?? 'triangular';
  if (!['triangular', 'triangular2', 'exp_range'].includes(mode)) throw new DLArgumentError('cyclic', 'mode', "'triangular', 'triangular2' or 'exp_range'", mode);
  const gamma = nonNeg('cyclic', 'gamma', options.gamma ?? 1);
  if (options.scaleFn !== undefined && typeof options.scaleFn !== 'function') throw new DLArgumentError('cyclic', 'scaleFn', 'a function', options.scaleFn);
  const scaleMode = options.scaleMode ?? (options.scaleFn ? 'cycle' : mode === 'exp_range' ? 'iterations' : 'cycle');
  if (scaleMode !== 'cycle' && scaleMode !== 'iterations') throw new DLArgumentError('cyclic', 'scaleMode', "'cycle' or 'iterations'", scaleMode);
  const fn = options.scaleFn ?? (mode === 'triangular' ? () => 1 : mode === 'triangular2' ? (x: number) => 1 / 2 ** (x - 1) : (x: number) => gamma ** x);
  const total = up + down;
  const ratio = up / total;
  return named('cyclic', (t) => {
    const cycle = Math.floor(1 + t / total);
    const x = 1 + t / total - cycle;
    const s = x <= ratio ? x / ratio : (x - 1) / (ratio - 1);
    return base + (max - base) * s * fn(scaleMode === 'cycle' ? cycle : t);
  });
}
