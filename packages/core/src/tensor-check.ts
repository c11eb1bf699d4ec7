import * as tf from '@tensorflow/tfjs-core';

/**
 * Thrown when a value with a tfjs tensor's fields (`dataId`, `id`, `shape`, `dtype`) but not a tensor's
 * methods reaches a `@dl` function. Two causes: two copies of `@tensorflow/tfjs-core` are loaded and the
 * other copy's tensors are not recognised (tfjs-core 4.x copies of the same version do recognise each
 * other's tensors, since `Tensor[Symbol.hasInstance]` checks methods and the engine is global; a copy of
 * another major version does not), or the tensor was copied without its class (`structuredClone`,
 * `postMessage` to a worker, JSON), which keeps the fields and drops the data.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { TfjsCopyError, isTensor } from '@dl/core';
 * const copied = structuredClone(tf.ones([2])); // the fields, not the tensor
 * try { isTensor(copied, 'Linear.forward', 'input'); }
 * catch (e) { console.log(e instanceof TfjsCopyError); } // true
 * ```
 */
export class TfjsCopyError extends Error {
  /** Which function, class or layer received the tensor. */
  readonly where: string;
  /** The argument's name. */
  readonly argument: string;
  /**
   * @param where the function, class or layer that checks (e.g. `'Linear.forward'`).
   * @param argument the argument's name (e.g. `'input'`).
   */
  constructor(where: string, argument: string) {
    super(
      `${where}: ${argument} has a tensor's fields but is not a tensor of the @tensorflow/tfjs-core that @dl uses. ` +
        'Either two copies of @tensorflow/tfjs-core are loaded (the one @dl uses and another, e.g. of another version): ' +
        'list them with `npm ls @tensorflow/tfjs-core` (or `pnpm why @tensorflow/tfjs-core`), put every @tensorflow/* ' +
        'package on one version and deduplicate (`npm dedupe`, or a bundler alias to one copy); or the tensor was copied ' +
        'without its class (structuredClone, postMessage, JSON): send `await t.data()` and its shape, and rebuild it with tf.tensor.',
    );
    this.name = 'TfjsCopyError';
    this.where = where;
    this.argument = argument;
  }
}

/** The fields every tfjs Tensor has, whichever copy of tfjs-core made it. */
function looksLikeTensor(x: object): boolean {
  const t = x as Partial<tf.Tensor>;
  return 'dataId' in x && typeof t.id === 'number' && Array.isArray(t.shape) && typeof t.dtype === 'string';
}

/**
 * Whether `value` is a tensor of the tfjs-core that `@dl` uses. Every `@dl` package checks tensors with
 * this rather than a bare `instanceof tf.Tensor`, which is silently false for a tensor that tfjs-core does
 * not recognise: a value with a tensor's fields but not its methods (another major version's copy of
 * tfjs-core, or a tensor sent through `postMessage`) throws {@link TfjsCopyError}, which says why, instead
 * of a misleading "must be a tf.Tensor". Tensors of a second copy of the same tfjs-core 4.x are tensors.
 *
 * @param value anything.
 * @param where the function, class or layer checking (named in the error). Default `'isTensor'`.
 * @param argument the argument's name (named in the error). Default `'value'`.
 * @throws {@link TfjsCopyError} when `value` is a tensor from another copy of tfjs-core.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { isTensor } from '@dl/core';
 * isTensor(tf.scalar(1)); // true
 * isTensor([1, 2]); // false
 * ```
 */
export function isTensor(value: unknown, where = 'isTensor', argument = 'value'): value is tf.Tensor {
  if (value instanceof tf.Tensor) return true;
  if (typeof value === 'object' && value !== null && looksLikeTensor(value)) throw new TfjsCopyError(where, argument);
  return false;
}

/**
 * Whether `value` is a `tf.Variable` of the tfjs-core that `@dl` uses; as {@link isTensor}, a tensor or
 * variable of another copy of tfjs-core throws {@link TfjsCopyError}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { isVariable } from '@dl/core';
 * isVariable(tf.variable(tf.zeros([2]))); // true
 * isVariable(tf.zeros([2])); // false
 * ```
 */
export function isVariable(value: unknown, where = 'isVariable', argument = 'value'): value is tf.Variable {
  return isTensor(value, where, argument) && value instanceof tf.Variable;
}
