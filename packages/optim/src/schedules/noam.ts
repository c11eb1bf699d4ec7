import type { Schedule } from '../types.js';
import { checkOptions, named, nonNeg, posInt } from './validate.js';

/** Options of {@link noam}. */
export interface NoamOptions {
  /** Model width d_model. */
  dModel: number;
  /** Warmup steps. */
  warmupSteps: number;
  /** Overall factor. Default 1. */
  factor?: number;
}

/**
 * The Transformer paper's schedule (Vaswani et al. 2017, §5.3, "Noam"): linear warmup, then inverse
 * square-root decay. With s = t + 1 (the paper counts steps from 1):
 *
 * v(t) = factor · d_model^−0.5 · min(s^−0.5, s · warmup^−1.5)
 *
 * @example
 * ```ts
 * import { noam } from '@dl/optim';
 * const lr = noam({ dModel: 512, warmupSteps: 4000 }); // peaks at ≈ 7e-4 at step 4000
 * ```
 */
export function noam(options: NoamOptions): Schedule {
  checkOptions('noam', options, ['dModel', 'warmupSteps', 'factor'], ['dModel', 'warmupSteps']);
  const d = posInt('noam', 'dModel', options.dModel);
  const w = posInt('noam', 'warmupSteps', options.warmupSteps);
  const factor = nonNeg('noam', 'factor', options.factor ?? 1);
  return named('noam', (t) => {
    const s = t + 1;
    return factor * d ** -0.5 * Math.min(s ** -0.5, s * w ** -1.5);
  });
}
