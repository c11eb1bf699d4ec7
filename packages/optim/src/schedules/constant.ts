import type { Schedule } from '../types.js';
import { named, num } from './validate.js';

/**
 * A constant schedule: `value` at every step. With {@link join} it gives PyTorch's `ConstantLR`
 * (`join([constant(lr * factor), constant(lr)], [totalIters])`).
 *
 * @example
 * ```ts
 * import { constant } from '@dl/optim';
 * constant(1e-3)(100); // 1e-3
 * ```
 */
export function constant(value: number): Schedule {
  const v = num('constant', 'value', value);
  return named('constant', () => v);
}
