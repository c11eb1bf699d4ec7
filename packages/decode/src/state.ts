import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, indexSelect, isTensor, isVariable, Module } from '@dl/core';
import type { ReorderStateFn } from './types.js';

/** An object that reorders its own rows (a KV cache, an RNN state, …). */
type ReorderableObject = { reorder(indices: readonly number[]): unknown };
/** A reorderable object that also frees itself: a state object the decoder owns once it made it. */
type StateObject = ReorderableObject & { dispose(): void };

const isReorderable = (v: unknown): v is ReorderableObject => v != null && typeof v === 'object' && !isTensor(v) && typeof (v as ReorderableObject).reorder === 'function';
const isStateObject = (v: unknown): v is StateObject => isReorderable(v) && typeof (v as StateObject).dispose === 'function';

/**
 * Walks a state: every tensor (variables excluded) and every state object (with `reorder` and
 * `dispose`) reachable through arrays, plain objects, Maps and class fields (TypeScript `private` fields
 * included: they are ordinary properties). A `Module` (a model the state points at) is the model's and is
 * not entered.
 */
function walkState(state: unknown): { tensors: Set<tf.Tensor>; objects: Set<StateObject> } {
  const tensors = new Set<tf.Tensor>();
  const objects = new Set<StateObject>();
  const seen = new Set<unknown>();
  const walk = (v: unknown, depth: number) => {
    if (v == null || typeof v !== 'object' || seen.has(v) || depth > 16) return;
    seen.add(v);
    if (isTensor(v)) {
      if (!isVariable(v)) tensors.add(v);
      return;
    }
    if (ArrayBuffer.isView(v) || v instanceof Module) return;
    if (isStateObject(v)) objects.add(v);
    if (v instanceof Map) {
      for (const x of v.values()) walk(x, depth + 1);
      return;
    }
    const items = Array.isArray(v) ? v : Object.values(v as object);
    for (const x of items) walk(x, depth + 1);
  };
  walk(state, 0);
  return { tensors, objects };
}

/** Every tensor reachable from `state` (arrays, plain objects, Maps, class fields), variables and modules excluded. */
export function stateTensors(state: unknown): Set<tf.Tensor> {
  return walkState(state).tensors;
}

/**
 * Holds the decoding state and frees what each transition (step, reorder) leaves behind: the tensors no
 * longer referenced, and the state objects (with `reorder` and `dispose`, such as KV caches) no longer
 * referenced, through their `dispose()` (which also frees tensors a walk cannot see, in ES `#private`
 * fields) unless they share a tensor or object with what stays. What the caller's initial state holds stays the caller's: its tensors, its state objects, and
 * whatever those objects hold by then (a cache a step appended to in place stays usable).
 */
export class StateKeeper<S> {
  private readonly callerTensors: Set<tf.Tensor>;
  private readonly callerObjects: Set<StateObject>;
  private current: S;

  constructor(initial: S) {
    const { tensors, objects } = walkState(initial);
    this.callerTensors = tensors;
    this.callerObjects = objects;
    this.current = initial;
  }

  get state(): S {
    return this.current;
  }

  /** Makes `next` current and frees what only the old state referenced. */
  replace(next: S): void {
    if (next === this.current) return;
    const keep = walkState(next);
    this.free(walkState(this.current), keep);
    this.current = next;
  }

  /** Frees the current state (not the caller's). */
  dispose(): void {
    this.free(walkState(this.current), { tensors: new Set(), objects: new Set() });
  }

  private free(old: ReturnType<typeof walkState>, keep: ReturnType<typeof walkState>): void {
    // What the caller's state objects hold now is theirs too (a cache the step appended to in place).
    const callers = this.callerObjects.size ? walkState([...this.callerObjects]).tensors : null;
    const kept = (t: tf.Tensor) => keep.tensors.has(t) || this.callerTensors.has(t) || !!callers?.has(t);
    for (const o of old.objects) {
      if (keep.objects.has(o) || this.callerObjects.has(o)) continue;
      // An object sharing anything with what stays is left to the tensor sweep (its dispose would free it).
      const inside = walkState(o);
      const shares = [...inside.tensors].some(kept) || [...inside.objects].some((x) => x !== o && (keep.objects.has(x) || this.callerObjects.has(x)));
      if (!shares) o.dispose();
    }
    for (const t of old.tensors) {
      if (!kept(t) && !t.isDisposed) t.dispose();
    }
  }
}

/**
 * The default {@link ReorderStateFn}: `null`/`undefined` stay; an object with a `reorder(indices)`
 * method (a KV cache, a whole model cache, …), at the top or anywhere inside arrays, plain objects and
 * Maps, is replaced by what its `reorder` returns; every other tensor is gathered on axis 0; variables,
 * modules and non-tensor leaves are kept as they are. So a transformer state such as
 * `{ self: KVCache[], cross: { k, v }[], memory }` follows the beams as it is. Returns new tensors and
 * objects; the inputs are not changed or disposed (the decoder frees what it owns). If a reorder fails
 * half way, what was already made is freed.
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
  const maxIndex = Math.max(...indices);
  const made: { dispose(): void }[] = [];
  const go = (v: unknown, path: string): unknown => {
    if (isTensor(v)) {
      if (isVariable(v)) return v;
      if (v.rank === 0 || v.shape[0] <= maxIndex) {
        throw new DLArgumentError('gatherState', `state${path}`, `a tensor with a row axis 0 of size > ${maxIndex} (one row per sequence), or pass reorderState`, v);
      }
      const out = indexSelect(v, indices, 0); // [indices.length, ...] (block copies on wasm)
      made.push(out);
      return out;
    }
    if (v instanceof Module) return v;
    if (isReorderable(v)) {
      const out = v.reorder(indices);
      if (out !== v && out != null && typeof (out as StateObject).dispose === 'function') made.push(out as StateObject);
      return out;
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
  } catch (e) {
    for (const m of made) m.dispose();
    throw e;
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
