import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, encodePng, isTensor } from '@dl/core';
import { sh } from './shape.js';
import { checkOptionKeys, HEATMAP_KEYS } from './option-keys.js';

// A viridis-like ramp: dark purple (0) → blue → green → yellow (1).
const STOPS = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

function color(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  return [0, 1, 2].map((c) => Math.round(STOPS[i][c] + f * (STOPS[i + 1][c] - STOPS[i][c]))) as [number, number, number];
}

/** Options of {@link heatmapPng}. */
export interface HeatmapOptions {
  /** Pixels per matrix cell. Default 8. */
  cellSize?: number;
  /** Value shown as the brightest colour. Default: the matrix maximum. */
  max?: number;
}

/**
 * A PNG heatmap of an attention matrix `[Lq, Lk]` (rows = queries, columns = keys; 0 dark purple,
 * the maximum yellow). Reads the tensor asynchronously (works on WebGPU).
 *
 * @example
 * ```ts
 * import { heatmapPng, patternMask } from '@dl/attention';
 * import * as tf from '@tensorflow/tfjs-core';
 * const png = await heatmapPng(tf.cast(patternMask({ local: { lookBack: 2, lookForward: 2 } }, 16), 'float32'));
 * ```
 */
export async function heatmapPng(matrix: tf.Tensor, options: HeatmapOptions = {}): Promise<Uint8Array> {
  if (!isTensor(matrix, 'heatmapPng', 'matrix') || matrix.rank !== 2) throw new DLArgumentError('heatmapPng', 'matrix', 'a rank-2 tensor [Lq, Lk]', matrix);
  checkOptionKeys('heatmapPng', options, HEATMAP_KEYS);
  const cell = checkInt('heatmapPng', 'cellSize', options.cellSize ?? 8);
  const [rows, cols] = sh(matrix);
  const values = await matrix.data();
  let max = options.max ?? 0;
  if (options.max === undefined) for (const v of values) max = Math.max(max, v);
  const w = cols * cell;
  const h = rows * cell;
  const rgb = new Uint8Array(w * h * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const [R, G, B] = color(max > 0 ? values[r * cols + c] / max : 0);
      for (let y = r * cell; y < (r + 1) * cell; y++) {
        for (let x = c * cell; x < (c + 1) * cell; x++) {
          const o = (y * w + x) * 3;
          rgb[o] = R;
          rgb[o + 1] = G;
          rgb[o + 2] = B;
        }
      }
    }
  }
  return encodePng(rgb, w, h, 3);
}
