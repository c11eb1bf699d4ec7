import * as tf from '@tensorflow/tfjs-core';
import { asIs, describe, DLArgumentError } from '@dl/core';

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

/** How an error message names a schedule: by its function name, never by its source. */
function scheduleName(f: { name: string }): string {
  return f.name ? `the schedule '${f.name}'` : 'a schedule';
}

/**
 * A value as error messages print it, with schedules (functions) named instead of printed as source
 * text: `[schedule 'oneCycleMomentum',0.999]`.
 */
export function given(value: unknown): unknown {
  const show = (v: unknown): string => (typeof v === 'function' ? (v.name ? `schedule '${v.name}'` : 'a schedule') : Array.isArray(v) ? `[${v.map(show).join(',')}]` : describe(v));
  return typeof value === 'function' || Array.isArray(value) ? asIs(show(value)) : value;
}

/**
 * Validates a hyperparameter: a finite number in [lo, hi], or a schedule. A schedule is returned wrapped so
 * that every value it gives is checked against the same range when it is used: a NaN, infinite or
 * out-of-range value throws, naming `where`, `argument`, the schedule and the step.
 */
export function checkHyper(where: string, argument: string, value: unknown, lo = 0, hi = Infinity, loOpen = false, hiOpen = false): Hyper {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
  const range = hi === Infinity ? (lo === -Infinity ? 'a finite number' : `a number ${loOpen ? '>' : '≥'} ${lo}`) : `a number in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
  if (typeof value === 'function') {
    const f = value as Schedule;
    const checked = (t: number): number => {
      const v = f(t);
      if (!ok(v)) throw new DLArgumentError(where, argument, range, asIs(`${describe(v)} from ${scheduleName(f)} at step ${t}`));
      return v;
    };
    Object.defineProperty(checked, 'name', { value: f.name });
    return checked;
  }
  if (!ok(value)) throw new DLArgumentError(where, argument, `a schedule or ${range}`, value);
  return value;
}

/** Validates a boolean option. */
export function checkBool(where: string, argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new DLArgumentError(where, argument, 'a boolean', value);
  return value;
}

/**
 * Validates `[beta1, beta2]`: each a number in [0, 1) or a schedule, whose values are then checked when
 * used (see {@link checkHyper}).
 */
export function checkBetas(where: string, value: unknown): [Hyper, Hyper] {
  const inRange = (b: unknown) => typeof b === 'function' || (typeof b === 'number' && Number.isFinite(b) && b >= 0 && b < 1);
  if (!Array.isArray(value) || value.length !== 2 || !value.every(inRange)) {
    throw new DLArgumentError(where, 'betas', 'a pair of numbers in [0, 1) or schedules', given(value));
  }
  return [checkHyper(where, 'betas[0]', value[0], 0, 1, false, true), checkHyper(where, 'betas[1]', value[1], 0, 1, false, true)];
}

/**
 * A transformation's state numbers for schedules of its own: `{ step: [0] }` when any of `hypers` is a
 * schedule (evaluated at that count), else nothing, so states without schedules keep their layout.
 */
export function scheduleStep(...hypers: Hyper[]): Record<string, number[]> {
  return hypers.some((h) => typeof h === 'function') ? { step: [0] } : {};
}

/** The next state's numbers for {@link scheduleStep}: the count advanced by one, if it is kept. */
export function nextScheduleStep(state: TransformState): Record<string, number[]> {
  return state.numbers.step ? { step: [groupCount(state) + 1] } : {};
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
