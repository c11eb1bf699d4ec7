import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, num, posInt } from './validate.js';

/** Options of {@link stepDecay}. */
export interface StepDecayOptions {
  /** Value at step 0. */
  init: number;
  /** Steps between decays. */
  stepSize: number;
  /** Multiplier at each decay. Default 0.1. */
  gamma?: number;
}

/**
 * Step decay, PyTorch's `StepLR`: v(t) = init · γ^⌊t / stepSize⌋.
 *
 * @example
 * ```ts
 * import { stepDecay } from '@dl/optim';
 * const lr = stepDecay({ init: 0.1, stepSize: 30, gamma: 0.1 }); // 0.1 for t < 30, 0.01 for t < 60, …
 * ```
 */
export function stepDecay(options: StepDecayOptions): Schedule {
  checkOptions('stepDecay', options, ['init', 'stepSize', 'gamma'], ['init', 'stepSize']);
  const init = num('stepDecay', 'init', options.init);
  const size = posInt('stepDecay', 'stepSize', options.stepSize);
  const gamma = nonNeg('stepDecay', 'gamma', options.gamma ?? 0.1);
  return named('stepDecay', (t) => init * gamma ** Math.floor(t / size));
}

/** Options of {@link multiStep}. */
export interface MultiStepOptions {
  /** Value at step 0. */
  init: number;
  /** Steps at which the value is multiplied by γ (increasing; a repeated milestone multiplies twice, as in PyTorch). */
  milestones: number[];
  /** Multiplier at each milestone. Default 0.1. */
  gamma?: number;
}

/**
 * Multi-step decay, PyTorch's `MultiStepLR`: v(t) = init · γ^(number of milestones ≤ t).
 *
 * @example
 * ```ts
 * import { multiStep } from '@dl/optim';
 * const lr = multiStep({ init: 0.1, milestones: [30, 80] });
 * ```
 */
export function multiStep(options: MultiStepOptions): Schedule {
  checkOptions('multiStep', options, ['init', 'milestones', 'gamma'], ['init', 'milestones']);
  const init = num('multiStep', 'init', options.init);
  const ms = options.milestones;
  if (!Array.isArray(ms) || !ms.every((m, i) => Number.isInteger(m) && m >= 0 && (i === 0 || m >= ms[i - 1]))) {
    throw new DLArgumentError('multiStep', 'milestones', 'a non-decreasing list of integers ≥ 0', ms);
  }
  const gamma = nonNeg('multiStep', 'gamma', options.gamma ?? 0.1);
  const milestones = [...ms];
  return named('multiStep', (t) => init * gamma ** milestones.filter((m) => m <= t).length);
}

/** Options of {@link exponential}. */
export interface ExponentialOptions {
  /** Value at step 0. */
  init: number;
  /** Multiplier per step. */
  gamma: number;
}

/**
 * Exponential decay, PyTorch's `ExponentialLR`: v(t) = init · γᵗ.
 *
 * @example
 * ```ts
 * import { exponential } from '@dl/optim';
 * const lr = exponential({ init: 1e-3, gamma: 0.99 });
 * ```
 */
export function exponential(options: ExponentialOptions): Schedule {
  checkOptions('exponential', options, ['init', 'gamma'], ['init', 'gamma']);
  const init = num('exponential', 'init', options.init);
  const gamma = nonNeg('exponential', 'gamma', options.gamma);
  return named('exponential', (t) => init * gamma ** t);
}
