import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError } from '@dl/core';
import { sh } from './shape.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of stored (uncompressed) deflate blocks: works anywhere, no compression library. */
function zlibStored(data: Uint8Array): Uint8Array {
  const nBlocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + data.length + nBlocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let b = 0; b < nBlocks; b++) {
    const start = b * 65535;
    const len = Math.min(65535, data.length - start);
    out[o++] = b === nBlocks - 1 ? 1 : 0; // BFINAL, BTYPE=00 (stored)
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >>> 8) & 0xff;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  const ad = adler32(data);
  out[o++] = ad >>> 24;
  out[o++] = (ad >>> 16) & 0xff;
  out[o++] = (ad >>> 8) & 0xff;
  out[o++] = ad & 0xff;
  return out;
}

/**
 * Encodes an 8-bit RGB image (`rgb` row-major, 3 bytes per pixel) as a PNG file, in plain TypeScript
 * (stored deflate blocks, CRC-32, Adler-32): works in Node and browsers.
 *
 * @example
 * ```ts
 * import { encodePng } from '@dl/attention';
 * const png = encodePng(1, 1, new Uint8Array([255, 0, 0])); // a red pixel
 * ```
 */
export function encodePng(width: number, height: number, rgb: Uint8Array): Uint8Array {
  checkInt('encodePng', 'width', width);
  checkInt('encodePng', 'height', height);
  if (!(rgb instanceof Uint8Array) || rgb.length !== width * height * 3) throw new DLArgumentError('encodePng', 'rgb', `a Uint8Array of ${width * height * 3} bytes`, rgb?.length);
  const raw = new Uint8Array(height * (1 + width * 3));
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * width * 3, (y + 1) * width * 3), y * (1 + width * 3) + 1); // filter 0
  const idat = zlibStored(raw);
  const chunks: [string, Uint8Array][] = [
    ['IHDR', new Uint8Array([...u32(width), ...u32(height), 8, 2, 0, 0, 0])],
    ['IDAT', idat],
    ['IEND', new Uint8Array(0)],
  ];
  const size = 8 + chunks.reduce((n, [, d]) => n + 12 + d.length, 0);
  const png = new Uint8Array(size);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  for (const [type, data] of chunks) {
    png.set(u32(data.length), o);
    for (let i = 0; i < 4; i++) png[o + 4 + i] = type.charCodeAt(i);
    png.set(data, o + 8);
    png.set(u32(crc32(png, o + 4, o + 8 + data.length)), o + 8 + data.length);
    o += 12 + data.length;
  }
  return png;
}

function u32(x: number): number[] {
  return [(x >>> 24) & 0xff, (x >>> 16) & 0xff, (x >>> 8) & 0xff, x & 0xff];
}

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
  if (!(matrix instanceof tf.Tensor) || matrix.rank !== 2) throw new DLArgumentError('heatmapPng', 'matrix', 'a rank-2 tensor [Lq, Lk]', matrix);
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
  return encodePng(w, h, rgb);
}
