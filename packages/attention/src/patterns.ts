import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, DLArgumentError } from '@dl/core';
import { blockSparseAttention, buildLayout, LayoutCache, layoutToMask, type SparseLayout } from './block-sparse.js';
import { checkQKV, emptyAttention } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { checkOptionKeys, GLOBAL_PATTERN_KEYS, LOCAL_PATTERN_KEYS, SPARSE_KEYS, STRIDED_PATTERN_KEYS } from './option-keys.js';

/** A sliding window: keys from `lookBack` before to `lookForward` after the query's position. */
export interface LocalPattern {
  /** Keys before the query (≥ 0). */
  lookBack: number;
  /** Keys after the query (≥ 0; ignored when causal). */
  lookForward: number;
}

/** Dilated steps: keys at the query's position ± stride·t, t = 1…lookBack / 1…lookForward (and itself). */
export interface StridedPattern {
  /** Distance between attended keys (≥ 1). */
  stride: number;
  /** Strided steps to the left (≥ 0). */
  lookBack: number;
  /** Strided steps to the right (≥ 0; ignored when causal). */
  lookForward: number;
}

/** Global tokens: they attend to every position and every position attends to them. */
export interface GlobalPattern {
  /** Chosen positions (distinct, in [0, L)). */
  positions?: number[];
  /** Or: the first `count` positions, i.e. special tokens added in front (see {@link prependTokens}). */
  count?: number;
}

/**
 * A combinable sparse pattern (as Longformer, Beltagy et al. 2020, and BigBird, Zaheer et al. 2020, combine them): any union of a local
 * window, strided steps and global tokens. A query attends the union of what each part allows (each key
 * once). Without local or strided parts, non-global queries attend the global tokens and themselves.
 */
export interface SparsePatternOptions {
  /** Sliding window part. */
  local?: LocalPattern;
  /** Strided (dilated) part. */
  strided?: StridedPattern;
  /** Global tokens part. */
  global?: GlobalPattern;
  /** Causal: only keys j ≤ i (aligned to the end when Lk > Lq). */
  causal?: boolean;
  /** Score scale. Default 1/√dk. */
  scale?: number;
  /** Queries per block (tuning; default from the widths). */
  blockSize?: number;
}

function checkPattern(where: string, p: SparsePatternOptions): void {
  if (p == null || typeof p !== 'object') throw new DLArgumentError(where, 'options', 'an object', p);
  checkOptionKeys(where, p, SPARSE_KEYS);
  checkOptionKeys(where, p.local, LOCAL_PATTERN_KEYS, 'options.local');
  checkOptionKeys(where, p.strided, STRIDED_PATTERN_KEYS, 'options.strided');
  checkOptionKeys(where, p.global, GLOBAL_PATTERN_KEYS, 'options.global');
  if (!p.local && !p.strided && !p.global) throw new DLArgumentError(where, 'options', 'at least one of local, strided, global', Object.keys(p));
  if (p.local) {
    checkInt(where, 'local.lookBack', p.local.lookBack, 0);
    checkInt(where, 'local.lookForward', p.local.lookForward, 0);
  }
  if (p.strided) {
    checkInt(where, 'strided.stride', p.strided.stride);
    checkInt(where, 'strided.lookBack', p.strided.lookBack, 0);
    checkInt(where, 'strided.lookForward', p.strided.lookForward, 0);
  }
  if (p.global) {
    if (p.global.positions == null && p.global.count == null) throw new DLArgumentError(where, 'global', 'given positions or count', p.global);
    if (p.global.count != null) checkInt(where, 'global.count', p.global.count, 0);
    if (p.global.positions != null) {
      if (!Array.isArray(p.global.positions)) throw new DLArgumentError(where, 'global.positions', 'an array of integers', p.global.positions);
      p.global.positions.forEach((x, i) => checkInt(where, `global.positions[${i}]`, x, 0));
      if (new Set(p.global.positions).size !== p.global.positions.length) throw new DLArgumentError(where, 'global.positions', 'distinct', p.global.positions);
    }
  }
  if (p.blockSize !== undefined) checkInt(where, 'blockSize', p.blockSize);
  if (p.scale !== undefined) checkNumber(where, 'scale', p.scale);
}

function globalPositions(where: string, p: SparsePatternOptions, lq: number, lk: number): number[] {
  if (!p.global) return [];
  if (lq !== lk) throw new DLArgumentError(where, 'k', `of the same length as q (${lq}) for global tokens`, lk);
  const pos = p.global.positions ?? [...Array(p.global.count).keys()];
  if (pos.length > lq) throw new DLArgumentError(where, 'global', `at most ${lq} global tokens (the sequence length)`, pos.length);
  const bad = pos.find((x) => x >= lq);
  if (bad !== undefined) throw new DLArgumentError(where, 'global.positions', `positions < ${lq} (the sequence length)`, bad);
  return pos;
}

const cache = new LayoutCache(16);

/**
 * Builds (or fetches from the cache) the {@link SparseLayout} of a pattern for given lengths.
 *
 * @example
 * ```ts
 * import { patternLayout } from '@dl/attention';
 * const layout = patternLayout({ local: { lookBack: 2, lookForward: 0 }, global: { positions: [0] } }, 32, 32);
 * ```
 */
export function patternLayout(p: SparsePatternOptions, lq: number, lk: number, where = 'patternLayout'): SparseLayout {
  checkPattern(where, p);
  const gPos = globalPositions(where, p, lq, lk);
  const causal = p.causal ?? false;
  const key = JSON.stringify([p.local, p.strided, gPos, causal, p.blockSize, lq, lk]);
  return cache.get(key, () => {
    const off = lk - lq;
    const G = new Set(gPos);
    const { local, strided } = p;
    const candidates = (i: number): number[] => {
      const a = i + off;
      const out: number[] = [...gPos];
      if (local) for (let j = a - local.lookBack; j <= a + (causal ? 0 : local.lookForward); j++) out.push(j);
      if (strided) {
        out.push(a);
        for (let t = 1; t <= strided.lookBack; t++) out.push(a - t * strided.stride);
        if (!causal) for (let t = 1; t <= strided.lookForward; t++) out.push(a + t * strided.stride);
      }
      if (!local && !strided) out.push(a);
      return out;
    };
    let order: number[] | undefined;
    if (strided && !local) {
      const s = strided.stride;
      order = [...Array(lq).keys()].sort((x, y) => ((x + off) % s) - ((y + off) % s) || x - y);
    }
    const lw = local ? local.lookBack + local.lookForward + 1 : 0;
    const sw = strided ? strided.lookBack + strided.lookForward + 1 : 0;
    const blockSize = p.blockSize ?? (local && strided ? 8 : Math.min(256, Math.max(8, lw || sw || 32)));
    return buildLayout({ lq, lk, candidates, isDense: (i) => G.has(i), order, blockSize, causal });
  });
}

/**
 * Attention over a combinable sparse pattern ({@link SparsePatternOptions}), computed blockwise:
 * queries are cut into blocks and each block gathers only the keys its queries may see, so memory is
 * O(N·w) for window/width w, plus O(g·N) for g global tokens, never N×N (unless weights are requested).
 *
 * Cost in N: time and memory O(N·(w + g)).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { sparseAttention } from '@dl/attention';
 * // Longformer-like: a window of ±2, dilated steps of 4, and the first token global.
 * const attend = sparseAttention({ local: { lookBack: 2, lookForward: 2 }, strided: { stride: 4, lookBack: 2, lookForward: 2 }, global: { count: 1 } });
 * const x = tf.randomNormal([1, 2, 32, 8]);
 * const { output } = attend(x, x, x); // [1, 2, 32, 8]
 * ```
 */
export function sparseAttention(pattern: SparsePatternOptions, where = 'sparseAttention'): AttentionFn {
  checkPattern(where, pattern);
  return (q, k, v, options: AttentionOptions = {}): AttentionResult => {
    const dims = checkQKV(where, q, k, v, options);
    const causal = (pattern.causal ?? false) || (options.causal ?? false);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    const layout = patternLayout({ ...pattern, causal }, dims.lq, dims.lk, where);
    const scale = pattern.scale ?? 1 / Math.sqrt(dims.dk);
    return blockSparseAttention(where, q, k, v, dims, layout, scale, options);
  };
}

/**
 * The dense boolean `[lq, lk]` mask of a pattern (true = attended): for heatmaps and for checking that the
 * sparse computation equals full attention with this mask. O(lq·lk).
 *
 * @example
 * ```ts
 * import { patternMask } from '@dl/attention';
 * patternMask({ local: { lookBack: 1, lookForward: 1 } }, 5).print(); // a band of width 3
 * ```
 */
export function patternMask(pattern: SparsePatternOptions, lq: number, lk = lq): tf.Tensor {
  checkInt('patternMask', 'lq', lq);
  checkInt('patternMask', 'lk', lk);
  return layoutToMask(patternLayout(pattern, lq, lk, 'patternMask'));
}

/**
 * Different heads, different patterns (as the Sparse Transformer, Child et al. 2019, gives heads different patterns): head h uses `fns[h]`.
 * Consecutive heads with the same function run in one call. The number of heads must equal `fns.length`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { perHead, localAttention, stridedAttention, scaledDotProductAttention } from '@dl/attention';
 * const attend = perHead([localAttention({ window: 2 }), stridedAttention({ stride: 3, lookBack: 2, lookForward: 2 }), scaledDotProductAttention]);
 * const x = tf.randomNormal([1, 3, 12, 4]);
 * attend(x, x, x).output.shape; // [1, 3, 12, 4]
 * ```
 */
export function perHead(fns: AttentionFn[]): AttentionFn {
  if (!Array.isArray(fns) || fns.length === 0 || fns.some((f) => typeof f !== 'function')) {
    throw new DLArgumentError('perHead', 'fns', 'a non-empty array of attention functions', fns);
  }
  return (q, k, v, options: AttentionOptions = {}) => {
    const dims = checkQKV('perHead', q, k, v, options);
    if (dims.heads !== fns.length) throw new DLArgumentError('perHead', 'q', `with ${fns.length} heads (one per function)`, q);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    return tf.tidy(() => {
      const outs: tf.Tensor[] = [];
      const ws: tf.Tensor[] = [];
      let h = 0;
      while (h < fns.length) {
        let e = h + 1;
        while (e < fns.length && fns[e] === fns[h]) e++;
        const sl = (t: tf.Tensor) => tf.slice(t, [0, h, 0, 0], [-1, e - h, -1, -1]);
        const mask = options.mask && options.mask.rank === 4 && sh(options.mask)[1] > 1 ? sl(options.mask) : options.mask;
        const r = fns[h](sl(q), sl(k), sl(v), { ...options, mask });
        outs.push(r.output);
        if (options.returnWeights) {
          if (!r.weights) throw new DLArgumentError('perHead', `fns[${h}]`, 'a function that returns weights on request', 'none');
          ws.push(r.weights);
        }
        h = e;
      }
      const output = outs.length === 1 ? outs[0] : tf.concat(outs, 1); // [B, H, Lq, dv]
      if (!options.returnWeights) return { output };
      return { output, weights: ws.length === 1 ? ws[0] : tf.concat(ws, 1) }; // [B, H, Lq, Lk]
    });
  };
}

/**
 * Adds special tokens in front of a sequence (the global tokens of Longformer and BigBird):
 * `tokens` `[g, d]` (e.g. learned parameters) before `x` `[batch, L, d]` → `[batch, g + L, d]`.
 * Use with `global: { count: g }`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { prependTokens } from '@dl/attention';
 * prependTokens(tf.ones([2, 5, 4]), tf.zeros([2, 4])).shape; // [2, 7, 4]
 * ```
 */
export function prependTokens(x: tf.Tensor, tokens: tf.Tensor): tf.Tensor {
  if (x?.rank !== 3) throw new DLArgumentError('prependTokens', 'x', 'of rank 3 [batch, L, d]', x);
  if (tokens?.rank !== 2 || sh(tokens)[1] !== sh(x)[2]) throw new DLArgumentError('prependTokens', 'tokens', `of shape [g, ${sh(x)[2]}]`, tokens);
  return tf.tidy(() => {
    const t = tf.tile(tf.expandDims(tokens, 0), [sh(x)[0], 1, 1]); // [batch, g, d]
    return tf.concat([t, x], 1); // [batch, g + L, d]
  });
}
