import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, num, posInt } from './validate.js';

/** Options of {@link linear}. */
export interface LinearOptions {
  /** Value at step 0. */
  init: number;
  /** Value from step `steps` on. */
  end: number;
  /** Steps of the linear ramp. */
  steps: number;
}

/**
 * Linear interpolation, then constant, PyTorch's `LinearLR` (with init = base·startFactor,
 * end = base·endFactor): v(t) = init + (end − init) · min(t, steps) / steps.
 *
 * @example
 * ```ts
 * import { linear } from '@dl/optim';
 * const lr = linear({ init: 1e-4, end: 1e-3, steps: 100 });
 * ```
 */
export function linear(options: LinearOptions): Schedule {
  checkOptions('linear', options, ['init', 'end', 'steps'], ['init', 'end', 'steps']);
  const init = num('linear', 'init', options.init);
  const end = num('linear', 'end', options.end);
  const steps = posInt('linear', 'steps', options.steps);
  return named('linear', (t) => init + ((end - init) * Math.min(t, steps)) / steps);
}

/** Options of {@link linearWarmup}. */
export interface LinearWarmupOptions {
  /** Value reached at the end of the warmup (and kept after). */
  peak: number;
  /** Warmup steps. */
  steps: number;
  /** Value at step 0. Default 0. */
  init?: number;
}

/**
 * Linear warmup (as used for ResNet and BERT): from `init` to `peak` over
 * `steps`, then `peak`. Multiply it with a decay, or {@link join} it with one ({@link warmupCosine}).
 *
 * v(t) = init + (peak − init) · min(t, steps) / steps
 *
 * @example
 * ```ts
 * import { linearWarmup } from '@dl/optim';
 * const lr = linearWarmup({ peak: 1e-3, steps: 500 });
 * ```
 */
export function linearWarmup(options: LinearWarmupOptions): Schedule {
  checkOptions('linearWarmup', options, ['peak', 'steps', 'init'], ['peak', 'steps']);
  const peak = nonNeg('linearWarmup', 'peak', options.peak);
  const steps = posInt('linearWarmup', 'steps', options.steps);
  const init = nonNeg('linearWarmup', 'init', options.init ?? 0);
  return named('linearWarmup', (t) => init + ((peak - init) * Math.min(t, steps)) / steps);
}

/** Options of {@link polynomial}. */
export interface PolynomialOptions {
  /** Value at step 0. */
  init: number;
  /** Steps of the decay; constant `end` afterwards. */
  steps: number;
  /** Exponent p. Default 1 (linear). */
  power?: number;
  /** Final value. Default 0. */
  end?: number;
}

/**
 * Polynomial decay, PyTorch's `PolynomialLR` (with end = 0):
 * v(t) = end + (init − end) · (1 − min(t, steps)/steps)^p.
 *
 * @example
 * ```ts
 * import { polynomial } from '@dl/optim';
 * const lr = polynomial({ init: 1e-3, steps: 1000, power: 2 });
 * ```
 */
export function polynomial(options: PolynomialOptions): Schedule {
  checkOptions('polynomial', options, ['init', 'steps', 'power', 'end'], ['init', 'steps']);
  const init = num('polynomial', 'init', options.init);
  const steps = posInt('polynomial', 'steps', options.steps);
  const power = nonNeg('polynomial', 'power', options.power ?? 1);
  const end = num('polynomial', 'end', options.end ?? 0);
  return named('polynomial', (t) => end + (init - end) * (1 - Math.min(t, steps) / steps) ** power);
}
