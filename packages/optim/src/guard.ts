import * as tf from '@tensorflow/tfjs-core';
import type { Updates } from './types.js';

/**
 * What the optimizer does with a gradient containing NaN or ±Infinity: `'none'` does not check (no
 * host read, fastest), `'skip'` leaves parameters and state untouched and reports the skip, `'throw'`
 * throws a {@link NonFiniteGradientError}.
 *
 * @example
 * ```ts
 * import { AdamW, type NonFiniteMode } from '@dl/optim';
 * const mode: NonFiniteMode = 'skip';
 * const opt = new AdamW([], { nonFinite: mode });
 * ```
 */
export type NonFiniteMode = 'none' | 'skip' | 'throw';

/**
 * Thrown by an optimizer with `nonFinite: 'throw'` when a gradient has NaN or ±Infinity. Nothing was
 * changed.
 *
 * @example
 * ```ts
 * import { NonFiniteGradientError } from '@dl/optim';
 * try { await opt.step(grads); } catch (e) { if (e instanceof NonFiniteGradientError) console.log(e.parameters); }
 * ```
 */
export class NonFiniteGradientError extends Error {
  /** Names of the parameters whose gradient was not finite. */
  readonly parameters: string[];
  /** @param parameters names of the parameters with non-finite gradients. */
  constructor(parameters: string[]) {
    super(`non-finite gradient (NaN or ±Infinity) for parameter(s) ${parameters.join(', ')}; the step was not applied`);
    this.name = 'NonFiniteGradientError';
    this.parameters = parameters;
  }
}

/**
 * One boolean per non-null gradient: whether all its elements are finite, read with a single host
 * transfer. Returns the indices (into `grads`) of the non-finite ones.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { findNonFinite } from '@dl/optim';
 * await findNonFinite([tf.tensor1d([1, NaN]), tf.tensor1d([2])]); // [0]
 * ```
 */
export async function findNonFinite(grads: Updates): Promise<number[]> {
  const idx = grads.map((g, i) => (g === null ? -1 : i)).filter((i) => i >= 0);
  if (idx.length === 0) return [];
  const flags = tf.tidy(() => tf.stack(idx.map((i) => tf.cast(tf.all(tf.isFinite(grads[i]!)), 'int32')))); // [n]
  const data = await flags.data();
  flags.dispose();
  return idx.filter((_, k) => data[k] === 0);
}
