import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, matMul } from '@dl/core';
import { emptyAttention, maskedSoftmax, mask4d, type QKVDims } from './masks.js';
import type { AttentionOptions, AttentionResult } from './types.js';
import { sh } from './shape.js';
import { ATTENTION_KEYS, checkOptionKeys, PATTERN_SPEC_KEYS } from './option-keys.js';

/**
 * Which keys each query may attend, as the blocked engine needs it. Built on the host from the pattern's
 * parameters and the lengths only (never from tensor values), and cached.
 */
export interface SparseLayout {
  /** Query length. */
  lq: number;
  /** Key length. */
  lk: number;
  /** Queries per block. */
  blockSize: number;
  /** Number of query blocks. */
  nBlocks: number;
  /** Key slots per block (the union of the block's queries' keys). */
  width: number;
  /** `[nBlocks·blockSize]` query position of each block row, −1 for padding rows. */
  qIdx: Int32Array;
  /** `[nBlocks·width]` key position of each slot, −1 for empty slots. */
  kIdx: Int32Array;
  /** `[nBlocks·blockSize·width]` 1 where the row's query may attend the slot's key (pattern and causality). */
  allowed: Uint8Array;
  /** Queries that attend every key (global tokens), computed as dense rows: O(g·Lk). */
  denseRows: Int32Array;
  /** Whether dense rows are causal too. */
  causal: boolean;
  /** `[lq]` row of each query in `[block rows …, dense rows …]`. */
  outIndex: Int32Array;
}

/** What a pattern tells {@link buildLayout}. */
export interface PatternSpec {
  /** Query length. */
  lq: number;
  /** Key length. */
  lk: number;
  /** Keys query `i` may attend (before causality), any order, duplicates allowed. */
  candidates: (i: number) => number[];
  /** Queries that attend every key (global tokens). */
  isDense?: (i: number) => boolean;
  /** Order in which the sparse queries are cut into blocks (default 0…lq−1). */
  order?: number[];
  /** Queries per block. */
  blockSize: number;
  /** Causal: query i sees keys j ≤ i + (lk − lq). */
  causal: boolean;
}

/**
 * Turns a pattern into a {@link SparseLayout}: sparse queries are cut into blocks of `blockSize`, each
 * block gathers the union of its queries' keys. Host cost O(lq·width).
 *
 * @example
 * ```ts
 * import { buildLayout, layoutToMask } from '@dl/attention';
 * // Each of 8 queries sees itself and its left neighbour, in blocks of 4 queries.
 * const layout = buildLayout({ lq: 8, lk: 8, candidates: (i) => [i - 1, i].filter((j) => j >= 0), blockSize: 4, causal: false });
 * const mask = layoutToMask(layout); // [8, 8] bool, a band of width 2
 * ```
 */
export function buildLayout(spec: PatternSpec): SparseLayout {
  checkOptionKeys('buildLayout', spec, PATTERN_SPEC_KEYS, 'spec');
  const { lq, lk, blockSize: c, causal } = spec;
  const off = lk - lq;
  const dense: number[] = [];
  const sparse: number[] = [];
  for (const i of spec.order ?? [...Array(lq).keys()]) (spec.isDense?.(i) ? dense : sparse).push(i);
  const nBlocks = Math.max(1, Math.ceil(sparse.length / c));
  const sets: number[][][] = []; // per block, per row: allowed keys
  const unions: number[][] = [];
  let width = 1;
  for (let b = 0; b < nBlocks; b++) {
    const rows: number[][] = [];
    const union = new Set<number>();
    for (let r = 0; r < c; r++) {
      const i = sparse[b * c + r];
      if (i === undefined) {
        rows.push([]);
        continue;
      }
      const keys = spec.candidates(i).filter((j) => j >= 0 && j < lk && (!causal || j <= i + off));
      rows.push(keys);
      for (const j of keys) union.add(j);
    }
    const u = [...union].sort((x, y) => x - y);
    width = Math.max(width, u.length);
    sets.push(rows);
    unions.push(u);
  }
  const qIdx = new Int32Array(nBlocks * c).fill(-1);
  const kIdx = new Int32Array(nBlocks * width).fill(-1);
  const allowed = new Uint8Array(nBlocks * c * width);
  for (let b = 0; b < nBlocks; b++) {
    const slot = new Map<number, number>();
    unions[b].forEach((j, s) => {
      kIdx[b * width + s] = j;
      slot.set(j, s);
    });
    for (let r = 0; r < c; r++) {
      const i = sparse[b * c + r];
      if (i === undefined) continue;
      qIdx[b * c + r] = i;
      for (const j of sets[b][r]) allowed[(b * c + r) * width + (slot.get(j) as number)] = 1;
    }
  }
  const outIndex = new Int32Array(lq);
  for (let b = 0; b < nBlocks * c; b++) if (qIdx[b] >= 0) outIndex[qIdx[b]] = b;
  dense.forEach((i, r) => {
    outIndex[i] = nBlocks * c + r;
  });
  return { lq, lk, blockSize: c, nBlocks, width, qIdx, kIdx, allowed, denseRows: Int32Array.from(dense), causal, outIndex };
}

/**
 * The dense boolean `[lq, lk]` mask a layout stands for (true = attended). O(lq·lk): for tests, heatmaps
 * and equivalence checks, not for the efficient path.
 *
 * @example
 * ```ts
 * import { layoutToMask, patternLayout } from '@dl/attention';
 * const mask = layoutToMask(patternLayout({ local: { lookBack: 2, lookForward: 2 } }, 16, 16)); // [16, 16] bool
 * ```
 */
export function layoutToMask(layout: SparseLayout): tf.Tensor {
  const { lq, lk, blockSize: c, width } = layout;
  const data = new Uint8Array(lq * lk);
  for (let row = 0; row < layout.nBlocks * c; row++) {
    const i = layout.qIdx[row];
    if (i < 0) continue;
    const b = Math.floor(row / c);
    for (let s = 0; s < width; s++) if (layout.allowed[row * width + s]) data[i * lk + layout.kIdx[b * width + s]] = 1;
  }
  const off = lk - lq;
  for (const i of layout.denseRows) for (let j = 0; j < lk; j++) data[i * lk + j] = !layout.causal || j <= i + off ? 1 : 0;
  return tf.tensor(data, [lq, lk], 'bool');
}

const clampIdx = (a: Int32Array): Int32Array => a.map((x) => (x < 0 ? 0 : x));

/** Score elements per group of blocks (bounds the working memory of one group). */
const GROUP_ELEMENTS = 1 << 18;

/**
 * Runs attention over a {@link SparseLayout}: per block, gathers the block's queries `[c, d]` and key
 * slots `[width, d]`, scores `[c, width]`, masked softmax, weighted sum; dense rows (global queries)
 * are computed against all keys; a final gather puts every query's row back in place. Memory
 * O(Lq·width + g·Lk): never an Lq×Lk tensor unless `returnWeights` is set.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { blockSparseAttention, checkQKV, patternLayout } from '@dl/attention';
 * const q = tf.randomNormal([1, 2, 16, 8]); // [B, H, L, d]
 * const dims = checkQKV('example', q, q, q);
 * const { output } = blockSparseAttention('example', q, q, q, dims, patternLayout({ local: { lookBack: 2, lookForward: 2 } }, 16, 16), 1 / Math.sqrt(8), {});
 * ```
 */
export function blockSparseAttention(where: string, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, dims: QKVDims, layout: SparseLayout, scale: number, options: AttentionOptions): AttentionResult {
  checkOptionKeys(where, options, ATTENTION_KEYS);
  if (layout.lq !== dims.lq || layout.lk !== dims.lk) throw new DLArgumentError(where, 'layout', `built for Lq=${dims.lq}, Lk=${dims.lk}`, `Lq=${layout.lq}, Lk=${layout.lk}`);
  const empty = emptyAttention(dims, options);
  if (empty) return empty;
  const { batch: B, heads: H, lk, dk, dv } = dims;
  const { nBlocks: nB, blockSize: c, width: m } = layout;
  const g = layout.denseRows.length;
  return tf.tidy(() => {
    const qs = scale === 1 ? q : tf.mul(q, scale); // [B, H, Lq, dk]
    const keep = options.keyPaddingMask ? tf.sub(1, tf.cast(options.keyPaddingMask, 'float32')) : null; // [B, Lk]
    const m4d = options.mask ? mask4d(options.mask) : null; // [b, h, Lq, Lk]
    const mask = m4d ? tf.reshape(tf.cast(m4d, 'float32'), [sh(m4d)[0], sh(m4d)[1], -1]) : null; // [b, h, Lq·Lk]
    const outs: tf.Tensor[] = [];
    // Blocks are processed in groups so that each group's score tensor stays small whatever N is.
    const groupBlocks = Math.max(1, Math.floor(GROUP_ELEMENTS / (B * H * c * m)));
    const rowParts: tf.Tensor[] = [];
    const pParts: tf.Tensor[] = [];
    for (let g0 = 0; g0 < nB; g0 += groupBlocks) {
      const gb = Math.min(groupBlocks, nB - g0);
      const part = tf.tidy(() => {
        const qSub = layout.qIdx.subarray(g0 * c, (g0 + gb) * c);
        const kSub = layout.kIdx.subarray(g0 * m, (g0 + gb) * m);
        const kI = tf.tensor1d(clampIdx(kSub), 'int32'); // [gb·m]
        const S = tf.tidy(() => {
          const Qb = tf.reshape(tf.gather(qs, tf.tensor1d(clampIdx(qSub), 'int32'), 2), [B, H, gb, c, dk]); // [B, H, gb, c, dk]
          const Kb = tf.reshape(tf.gather(k, kI, 2), [B, H, gb, m, dk]); // [B, H, gb, m, dk]
          return matMul(Qb, Kb, false, true); // [B, H, gb, c, m]
        });
        const allowed = tf.tidy(() => {
          let al = tf.tensor(layout.allowed.subarray(g0 * c * m, (g0 + gb) * c * m), [1, 1, gb, c, m], 'float32'); // [1, 1, gb, c, m]
          if (keep) al = tf.mul(al, tf.reshape(tf.gather(keep, kI, 1), [B, 1, gb, 1, m])); // [B, 1, gb, c, m]
          if (mask) {
            const flat = new Int32Array(gb * c * m);
            for (let r = 0; r < gb * c; r++) {
              const i = Math.max(0, qSub[r]);
              const b = Math.floor(r / c);
              for (let sl = 0; sl < m; sl++) flat[r * m + sl] = i * lk + Math.max(0, kSub[b * m + sl]);
            }
            const mb = tf.gather(mask, tf.tensor1d(flat, 'int32'), 2); // [b, h, gb·c·m]
            al = tf.mul(al, tf.reshape(mb, [sh(mask)[0], sh(mask)[1], gb, c, m])); // [B, H, gb, c, m]
          }
          return al;
        });
        const P = maskedSoftmax(S, allowed); // [B, H, gb, c, m]
        S.dispose();
        allowed.dispose();
        const Vb = tf.reshape(tf.gather(v, kI, 2), [B, H, gb, m, dv]); // [B, H, gb, m, dv]
        const rows = tf.reshape(matMul(P, Vb), [B, H, gb * c, dv]); // [B, H, gb·c, dv]
        return options.returnWeights ? { rows, P } : { rows };
      });
      rowParts.push(part.rows);
      if (part.P) pParts.push(part.P);
    }
    const block = {
      rows: rowParts.length === 1 ? rowParts[0] : tf.concat(rowParts, 2), // [B, H, nB·c, dv]
      P: options.returnWeights ? (pParts.length === 1 ? pParts[0] : tf.concat(pParts, 2)) : undefined, // [B, H, nB, c, m]
    };
    if (rowParts.length > 1) tf.dispose(rowParts);
    outs.push(block.rows);
    let denseP: tf.Tensor | null = null;
    if (g > 0) {
      const rowsT = tf.tensor1d(layout.denseRows, 'int32'); // [g]
      const Qg = tf.gather(qs, rowsT, 2); // [B, H, g, dk]
      let allowed: tf.Tensor | null = null;
      const and = (t: tf.Tensor) => {
        allowed = allowed == null ? t : tf.mul(allowed, t);
      };
      if (layout.causal) {
        const off = lk - dims.lq;
        const data = new Float32Array(g * lk);
        layout.denseRows.forEach((i, r) => {
          for (let j = 0; j < lk; j++) data[r * lk + j] = j <= i + off ? 1 : 0;
        });
        and(tf.tensor(data, [1, 1, g, lk])); // [1, 1, g, Lk]
      }
      if (keep) and(tf.reshape(keep, [B, 1, 1, lk])); // [B, 1, 1, Lk]
      if (mask) {
        const m4 = tf.reshape(mask, [sh(mask)[0], sh(mask)[1], dims.lq, lk]); // [b, h, Lq, Lk]
        and(tf.gather(m4, rowsT, 2)); // [b, h, g, Lk]
      }
      denseP = maskedSoftmax(matMul(Qg, k, false, true), allowed); // [B, H, g, Lk]
      outs.push(matMul(denseP, v)); // [B, H, g, dv]
    }
    const all = outs.length === 1 ? outs[0] : tf.concat(outs, 2); // [B, H, nB·c + g, dv]
    const output = tf.gather(all, tf.tensor1d(layout.outIndex, 'int32'), 2); // [B, H, Lq, dv]
    if (!options.returnWeights) return { output };
    return { output, weights: scatterWeights(layout, dims, block.P as tf.Tensor, denseP) };
  });
}

/** Scatters block weights `[B,H,nB,c,m]` and dense rows `[B,H,g,Lk]` into dense `[B,H,Lq,Lk]`. */
function scatterWeights(layout: SparseLayout, dims: QKVDims, P: tf.Tensor, denseP: tf.Tensor | null): tf.Tensor {
  const { batch: B, heads: H, lq, lk } = dims;
  const { nBlocks: nB, blockSize: c, width: m } = layout;
  const g = layout.denseRows.length;
  const n = nB * c * m;
  const idx = new Int32Array((n + g * lk) * 2);
  for (let row = 0; row < nB * c; row++) {
    const i = layout.qIdx[row];
    const b = Math.floor(row / c);
    for (let s = 0; s < m; s++) {
      const j = layout.kIdx[b * m + s];
      const e = (row * m + s) * 2;
      const valid = i >= 0 && j >= 0;
      idx[e] = valid ? i : lq; // padding goes to a dump row
      idx[e + 1] = valid ? j : lk;
    }
  }
  layout.denseRows.forEach((i, r) => {
    for (let j = 0; j < lk; j++) {
      idx[(n + r * lk + j) * 2] = i;
      idx[(n + r * lk + j) * 2 + 1] = j;
    }
  });
  const upd = [tf.reshape(tf.transpose(P, [2, 3, 4, 0, 1]), [n, B * H])]; // [nB·c·m, B·H]
  if (denseP) upd.push(tf.reshape(tf.transpose(denseP, [2, 3, 0, 1]), [g * lk, B * H])); // [g·Lk, B·H]
  const updates = upd.length === 1 ? upd[0] : tf.concat(upd, 0); // [n + g·Lk, B·H]
  const dense = tf.scatterND(tf.tensor2d(idx, [n + g * lk, 2], 'int32'), updates, [lq + 1, lk + 1, B * H]); // [Lq+1, Lk+1, B·H]
  const cut = tf.slice(dense, [0, 0, 0], [lq, lk, B * H]); // [Lq, Lk, B·H]
  return tf.transpose(tf.reshape(cut, [lq, lk, B, H]), [2, 3, 0, 1]); // [B, H, Lq, Lk]
}

/**
 * A small cache of layouts by key (pattern parameters and lengths).
 *
 * @example
 * ```ts
 * import { LayoutCache, buildLayout } from '@dl/attention';
 * const cache = new LayoutCache(4);
 * const spec = { lq: 8, lk: 8, candidates: (i: number) => [i], blockSize: 4, causal: false };
 * const a = cache.get('diag-8', () => buildLayout(spec));
 * const b = cache.get('diag-8', () => buildLayout(spec)); // the same object: built once
 * ```
 */
export class LayoutCache {
  private readonly map = new Map<string, SparseLayout>();
  /** @param capacity how many layouts to keep. */
  constructor(private readonly capacity = 8) {}
  /** Returns the cached layout for `key`, building it with `make` if absent. */
  get(key: string, make: () => SparseLayout): SparseLayout {
    let l = this.map.get(key);
    if (l) {
      this.map.delete(key);
    } else {
      l = make();
      if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as string);
    }
    this.map.set(key, l);
    return l;
  }
}
