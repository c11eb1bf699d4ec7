import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '@dl/core';
import type { ReorderStateFn } from './types.js';

/** Every tensor reachable from `state` (arrays, plain objects, Maps, class fields), variables excluded. */
export function stateTensors(state: unknown): Set<tf.Tensor> {
  const out = new Set<tf.Tensor>();
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number) => {
    if (v == null || typeof v !== 'object' || seen.has(v) || depth > 16) return;
    seen.add(v);
    if (v instanceof tf.Tensor) {
      if (!(v instanceof tf.Variable)) out.add(v);
      return;
    }
    if (ArrayBuffer.isView(v)) return;
    if (v instanceof Map) {
      for (const x of v.values()) walk(x, depth + 1);
      return;
    }
    const items = Array.isArray(v) ? v : Object.values(v as object);
    for (const x of items) walk(x, depth + 1);
  };
  walk(state, 0);
  return out;
}

/**
 * Holds the decoding state and frees what each transition (step, reorder) leaves behind, except tensors
 * of the caller's initial state.
 */
export class StateKeeper<S> {
  private readonly callers: Set<tf.Tensor>;
  private current: S;

  constructor(initial: S) {
    this.callers = stateTensors(initial);
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** Makes `next` current and disposes the tensors only the old state referenced. */
  replace(next: S): void {
    if (next === this.current) return;
    const keep = stateTensors(next);
    for (const t of stateTensors(this.current)) {
      if (!keep.has(t) && !this.callers.has(t) && !t.isDisposed) t.dispose();
    }
    this.current = next;
  }

  /** Disposes the current state's tensors (not the caller's). */
  dispose(): void {
    for (const t of stateTensors(this.current)) if (!this.callers.has(t) && !t.isDisposed) t.dispose();
  }
}

/**
 * The default {@link ReorderStateFn}: `null`/`undefined` stay; a state with a `reorder(indices)` method
 * reorders itself; otherwise every tensor of the container (arrays, plain objects, Maps) is gathered on
 * axis 0 (variables and non-tensor leaves are kept as they are). Returns new tensors; the inputs are not
 * disposed (the decoder frees what it owns).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { gatherState } from '@dl/decode';
 * const cache = { k: tf.randomNormal([2, 4, 3, 8]), v: tf.randomNormal([2, 4, 3, 8]) }; // [rows, heads, len, dim]
 * const beams = gatherState(cache, [0, 0, 1, 1]); // each row twice: { k: [4, 4, 3, 8], v: [4, 4, 3, 8] }
 * ```
 */
export function gatherState<S>(state: S, indices: readonly number[]): S {
  if (state == null) return state;
  const reorderable = state as unknown as { reorder?: unknown };
  if (typeof reorderable.reorder === 'function') return (reorderable.reorder as (i: readonly number[]) => S).call(state, indices);
  let idx: tf.Tensor1D | null = null;
  const maxIndex = Math.max(...indices);
  const go = (v: unknown, path: string): unknown => {
    if (v instanceof tf.Tensor) {
      if (v instanceof tf.Variable) return v;
      if (v.rank === 0 || v.shape[0] <= maxIndex) {
        throw new DLArgumentError('gatherState', `state${path}`, `a tensor with a row axis 0 of size > ${maxIndex} (one row per sequence), or pass reorderState`, v);
      }
      idx ??= tf.tensor1d(indices as number[], 'int32');
      return tf.gather(v, idx, 0); // [indices.length, ...]
    }
    if (Array.isArray(v)) return v.map((x, i) => go(x, `${path}[${i}]`));
    if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, go(x, `${path}.${String(k)}`)]));
    if (v != null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, go(x, `${path}.${k}`)]));
    }
    if (v != null && typeof v === 'object' && stateTensors(v).size > 0) {
      throw new DLArgumentError('gatherState', `state${path}`, 'a plain container of tensors or an object with reorder(indices) (or pass reorderState)', v.constructor?.name ?? typeof v);
    }
    return v;
  };
  try {
    return go(state, '') as S;
  } finally {
    (idx as tf.Tensor1D | null)?.dispose();
  }
}

/** Applies a reorder unless it is the identity. */
export function reorderRows<S>(keeper: StateKeeper<S>, indices: readonly number[], fn: ReorderStateFn<S> | undefined, rows: number): void {
  if (keeper.state == null) return;
  if (indices.length === rows && indices.every((v, i) => v === i)) return;
  keeper.replace((fn ?? gatherState)(keeper.state, indices));
}

/** `[0,0,…,1,1,…]`: each of `n` rows `times` times (torch `repeat_interleave`). */
export function repeatInterleave(n: number, times: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < times; j++) out.push(i);
  return out;
}
