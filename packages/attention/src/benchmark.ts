import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError } from '@dl/core';
import type { AttentionFn } from './types.js';
import { BENCH_KEYS, checkOptionKeys } from './option-keys.js';

/** One attention implementation to time: an {@link AttentionFn}, measured up to `maxN`. */
export interface BenchVariant {
  /** Row label. */
  name: string;
  /** The variant (only `output` is used). */
  attend: AttentionFn;
  /** Skip lengths above this (e.g. to stay within memory). */
  maxN?: number;
}

/** One measurement of {@link benchmarkAttention}. */
export interface BenchRow {
  /** Variant name. */
  variant: string;
  /** Sequence length. */
  n: number;
  /** Median wall time of one call, including reading the output back (ms). NaN when it failed. */
  ms: number;
  /** Peak tensor bytes during the call above what existed before (from `tf.profile`). NaN when it failed. */
  peakBytes: number;
  /** Why it failed (e.g. out of memory). */
  error?: string;
}

/** Options of {@link benchmarkAttention}. */
export interface BenchOptions {
  /** Batch size. Default 1. */
  batch?: number;
  /** Heads. Default 1. */
  heads?: number;
  /** Head size. Default 64. */
  dim?: number;
  /** Timed repetitions (median reported). Default 3. */
  repeats?: number;
  /** Called after each measurement (progress). */
  onRow?: (row: BenchRow) => void;
}

/**
 * Times each variant at each length on the active backend and measures its peak tensor memory: a first
 * call runs inside `tf.profile` (peak bytes, and warm-up), then `repeats` timed calls each wait for the
 * output (`await data()`). Inputs q, k, v `[batch, heads, N, dim]` are random normal.
 *
 * @example
 * ```ts
 * import { benchmarkAttention, formatBenchTable, scaledDotProductAttention, localAttention } from '@dl/attention';
 * const rows = await benchmarkAttention([
 *   { name: 'full', attend: scaledDotProductAttention },
 *   { name: 'local', attend: localAttention({ window: 16 }) },
 * ], [128, 256]);
 * console.log(formatBenchTable(rows));
 * ```
 */
export async function benchmarkAttention(variants: BenchVariant[], ns: number[], options: BenchOptions = {}): Promise<BenchRow[]> {
  if (!Array.isArray(variants) || variants.length === 0) throw new DLArgumentError('benchmarkAttention', 'variants', 'a non-empty array', variants);
  checkOptionKeys('benchmarkAttention', options, BENCH_KEYS);
  ns.forEach((n, i) => checkInt('benchmarkAttention', `ns[${i}]`, n));
  const B = checkInt('benchmarkAttention', 'batch', options.batch ?? 1);
  const H = checkInt('benchmarkAttention', 'heads', options.heads ?? 1);
  const D = checkInt('benchmarkAttention', 'dim', options.dim ?? 64);
  const repeats = checkInt('benchmarkAttention', 'repeats', options.repeats ?? 3);
  const rows: BenchRow[] = [];
  for (const n of ns) {
    const q = tf.randomNormal([B, H, n, D], 0, 1, 'float32', 1);
    const k = tf.randomNormal([B, H, n, D], 0, 1, 'float32', 2);
    const v = tf.randomNormal([B, H, n, D], 0, 1, 'float32', 3);
    for (const variant of variants) {
      if (variant.maxN !== undefined && n > variant.maxN) continue;
      const row: BenchRow = { variant: variant.name, n, ms: NaN, peakBytes: NaN };
      try {
        const before = tf.memory().numBytes;
        const info = await tf.profile(async () => {
          const out = variant.attend(q, k, v).output;
          await out.data();
          out.dispose();
        });
        row.peakBytes = info.peakBytes - before;
        const times: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now();
          const out = variant.attend(q, k, v).output;
          await out.data();
          times.push(performance.now() - t0);
          out.dispose();
        }
        times.sort((a, b) => a - b);
        row.ms = times[Math.floor(times.length / 2)];
      } catch (e) {
        row.error = ((e as Error).message ?? String(e)).split('\n')[0].slice(0, 80);
      }
      rows.push(row);
      options.onRow?.(row);
    }
    tf.dispose([q, k, v]);
  }
  return rows;
}

/**
 * Least-squares slope of log y against log n: the exponent p in y ∝ nᵖ (NaN with fewer than 2 points).
 *
 * @example
 * ```ts
 * import { scalingExponent } from '@dl/attention';
 * scalingExponent([[256, 1], [512, 4], [1024, 16]]); // 2
 * ```
 */
export function scalingExponent(points: [number, number][]): number {
  const p = points.filter(([n, y]) => n > 0 && y > 0 && Number.isFinite(y));
  if (p.length < 2) return NaN;
  const xs = p.map(([n]) => Math.log(n));
  const ys = p.map(([, y]) => Math.log(y));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    num += (x - mx) * (ys[i] - my);
    den += (x - mx) ** 2;
  });
  return num / den;
}

/**
 * A Markdown table of {@link BenchRow}s: one row per variant, one column per N with "ms / MB", then the
 * fitted scaling exponents of time and of peak bytes.
 *
 * @example
 * ```ts
 * import { formatBenchTable } from '@dl/attention';
 * console.log(formatBenchTable([{ variant: 'full', n: 256, ms: 1.5, peakBytes: 524288 }]));
 * ```
 */
export function formatBenchTable(rows: BenchRow[]): string {
  const ns = [...new Set(rows.map((r) => r.n))].sort((a, b) => a - b);
  const names = [...new Set(rows.map((r) => r.variant))];
  const head = `| variant | ${ns.map((n) => `N=${n} ms / MB`).join(' | ')} | time exp. | bytes exp. |`;
  const sep = `|${' --- |'.repeat(ns.length + 3)}`;
  const lines = names.map((name) => {
    const mine = rows.filter((r) => r.variant === name);
    const cells = ns.map((n) => {
      const r = mine.find((x) => x.n === n);
      if (!r) return '–';
      if (r.error) return 'failed';
      return `${r.ms < 10 ? r.ms.toFixed(2) : r.ms.toFixed(0)} / ${(r.peakBytes / 2 ** 20).toFixed(r.peakBytes < 2 ** 20 ? 2 : 1)}`;
    });
    const ok = mine.filter((r) => !r.error);
    const te = scalingExponent(ok.map((r) => [r.n, r.ms]));
    const be = scalingExponent(ok.map((r) => [r.n, r.peakBytes]));
    return `| ${name} | ${cells.join(' | ')} | ${Number.isNaN(te) ? '–' : te.toFixed(2)} | ${Number.isNaN(be) ? '–' : be.toFixed(2)} |`;
  });
  return [head, sep, ...lines].join('\n');
}
