import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkOptions, nonNeg, num } from './validate.js';

/** Options of {@link reduceOnPlateau}. */
export interface ReduceOnPlateauOptions {
  /** Value before any reduction. */
  init: number;
  /** `'min'`: the metric should fall (a loss); `'max'`: rise (an accuracy). Default `'min'`. */
  mode?: 'min' | 'max';
  /** Multiplier at each reduction. Default 0.1. */
  factor?: number;
  /** Bad reports tolerated before reducing. Default 10. */
  patience?: number;
  /** What counts as an improvement. Default 1e-4. */
  threshold?: number;
  /** `'rel'`: best·(1 ∓ threshold); `'abs'`: best ∓ threshold. Default `'rel'`. */
  thresholdMode?: 'rel' | 'abs';
  /** Reports to wait after a reduction before counting bad ones again. Default 0. */
  cooldown?: number;
  /** Lower bound of the value. Default 0. */
  minValue?: number;
  /** Reductions smaller than this are ignored. Default 1e-8. */
  eps?: number;
}

/** The mutable state of a {@link PlateauSchedule} (for checkpoints). */
export interface PlateauState {
  /** Current value. */
  value: number;
  /** Best metric so far. */
  best: number;
  /** Consecutive reports without improvement. */
  numBadEpochs: number;
  /** Reports left in the cooldown. */
  cooldownCounter: number;
  /** Reports so far. */
  reports: number;
}

/**
 * A schedule driven by a metric: call {@link PlateauSchedule.report} with the validation loss (or
 * accuracy) after each epoch; as a function of the step it returns the current value.
 */
export interface PlateauSchedule extends Schedule {
  /** Feeds one metric value; returns the (possibly reduced) current value. */
  report(metric: number): number;
  /** The current value. */
  readonly value: number;
  /** A copy of the state, for checkpoints. */
  state(): PlateauState;
  /** Restores {@link PlateauSchedule.state}. */
  loadState(state: PlateauState): void;
}

/**
 * Reduce on plateau, PyTorch's `ReduceLROnPlateau`: when the reported metric has not improved (by
 * `threshold`) for more than `patience` reports, multiply the value by `factor` (not below `minValue`),
 * then wait `cooldown` reports.
 *
 * @example
 * ```ts
 * import { Linear } from '@dl/core';
 * import { reduceOnPlateau, SGD } from '@dl/optim';
 * const lr = reduceOnPlateau({ init: 0.1, patience: 5 });
 * const opt = new SGD(new Linear(3, 1).parameters(), { lr });
 * for (const validationLoss of [1, 1, 1, 1, 1, 1, 1]) lr.report(validationLoss); // no improvement for 6 reports
 * lr(0); // 0.01
 * ```
 */
export function reduceOnPlateau(options: ReduceOnPlateauOptions): PlateauSchedule {
  const W = 'reduceOnPlateau';
  checkOptions(W, options, ['init', 'mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minValue', 'eps'], ['init']);
  const init = num(W, 'init', options.init);
  const mode = options.mode ?? 'min';
  if (mode !== 'min' && mode !== 'max') throw new DLArgumentError(W, 'mode', "'min' or 'max'", mode);
  const factor = num(W, 'factor', options.factor ?? 0.1);
  if (!(factor >= 0 && factor < 1)) throw new DLArgumentError(W, 'factor', 'a number in [0, 1)', factor);
  const patience = options.patience ?? 10;
  if (!Number.isInteger(patience) || patience < 0) throw new DLArgumentError(W, 'patience', 'an integer ≥ 0', patience);
  const threshold = nonNeg(W, 'threshold', options.threshold ?? 1e-4);
  const thresholdMode = options.thresholdMode ?? 'rel';
  if (thresholdMode !== 'rel' && thresholdMode !== 'abs') throw new DLArgumentError(W, 'thresholdMode', "'rel' or 'abs'", thresholdMode);
  const cooldown = options.cooldown ?? 0;
  if (!Number.isInteger(cooldown) || cooldown < 0) throw new DLArgumentError(W, 'cooldown', 'an integer ≥ 0', cooldown);
  const minValue = nonNeg(W, 'minValue', options.minValue ?? 0);
  const eps = nonNeg(W, 'eps', options.eps ?? 1e-8);
  let s: PlateauState = { value: init, best: mode === 'min' ? Infinity : -Infinity, numBadEpochs: 0, cooldownCounter: 0, reports: 0 };
  const better = (a: number, best: number): boolean => {
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  };
  const f = ((_step: number) => s.value) as PlateauSchedule;
  Object.defineProperty(f, 'name', { value: W });
  Object.defineProperty(f, 'value', { get: () => s.value });
  f.report = (metric: number) => {
    if (typeof metric !== 'number' || Number.isNaN(metric)) throw new DLArgumentError(`${W}.report`, 'metric', 'a number', metric);
    s.reports++;
    if (better(metric, s.best)) {
      s.best = metric;
      s.numBadEpochs = 0;
    } else s.numBadEpochs++;
    if (s.cooldownCounter > 0) {
      s.cooldownCounter--;
      s.numBadEpochs = 0;
    }
    if (s.numBadEpochs > patience) {
      const next = Math.max(s.value * factor, minValue);
      if (s.value - next > eps) s.value = next;
      s.cooldownCounter = cooldown;
      s.numBadEpochs = 0;
    }
    return s.value;
  };
  f.state = () => ({ ...s });
  f.loadState = (state: PlateauState) => {
    for (const k of ['value', 'best', 'numBadEpochs', 'cooldownCounter', 'reports'] as const) {
      if (typeof state?.[k] !== 'number') throw new DLArgumentError(`${W}.loadState`, `state.${k}`, 'a number', state?.[k]);
    }
    s = { ...state };
  };
  return f;
}
