import {
  favorFeatureMap,
  globalAttention,
  KMeansRouting,
  Linformer,
  linearAttention,
  localAttention,
  lshAttention,
  perHead,
  scaledDotProductAttention,
  stridedAttention,
  type AttentionFn,
} from '@dl/attention';
import { checkInt, checkKeys, DLArgumentError, type Module, type Rng } from '@dl/core';

/**
 * Which attention a layer (or one head) runs, as plain data so a config stays JSON: every variant of
 * `@dl/attention` by name.
 *
 * - `'full'`: softmax(q·kᵀ/√d)·v over every key (supports dropout and additive position biases).
 * - `{ kind: 'local', lookBack, lookForward? }`: a sliding window (Longformer's local part).
 * - `{ kind: 'strided', stride, lookBack, lookForward }`: every stride-th key (Sparse Transformer).
 * - `{ kind: 'global', count, local? }`: `count` leading tokens attend and are attended by all, plus an
 *   optional window (Longformer, BigBird).
 * - `{ kind: 'lsh', nBuckets, chunkSize?, seed? }`: Reformer's hashed clusters.
 * - `{ kind: 'kmeans', nClusters, chunkSize?, decay? }`: the Routing Transformer's learned clusters.
 * - `{ kind: 'linear', featureMap?: 'elu' | 'relu' | 'favor', nFeatures? }`: φ(q)·(φ(k)ᵀv), linear in
 *   length (Katharopoulos et al. 2020; Performer's FAVOR+ with `'favor'`).
 * - `{ kind: 'linformer', kProj, maxLength }`: keys and values projected to kProj positions (Wang et al.
 *   2020; not causal).
 *
 * Causal masking and key padding come from the model; each variant applies them its own way.
 *
 * @example
 * ```ts
 * import type { AttentionSpec } from '@dl/transformer';
 * const lower: AttentionSpec = { kind: 'local', lookBack: 8 };
 * const top: AttentionSpec = 'full';
 * const mixedHeads: AttentionSpec[] = ['full', 'full', { kind: 'strided', stride: 4, lookBack: 2, lookForward: 2 }, lower];
 * ```
 */
export type AttentionSpec = 'full' | FullSpec | LocalSpec | StridedSpec | GlobalSpec | LshSpec | KMeansSpec | LinearSpec | LinformerSpec;

/** Full attention, as an object. */
export interface FullSpec {
  /** `'full'`. */
  kind: 'full';
}

/** A sliding window: each query sees `lookBack` keys before it and `lookForward` after it. */
export interface LocalSpec {
  /** `'local'`. */
  kind: 'local';
  /** Keys before the query (≥ 0). */
  lookBack: number;
  /** Keys after the query (≥ 0; ignored when causal). Default lookBack. */
  lookForward?: number;
}

/** Every stride-th key within lookBack / lookForward strides (Child et al. 2019). */
export interface StridedSpec {
  /** `'strided'`. */
  kind: 'strided';
  /** Distance between attended keys. */
  stride: number;
  /** Strided steps back. */
  lookBack: number;
  /** Strided steps forward (ignored when causal). Default lookBack. */
  lookForward?: number;
}

/** `count` leading global tokens plus an optional window (Beltagy et al. 2020). */
export interface GlobalSpec {
  /** `'global'`. */
  kind: 'global';
  /** Number of leading global tokens. */
  count: number;
  /** A local window for the other tokens. */
  local?: WindowSpec;
}

/** A window around each query. */
export interface WindowSpec {
  /** Keys before the query. */
  lookBack: number;
  /** Keys after the query. */
  lookForward: number;
}

/** Reformer's LSH clusters (Kitaev et al. 2020). */
export interface LshSpec {
  /** `'lsh'`. */
  kind: 'lsh';
  /** Hash buckets. */
  nBuckets: number;
  /** Sorted-chunk size. */
  chunkSize?: number;
  /** Seed of the random rotations. */
  seed?: number;
}

/** The Routing Transformer's k-means clusters (Roy et al. 2021). */
export interface KMeansSpec {
  /** `'kmeans'`. */
  kind: 'kmeans';
  /** Centroids per head. */
  nClusters: number;
  /** Sorted-chunk size. */
  chunkSize?: number;
  /** EMA decay of the centroids. */
  decay?: number;
}

/** Linear attention with a feature map (Katharopoulos et al. 2020; FAVOR+, Choromanski et al. 2021). */
export interface LinearSpec {
  /** `'linear'`. */
  kind: 'linear';
  /** φ: `'elu'` (elu + 1, default), `'relu'`, or `'favor'` (random features). */
  featureMap?: 'elu' | 'relu' | 'favor';
  /** FAVOR+'s number of random features. Default 4·headDim. */
  nFeatures?: number;
  /** FAVOR+'s seed. */
  seed?: number;
}

/** Linformer's learned length projections (Wang et al. 2020). */
export interface LinformerSpec {
  /** `'linformer'`. */
  kind: 'linformer';
  /** Projected length k. */
  kProj: number;
  /** The longest key sequence. */
  maxLength: number;
}

/**
 * How a layer can decode incrementally with its attention: `'kv'` (every past key and value: full
 * attention), `'window'` (the last `window` positions: causal local attention), `'linear'` (causal
 * linear attention's running sums, with its `featureMap`), or `'none'` (decoding recomputes the prefix).
 */
export interface CacheKind {
  /** The kind of cache. */
  kind: 'kv' | 'window' | 'linear' | 'none';
  /** Positions kept (`'window'`). */
  window?: number;
  /** The feature map (`'linear'`). */
  featureMap?: 'elu' | 'relu';
}

/** A resolved spec: the function, the modules it owns (learned parameters), and how it caches. */
export interface ResolvedAttention {
  /** Runs the heads it was built for. */
  attend: AttentionFn;
  /** Modules holding its parameters or buffers (k-means centroids, Linformer projections). */
  modules: Module[];
  /** How it decodes incrementally (the most restrictive head decides). */
  cache: CacheKind;
  /** True when every head is full attention (additive position biases and attention dropout work). */
  full: boolean;
}

const KINDS = ['full', 'local', 'strided', 'global', 'lsh', 'kmeans', 'linear', 'linformer'];

function resolveOne(where: string, spec: AttentionSpec, heads: number, headDim: number, rng: Rng | undefined): ResolvedAttention {
  if (spec === 'full') return { attend: scaledDotProductAttention, modules: [], cache: { kind: 'kv' }, full: true };
  if (spec == null || typeof spec !== 'object' || !KINDS.includes((spec as { kind: string }).kind)) {
    throw new DLArgumentError(where, 'attention', `'full' or { kind: ${KINDS.map((k) => `'${k}'`).join(' | ')}, … }`, spec);
  }
  const w = `${where} (${spec.kind} attention)`;
  switch (spec.kind) {
    case 'full':
      checkKeys(w, spec, ['kind']);
      return { attend: scaledDotProductAttention, modules: [], cache: { kind: 'kv' }, full: true };
    case 'local': {
      checkKeys(w, spec, ['kind', 'lookBack', 'lookForward']);
      const lookBack = checkInt(w, 'lookBack', spec.lookBack, 0);
      const lookForward = checkInt(w, 'lookForward', spec.lookForward ?? lookBack, 0);
      return { attend: localAttention({ lookBack, lookForward }), modules: [], cache: { kind: 'window', window: lookBack + 1 }, full: false };
    }
    case 'strided': {
      checkKeys(w, spec, ['kind', 'stride', 'lookBack', 'lookForward']);
      const lookBack = checkInt(w, 'lookBack', spec.lookBack, 0);
      return { attend: stridedAttention({ stride: spec.stride, lookBack, lookForward: checkInt(w, 'lookForward', spec.lookForward ?? lookBack, 0) }), modules: [], cache: { kind: 'none' }, full: false };
    }
    case 'global':
      checkKeys(w, spec, ['kind', 'count', 'local']);
      return { attend: globalAttention({ count: checkInt(w, 'count', spec.count), local: spec.local }), modules: [], cache: { kind: 'none' }, full: false };
    case 'lsh':
      checkKeys(w, spec, ['kind', 'nBuckets', 'chunkSize', 'seed']);
      return { attend: lshAttention({ nBuckets: spec.nBuckets, chunkSize: spec.chunkSize, seed: spec.seed }), modules: [], cache: { kind: 'none' }, full: false };
    case 'kmeans': {
      checkKeys(w, spec, ['kind', 'nClusters', 'chunkSize', 'decay']);
      const routing = new KMeansRouting(heads, headDim, spec.nClusters, { chunkSize: spec.chunkSize, decay: spec.decay, rng });
      return { attend: (q, k, v, o) => routing.forward(q, k, v, o), modules: [routing], cache: { kind: 'none' }, full: false };
    }
    case 'linear': {
      checkKeys(w, spec, ['kind', 'featureMap', 'nFeatures', 'seed']);
      const fmName = spec.featureMap ?? 'elu';
      if (!['elu', 'relu', 'favor'].includes(fmName)) throw new DLArgumentError(w, 'featureMap', "'elu', 'relu' or 'favor'", fmName);
      if (fmName === 'favor') {
        const fm = favorFeatureMap(headDim, checkInt(w, 'nFeatures', spec.nFeatures ?? 4 * headDim), { seed: spec.seed ?? 0 });
        return { attend: linearAttention({ featureMap: fm }), modules: [], cache: { kind: 'none' }, full: false };
      }
      const featureMap = fmName as 'elu' | 'relu';
      return { attend: linearAttention({ featureMap }), modules: [], cache: { kind: 'linear', featureMap }, full: false };
    }
    case 'linformer': {
      checkKeys(w, spec, ['kind', 'kProj', 'maxLength']);
      const lin = new Linformer(checkInt(w, 'maxLength', spec.maxLength), checkInt(w, 'kProj', spec.kProj), { rng });
      return { attend: (q, k, v, o) => lin.forward(q, k, v, o), modules: [lin], cache: { kind: 'none' }, full: false };
    }
  }
}

/**
 * Builds the attention function of one layer from a spec (every head) or one spec per head.
 *
 * @param where the caller, for error messages.
 * @param spec one spec, or `nHeads` of them.
 * @param nHeads heads of the layer.
 * @param headDim size of each head.
 *
 * @example
 * ```ts
 * import { resolveAttention } from '@dl/transformer';
 * const { attend, cache } = resolveAttention('demo', { kind: 'local', lookBack: 4 }, 2, 8);
 * cache; // { kind: 'window', window: 5 }
 * ```
 */
export function resolveAttention(where: string, spec: AttentionSpec | AttentionSpec[], nHeads: number, headDim: number, rng?: Rng): ResolvedAttention {
  if (!Array.isArray(spec)) return resolveOne(where, spec, nHeads, headDim, rng);
  if (spec.length !== nHeads) throw new DLArgumentError(where, 'attention', `one spec per head (${nHeads})`, `${spec.length} specs`);
  const same = spec.every((s) => JSON.stringify(s) === JSON.stringify(spec[0]));
  if (same) return resolveOne(where, spec[0], nHeads, headDim, rng);
  // Consecutive equal specs share one function, so perHead runs them together.
  const parts: ResolvedAttention[] = [];
  const fns: AttentionFn[] = [];
  let h = 0;
  while (h < nHeads) {
    let e = h + 1;
    while (e < nHeads && JSON.stringify(spec[e]) === JSON.stringify(spec[h])) e++;
    const r = resolveOne(where, spec[h], e - h, headDim, rng);
    parts.push(r);
    for (let i = h; i < e; i++) fns.push(r.attend);
    h = e;
  }
  const kinds = parts.map((p) => p.cache);
  // Mixed heads decode with a cache only if every head can use a full KV cache (windows keep the most).
  let cache: CacheKind = { kind: 'kv' };
  if (kinds.some((c) => c.kind === 'none' || c.kind === 'linear')) cache = { kind: 'none' };
  return { attend: perHead(fns), modules: parts.flatMap((p) => p.modules), cache, full: parts.every((p) => p.full) };
}
