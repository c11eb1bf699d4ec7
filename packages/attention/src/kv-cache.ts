import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, checkShape, DLArgumentError, indexSelect, matMul } from '@dl/core';
import { resolveFeatureMap, type LinearAttentionOptions } from './linear.js';
import { scaledDotProductAttention } from './full.js';
import type { FeatureMap } from './feature-maps.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { ATTENTION_KEYS, checkOptionKeys, KV_CACHE_KEYS, LINEAR_STATE_KEYS } from './option-keys.js';

/** Options of {@link KVCache}. */
export interface KVCacheOptions {
  /**
   * Keep only the last `window` keys/values after each step (local attention with `lookBack = window − 1`
   * needs `window = lookBack + 1`). Default: keep everything (full attention).
   */
  window?: number;
}

/**
 * A cache append in two phases: the keys and values to attend over now (new tensors, disposed by the
 * caller or its tidy), and `commit()`, which stores them. A caller that fails between the two leaves the
 * cache as it was. Package-internal (see {@link stageAppend}).
 */
export interface StagedAppend {
  /** Keys to attend over `[B, H, held + t, dk]`. */
  k: tf.Tensor;
  /** Values to attend over `[B, H, held + t, dv]`. */
  v: tf.Tensor;
  /** Stores the appended keys and values (trimmed to the window). */
  commit(): void;
}

let stage: (cache: KVCache, kNew: tf.Tensor, vNew: tf.Tensor, where: string) => StagedAppend;

/**
 * Keys and values of the steps decoded so far, for incremental (autoregressive) decoding: each step
 * appends its keys/values `[B, H, t, d]` and attends over the cache, instead of recomputing all
 * positions. With `window`, only the last `window` positions are kept (local attention: memory O(w)).
 * The cache owns its two tensors; call {@link KVCache.dispose} when done.
 *
 * As decoding state, it follows the rows it decodes: {@link KVCache.reorder} returns a new cache whose
 * row i is row `indices[i]` of this one (what beam search calls when it re-ranks beams; `gatherState` and
 * the decoders of `@dl/decode` call it on caches anywhere in their state).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { KVCache, cachedAttention } from '@dl/attention';
 * const cache = new KVCache();
 * for (let t = 0; t < 3; t++) {
 *   const x = tf.randomNormal([1, 2, 1, 8]); // one new position
 *   const { output } = cachedAttention(x, x, x, cache); // attends positions 0…t
 * }
 * cache.dispose();
 * ```
 */
export class KVCache {
  /** Window (undefined = unbounded). */
  readonly window: number | undefined;
  private k: tf.Tensor | null = null;
  private v: tf.Tensor | null = null;
  private seen = 0;

  static {
    stage = (cache, kNew, vNew, where) => cache.stage(kNew, vNew, where);
  }

  /** @param options see {@link KVCacheOptions}. */
  constructor(options: KVCacheOptions = {}) {
    checkOptionKeys('KVCache', options, KV_CACHE_KEYS);
    this.window = options.window === undefined ? undefined : checkInt('KVCache', 'window', options.window);
  }

  /** Positions appended so far (including those a window dropped). */
  get length(): number {
    return this.seen;
  }

  /** Positions currently held. */
  get held(): number {
    return this.k ? sh(this.k)[2] : 0;
  }

  /**
   * Appends one step of keys `[B, H, t, dk]` and values `[B, H, t, dv]`; returns the keys and values to
   * attend over (everything held before plus the new ones; new tensors the caller disposes), then trims
   * the stored copy to the window. Invalid shapes throw before anything changes.
   */
  append(kNew: tf.Tensor, vNew: tf.Tensor): {
    /** Keys to attend over `[B, H, held + t, dk]`. */
    k: tf.Tensor;
    /** Values to attend over `[B, H, held + t, dv]`. */
    v: tf.Tensor;
  } {
    const staged = this.stage(kNew, vNew, 'KVCache.append');
    staged.commit();
    return { k: staged.k, v: staged.v };
  }

  /**
   * A new cache whose row i is row `indices[i]` of this one (rows may repeat or be left out): its keys
   * and values are gathered on axis 0 into new tensors it owns; `window` and `length` are kept. This cache
   * is left as it was (dispose each when done).
   *
   * @param indices row indices in [0, batch), at least one.
   *
   * @example
   * ```ts
   * import * as tf from '@tensorflow/tfjs-core';
   * import { KVCache } from '@dl/attention';
   * const cache = new KVCache();
   * const kv = tf.randomNormal([2, 1, 3, 4]); // 2 rows, 3 positions
   * tf.dispose(Object.values(cache.append(kv, kv)));
   * const beams = cache.reorder([1, 1, 0]); // 3 rows: row 1 twice, then row 0
   * beams.held; // 3
   * beams.dispose();
   * cache.dispose();
   * ```
   */
  reorder(indices: readonly number[]): KVCache {
    const rows = this.k ? sh(this.k)[0] : undefined;
    checkRowIndices('KVCache.reorder', indices, rows);
    const out = new KVCache({ window: this.window });
    out.seen = this.seen;
    if (this.k && this.v) [out.k, out.v] = gatherRows(indices, [this.k, this.v]);
    return out;
  }

  /** Frees the held tensors and empties the cache. */
  dispose(): void {
    this.k?.dispose();
    this.v?.dispose();
    this.k = this.v = null;
    this.seen = 0;
  }

  /** Validates an append and returns it staged (nothing changes until `commit`). */
  private stage(kNew: tf.Tensor, vNew: tf.Tensor, where: string): StagedAppend {
    checkShape(where, 'kNew', kNew, { rank: 4 });
    checkShape(where, 'vNew', vNew, { rank: 4, dims: { 0: sh(kNew)[0], 1: sh(kNew)[1], 2: sh(kNew)[2] } });
    if (this.k && this.v) {
      checkShape(where, 'kNew', kNew, { dims: { 0: sh(this.k)[0], 1: sh(this.k)[1], 3: sh(this.k)[3] } });
      checkShape(where, 'vNew', vNew, { dims: { 3: sh(this.v)[3] } });
    }
    // An empty batch is kept as zeros of the right shape (concat and slice of empty tensors trap on wasm).
    const empty = kNew.size === 0 || vNew.size === 0;
    const grow = (held: tf.Tensor | null, x: tf.Tensor) => {
      if (empty) return tf.zeros([sh(x)[0], sh(x)[1], (held ? sh(held)[2] : 0) + sh(x)[2], sh(x)[3]]);
      return held ? tf.concat([held, x], 2) : tf.clone(x);
    };
    const k = grow(this.k, kNew); // [B, H, held + t, dk]
    const v = grow(this.v, vNew); // [B, H, held + t, dv]
    const t = sh(kNew)[2];
    const commit = () => {
      const n = sh(k)[2];
      const keep = this.window === undefined ? n : Math.min(n, this.window);
      const trim = (x: tf.Tensor) => {
        if (empty) return tf.keep(tf.zeros([sh(x)[0], sh(x)[1], keep, sh(x)[3]])); // [B, H, keep, ·]
        return tf.keep(keep === n ? tf.clone(x) : tf.slice(x, [0, 0, n - keep, 0], [-1, -1, keep, -1])); // [B, H, keep, ·]
      };
      const [nk, nv] = [trim(k), trim(v)];
      this.k?.dispose();
      this.v?.dispose();
      this.k = nk;
      this.v = nv;
      this.seen += t;
    };
    return { k, v, commit };
  }
}

/**
 * Stages an append to `cache` (package-internal): validates `kNew`/`vNew` against the cache, returns the
 * keys and values to attend over and a `commit()` that stores them, so a caller that fails in between
 * leaves the cache unchanged.
 */
export function stageAppend(cache: KVCache, kNew: tf.Tensor, vNew: tf.Tensor, where: string): StagedAppend {
  return stage(cache, kNew, vNew, where);
}

/** Throws unless `indices` is a non-empty list of integers in [0, rows) (any ≥ 0 when rows is unknown). */
function checkRowIndices(where: string, indices: readonly number[], rows: number | undefined): void {
  if (!Array.isArray(indices) || indices.length === 0) throw new DLArgumentError(where, 'indices', 'a non-empty list of row indices', indices);
  if (indices.some((i) => !Number.isInteger(i) || i < 0 || (rows !== undefined && i >= rows))) {
    throw new DLArgumentError(where, 'indices', rows === undefined ? 'row indices ≥ 0' : `row indices in [0, ${rows})`, indices);
  }
}

/** Each tensor's rows `indices` (gathered on axis 0), as new kept tensors. */
function gatherRows(indices: readonly number[], tensors: tf.Tensor[]): tf.Tensor[] {
  return tensors.map((t) => indexSelect(t, indices, 0)); // [n, ...] (block copies on wasm)
}

/**
 * One decoding step: appends `kNew`/`vNew` to `cache` and runs `attend` (default full attention) for
 * the new queries `q` `[B, H, t, dk]` over everything held, causally (aligned to the end). For local
 * attention pass `localAttention({ lookBack: w, causal: true })` and a `KVCache({ window: w + 1 })`.
 * Everything is checked first and the cache changes only when `attend` succeeded, so a call that
 * throws leaves the cache as it was.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { KVCache, cachedAttention, localAttention } from '@dl/attention';
 * const cache = new KVCache({ window: 3 });
 * const attend = localAttention({ lookBack: 2, causal: true });
 * const x = tf.randomNormal([1, 1, 1, 4]);
 * cachedAttention(x, x, x, cache, attend).output.shape; // [1, 1, 1, 4]
 * ```
 */
export function cachedAttention(q: tf.Tensor, kNew: tf.Tensor, vNew: tf.Tensor, cache: KVCache, attend: AttentionFn = scaledDotProductAttention, options: AttentionOptions = {}): AttentionResult {
  const where = 'cachedAttention';
  if (!(cache instanceof KVCache)) throw new DLArgumentError(where, 'cache', 'a KVCache', cache);
  if (typeof attend !== 'function') throw new DLArgumentError(where, 'attend', 'an AttentionFn', attend);
  checkOptionKeys(where, options, ATTENTION_KEYS);
  if (options.keyPaddingMask || options.mask) throw new DLArgumentError(where, 'options', 'without mask/keyPaddingMask (the cache grows each step)', Object.keys(options));
  checkShape(where, 'q', q, { rank: 4, dtype: 'float32' });
  checkShape(where, 'kNew', kNew, { rank: 4, dtype: 'float32' });
  const [B, H, , dk] = sh(kNew);
  if (sh(q)[0] !== B || sh(q)[1] !== H || sh(q)[3] !== dk) throw new DLArgumentError(where, 'q', `of shape [${B}, ${H}, t, ${dk}] (batch, heads and head dim as kNew)`, q);
  return tf.tidy(() => {
    const staged = stageAppend(cache, kNew, vNew, where); // [B, H, held + t, ·]
    const result = attend(q, staged.k, staged.v, { ...options, causal: true });
    staged.commit();
    return result;
  });
}

/**
 * The recurrent state of causal linear attention ($\phi(k)v^\top$ summed once and reused, Katharopoulos et al. 2020):
 * $S = \sum_j \phi(k_j)\, v_j^\top$ `[B, H, m, dv]` and $z = \sum_j \phi(k_j)$ `[B, H, 1, m]`, so that the output of query $i$ is
 * $b_i = \phi(q_i)^\top S / \phi(q_i)^\top z$. Each step costs O(m·dv) per position, whatever
 * the length so far: linear attention as an RNN. Owns its tensors; call {@link LinearAttentionState.dispose}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LinearAttentionState } from '@dl/attention';
 * const state = new LinearAttentionState({ featureMap: 'elu' });
 * const x = tf.randomNormal([1, 2, 1, 8]);
 * state.step(x, x, x).shape; // [1, 2, 1, 8]
 * state.dispose();
 * ```
 */
export class LinearAttentionState {
  private readonly fm: FeatureMap;
  private readonly eps: number;
  private S: tf.Tensor | null = null;
  private z: tf.Tensor | null = null;

  /** @param config the feature map and ε of the {@link linearAttention} it continues. */
  constructor(config: Pick<LinearAttentionOptions, 'featureMap' | 'eps'> = {}) {
    checkOptionKeys('LinearAttentionState', config, LINEAR_STATE_KEYS);
    this.fm = resolveFeatureMap('LinearAttentionState', config.featureMap);
    this.eps = checkNumber('LinearAttentionState', 'eps', config.eps ?? 1e-6, 0);
  }

  /**
   * Appends `t` positions (causal among themselves) and returns their outputs `[B, H, t, dv]`.
   *
   * @param q `[B, H, t, dk]`, `k` `[B, H, t, dk]`, `v` `[B, H, t, dv]`.
   */
  step(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor {
    const where = 'LinearAttentionState.step';
    checkShape(where, 'q', q, { rank: 4 });
    checkShape(where, 'k', k, { rank: 4, dims: { 0: sh(q)[0], 1: sh(q)[1], 2: sh(q)[2], 3: sh(q)[3] } });
    checkShape(where, 'v', v, { rank: 4, dims: { 0: sh(q)[0], 1: sh(q)[1], 2: sh(q)[2] } });
    const t = sh(q)[2];
    if (q.size === 0 || v.size === 0) {
      // An empty batch: empty outputs and sums of the right shapes (several wasm kernels trap on empty inputs).
      const [B, H, , dk] = sh(q);
      const dv = sh(v)[3];
      const m = this.fm.featureDim(dk);
      const [S, z] = [tf.zeros([B, H, m, dv]), tf.zeros([B, H, 1, m])]; // [B, H, m, dv], [B, H, 1, m]
      this.S?.dispose();
      this.z?.dispose();
      this.S = S;
      this.z = z;
      return tf.zeros([B, H, t, dv]); // [B, H, t, dv]
    }
    const out = tf.tidy(() => {
      const fq = this.fm.apply(q, true); // [B, H, t, m]
      const fk = this.fm.apply(k, false); // [B, H, t, m]
      const A = tf.mul(matMul(fq, fk, false, true), tf.linalg.bandPart(tf.ones([t, t]), -1, 0)); // [B, H, t, t]
      let num = matMul(A, v); // [B, H, t, dv]
      let den = tf.sum(A, -1, true); // [B, H, t, 1]
      if (this.S && this.z) {
        num = tf.add(num, matMul(fq, this.S)); // [B, H, t, dv]
        den = tf.add(den, matMul(fq, this.z, false, true)); // [B, H, t, 1]
      }
      const dS = matMul(fk, v, true, false); // [B, H, m, dv]
      const dz = tf.sum(fk, 2, true); // [B, H, 1, m]
      const S = tf.keep(this.S ? tf.add(this.S, dS) : dS);
      const z = tf.keep(this.z ? tf.add(this.z, dz) : dz);
      this.S?.dispose();
      this.z?.dispose();
      this.S = S;
      this.z = z;
      return tf.div(num, tf.add(den, this.eps)); // [B, H, t, dv]
    });
    return out;
  }

  /**
   * A new state whose row i is row `indices[i]` of this one: its running sums are gathered on axis 0
   * into new tensors it owns, with the same feature map and ε. This state is left as it was.
   *
   * @param indices row indices in [0, batch), at least one.
   *
   * @example
   * ```ts
   * import * as tf from '@tensorflow/tfjs-core';
   * import { LinearAttentionState } from '@dl/attention';
   * const state = new LinearAttentionState();
   * const x = tf.randomNormal([2, 1, 3, 4]);
   * state.step(x, x, x).dispose();
   * const beams = state.reorder([0, 0, 1]); // 3 rows
   * beams.dispose();
   * state.dispose();
   * ```
   */
  reorder(indices: readonly number[]): LinearAttentionState {
    checkRowIndices('LinearAttentionState.reorder', indices, this.S ? sh(this.S)[0] : undefined);
    const out = new LinearAttentionState({ featureMap: this.fm, eps: this.eps });
    if (this.S && this.z) [out.S, out.z] = gatherRows(indices, [this.S, this.z]);
    return out;
  }

  /** Frees the state. */
  dispose(): void {
    this.S?.dispose();
    this.z?.dispose();
    this.S = this.z = null;
  }
}
