import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '@dl/core';

/**
 * A schedule: a plain function from a step count (0, 1, 2, …: the number of updates already applied)
 * to a hyperparameter value. Every schedule in this package is one; any `(step) => number` works too.
 *
 * @example
 * ```ts
 * import { cosine, type Schedule } from '@dl/optim';
 * const lr: Schedule = cosine({ init: 1e-3, steps: 1000 });
 * lr(500); // 5e-4
 * ```
 */
export type Schedule = (step: number) => number;

/**
 * A hyperparameter: a constant or a {@link Schedule} evaluated at the transform's step count.
 *
 * @example
 * ```ts
 * import { adamw, linearWarmup, type Hyper } from '@dl/optim';
 * const lr: Hyper = linearWarmup({ peak: 1e-3, steps: 100 });
 * const tx = adamw({ lr });
 * ```
 */
export type Hyper = number | Schedule;

/**
 * Per-parameter gradients or updates, aligned with the parameter list. `null` means "no gradient for this
 * parameter this step" (PyTorch's `p.grad is None`): the parameter and its state are left untouched.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import type { Updates } from '@dl/optim';
 * const u: Updates = [tf.ones([2]), null];
 * ```
 */
export type Updates = (tf.Tensor | null)[];

/**
 * The state of a {@link GradientTransformation}: per-parameter tensors by slot name (`exp_avg`,
 * `exp_avg_sq`, …, `null` where a slot is not used), host-side numbers (step counts, products of
 * momentum factors) and the states of inner transformations (for {@link chain}). Everything here is
 * saved by {@link Optimizer.saveState}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { scaleByAdam } from '@dl/optim';
 * const state = scaleByAdam().init([tf.zeros([3])]);
 * Object.keys(state.slots); // ['exp_avg', 'exp_avg_sq']
 * ```
 */
export interface TransformState {
  /** Per-parameter tensors by slot name, aligned with the parameters. */
  slots: Record<string, (tf.Tensor | null)[]>;
  /** Host-side numbers by name (e.g. `count`: one step count per parameter). */
  numbers: Record<string, number[]>;
  /** States of inner transformations, in order (used by {@link chain}). */
  inner: TransformState[];
}

/** The result of {@link GradientTransformation.update}. */
export interface TransformResult {
  /** The transformed updates (added to the parameters at the end of a chain). */
  updates: Updates;
  /** The new state. Tensors not carried over from the old state are new and owned by the caller. */
  state: TransformState;
}

/**
 * A gradient transformation (as in optax): `init` makes the state for a list of parameters; `update`
 * maps incoming updates (gradients at the start of a chain) to outgoing updates and a new state. It is
 * pure: it never changes its inputs. A chain ending in {@link scaleByLearningRate} yields the deltas that
 * are added to the parameters (`θ ← θ + u`). Call `update` inside `tf.tidy` and `tf.keep` the new state,
 * or let {@link Optimizer} do the bookkeeping.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { chain, clipByGlobalNorm, scaleByAdam, scaleByLearningRate } from '@dl/optim';
 * const tx = chain(clipByGlobalNorm(1), scaleByAdam(), scaleByLearningRate(1e-3));
 * const w = tf.variable(tf.ones([2]));
 * let state = tx.init([w]);
 * const g = tf.tensor1d([0.5, -2]);
 * const { updates, state: next } = tx.update([g], state, [w]);
 * w.assign(tf.add(w, updates[0]!));
 * ```
 */
export interface GradientTransformation {
  /** A short description, e.g. `chain(scaleByAdam, scaleByLearningRate)`. */
  readonly name: string;
  /** Makes the initial state for `params`. */
  init(params: readonly tf.Tensor[]): TransformState;
  /** Transforms `updates` (aligned with `params`), returning the new updates and state. */
  update(updates: Updates, state: TransformState, params: readonly tf.Tensor[]): TransformResult;
}

/** An empty state: no slots, no numbers, no inner states. */
export function emptyState(): TransformState {
  return { slots: {}, numbers: {}, inner: [] };
}

/** Evaluates a hyperparameter at `step`. */
export function resolve(h: Hyper, step: number): number {
  return typeof h === 'function' ? h(step) : h;
}

/** Validates a hyperparameter: a function, or a finite number in [lo, hi]. */
export function checkHyper(where: string, argument: string, value: unknown, lo = 0, hi = Infinity, loOpen = false, hiOpen = false): Hyper {
  if (typeof value === 'function') return value as Schedule;
  const okLo = loOpen ? (value as number) > lo : (value as number) >= lo;
  const okHi = hiOpen ? (value as number) < hi : (value as number) <= hi;
  if (typeof value !== 'number' || !Number.isFinite(value) || !okLo || !okHi) {
    const range = hi === Infinity ? `a schedule or a number ${loOpen ? '>' : '≥'} ${lo}` : `a schedule or a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    throw new DLArgumentError(where, argument, range, value);
  }
  return value;
}

/** Validates a boolean option. */
export function checkBool(where: string, argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new DLArgumentError(where, argument, 'a boolean', value);
  return value;
}

/** Validates `[beta1, beta2]`, each in [0, 1). */
export function checkBetas(where: string, value: unknown): [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !value.every((b) => typeof b === 'number' && Number.isFinite(b) && b >= 0 && b < 1)) {
    throw new DLArgumentError(where, 'betas', 'a pair of numbers in [0, 1)', value);
  }
  return [value[0], value[1]];
}

/** Throws unless `options` is undefined or a plain object whose keys are all in `known`. */
export function checkKeys(where: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new DLArgumentError(where, 'options', 'an object', options);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new DLArgumentError(where, `options.${k}`, `one of the known options (${known.join(', ')})`, k);
  }
}

/** Applies `fn` to each non-null update (with its index); nulls stay null. */
export function mapUpdates(updates: Updates, fn: (u: tf.Tensor, i: number) => tf.Tensor): Updates {
  return updates.map((u, i) => (u === null ? null : fn(u, i)));
}

/**
 * A memo of scalar tensors for one update: each distinct hyperparameter value is uploaded once and shared
 * by every parameter, instead of once per parameter and op (`tf.mul(x, 0.9)` uploads a new scalar each
 * call, which dominates a step over many small variables). Call inside the optimizer step's tidy.
 */
export function scalarMemo(): (value: number) => tf.Scalar {
  const memo = new Map<number, tf.Scalar>();
  return (value) => {
    let s = memo.get(value);
    if (!s) memo.set(value, (s = tf.scalar(value)));
    return s;
  };
}

/** `n` zero tensors shaped like `params` (float32). */
export function zerosLike(params: readonly tf.Tensor[]): tf.Tensor[] {
  return params.map((p) => tf.zeros(p.shape, 'float32'));
}

/** Per-parameter step counts after one update: counts of parameters with an update go up by one. */
export function bumpCounts(counts: number[], updates: Updates): number[] {
  return counts.map((c, i) => (updates[i] === null ? c : c + 1));
}

/** One step counter shared by a transformation (for schedules): how many updates it has seen. */
export function groupCount(state: TransformState): number {
  return state.numbers.step?.[0] ?? 0;
}

/** `tf.tidy` for results holding `null`s (update lists): tfjs skips nulls when collecting kept tensors. */
export function tidyUpdates<T>(fn: () => T): T {
  return tf.tidy(fn as unknown as () => tf.TensorContainer) as unknown as T;
}
