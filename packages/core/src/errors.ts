import type * as tf from '@tensorflow/tfjs-core';

/**
 * The error every `@dl` check throws: it names the argument, what was expected and what was given.
 *
 * @example
 * ```ts
 * import { DLArgumentError } from '@dl/core';
 * try { throw new DLArgumentError('Linear', 'inFeatures', 'a positive integer', -3); }
 * catch (e) { console.log((e as Error).message); } // Linear: inFeatures must be a positive integer, got -3
 * ```
 */
export class DLArgumentError extends Error {
  /** Which function, class or layer rejected the argument. */
  readonly where: string;
  /** The argument's name. */
  readonly argument: string;
  /**
   * @param where the function, class or layer that checks (e.g. `'Linear'`).
   * @param argument the argument's name (e.g. `'input'`).
   * @param expected what was expected, in words (e.g. `'last dim 4'`).
   * @param given what was given; shapes and arrays are printed compactly.
   */
  constructor(where: string, argument: string, expected: string, given: unknown) {
    super(`${where}: ${argument} must be ${expected}, got ${describe(given)}`);
    this.name = 'DLArgumentError';
    this.where = where;
    this.argument = argument;
  }
}

/**
 * Text that {@link describe} prints as it is (see {@link asIs}).
 *
 * @example
 * ```ts
 * import { AsIs, describe } from '@dl/core';
 * describe(new AsIs('3 at position 1')); // '3 at position 1', not '"3 at position 1"'
 * ```
 */
export class AsIs {
  /** @param text printed verbatim. */
  constructor(readonly text: string) {}
}

/**
 * Marks an already-worded description (e.g. `'3 at flat position 1'`) so error messages print it
 * without quotes.
 *
 * @example
 * ```ts
 * import { DLArgumentError, asIs } from '@dl/core';
 * new DLArgumentError('f', 'target', 'indices in [0, 3)', asIs('3 at position 1')).message; // "f: target must be indices in [0, 3), got 3 at position 1"
 * ```
 */
export function asIs(text: string): AsIs {
  return new AsIs(text);
}

/**
 * Prints a value for an error message: tensors as `Tensor float32 [2,3]`, arrays as `[2,3]`.
 *
 * @example
 * ```ts
 * import { describe } from '@dl/core';
 * describe([2, 3]); // '[2,3]'
 * ```
 */
export function describe(value: unknown): string {
  if (value instanceof AsIs) return value.text;
  if (value instanceof Object && 'shape' in value && 'dtype' in value && 'dataId' in value) {
    const t = value as tf.Tensor;
    return `Tensor ${t.dtype} [${t.shape.join(',')}]`;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (Array.isArray(v) ? describe(v) : String(v))).join(',')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

/**
 * Throws a {@link DLArgumentError} unless `value` is an integer ≥ `min` (default 1).
 *
 * @example
 * ```ts
 * import { checkInt } from '@dl/core';
 * checkInt('Linear', 'outFeatures', 8); // ok
 * ```
 */
export function checkInt(where: string, argument: string, value: unknown, min = 1): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new DLArgumentError(where, argument, min === 1 ? 'a positive integer' : `an integer ≥ ${min}`, value);
  }
  return value;
}

/**
 * Throws a {@link DLArgumentError} unless `value` is a finite number in `[lo, hi]` (bounds optional).
 *
 * @example
 * ```ts
 * import { checkNumber } from '@dl/core';
 * checkNumber('Dropout', 'p', 0.1, 0, 1); // ok
 * ```
 */
export function checkNumber(where: string, argument: string, value: unknown, lo = -Infinity, hi = Infinity, loOpen = false, hiOpen = false): number {
  const okLo = loOpen ? (value as number) > lo : (value as number) >= lo;
  const okHi = hiOpen ? (value as number) < hi : (value as number) <= hi;
  if (typeof value !== 'number' || !Number.isFinite(value) || !okLo || !okHi) {
    const range = lo === -Infinity && hi === Infinity ? 'a finite number' : `a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new DLArgumentError(where, argument, range, value);
  }
  return value;
}

const SHAPE_SPEC_KEYS = ['rank', 'minRank', 'last', 'dims', 'dtype'] as const;

/**
 * Throws a {@link DLArgumentError} unless tensor `x` has rank in `ranks` and, where `dims` gives a number
 * (negative indices count from the end), that size. `null` in `dims` matches anything. Unknown keys in
 * `spec` throw.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkShape } from '@dl/core';
 * checkShape('Linear', 'input', tf.zeros([2, 4]), { minRank: 1, last: 4 });
 * ```
 */
export function checkShape(
  where: string,
  argument: string,
  x: tf.Tensor,
  spec: { rank?: number | number[]; minRank?: number; last?: number; dims?: Record<number, number>; dtype?: tf.DataType | tf.DataType[] },
): void {
  checkKeys('checkShape', spec, SHAPE_SPEC_KEYS);
  if (x == null || typeof x !== 'object' || !('shape' in x)) {
    throw new DLArgumentError(where, argument, 'a tf.Tensor', x);
  }
  const ranks = spec.rank === undefined ? undefined : Array.isArray(spec.rank) ? spec.rank : [spec.rank];
  if (ranks && !ranks.includes(x.rank)) {
    throw new DLArgumentError(where, argument, `of rank ${ranks.join(' or ')}`, x);
  }
  if (spec.minRank !== undefined && x.rank < spec.minRank) {
    throw new DLArgumentError(where, argument, `of rank ≥ ${spec.minRank}`, x);
  }
  if (spec.last !== undefined && x.shape[x.rank - 1] !== spec.last) {
    throw new DLArgumentError(where, argument, `of shape [..., ${spec.last}]`, x);
  }
  for (const [k, size] of Object.entries(spec.dims ?? {})) {
    const axis = Number(k) < 0 ? x.rank + Number(k) : Number(k);
    if (x.shape[axis] !== size) throw new DLArgumentError(where, argument, `of size ${size} on axis ${k}`, x);
  }
  if (spec.dtype !== undefined) {
    const dtypes = Array.isArray(spec.dtype) ? spec.dtype : [spec.dtype];
    if (!dtypes.includes(x.dtype)) throw new DLArgumentError(where, argument, `of dtype ${dtypes.join(' or ')}`, x);
  }
}

/**
 * Throws a {@link DLArgumentError} unless `options` is `undefined` or a plain object whose keys are all
 * in `known`; the message names the unknown key and lists the valid ones. Every `@dl` options object is
 * checked this way, so a misspelt option (`{ num_beams: 4 }`, `{ strides: 2 }`) fails loudly instead of
 * silently running with the default.
 *
 * @example
 * ```ts
 * import { checkKeys } from '@dl/core';
 * checkKeys('RMSNorm', { eps: 1e-6 }, ['eps', 'elementwiseAffine']); // ok
 * checkKeys('RMSNorm', { epsilon: 1e-6 }, ['eps', 'elementwiseAffine']); // throws "RMSNorm: options.epsilon must be one of the known options (eps, elementwiseAffine)"
 * ```
 */
export function checkKeys(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new DLArgumentError(where, 'options', 'an object', options);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new DLArgumentError(where, `options.${k}`, `one of the known options (${known.join(', ')})`, k);
  }
}
