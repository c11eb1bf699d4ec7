import { checkInt, DLArgumentError } from './errors.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
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

/** zlib stream of stored (uncompressed) deflate blocks: no compression, any size, no dependencies. */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let at = 2;
  for (let i = 0; i < blocks; i++) {
    const chunk = data.subarray(i * 65535, Math.min((i + 1) * 65535, data.length));
    out[at++] = i === blocks - 1 ? 1 : 0; // BFINAL, BTYPE = 00 (stored)
    out[at++] = chunk.length & 0xff;
    out[at++] = chunk.length >>> 8;
    out[at++] = ~chunk.length & 0xff;
    out[at++] = (~chunk.length >>> 8) & 0xff;
    out.set(chunk, at);
    at += chunk.length;
  }
  new DataView(out.buffer).setUint32(at, adler32(data));
  return out;
}

/**
 * Encodes 8-bit pixels as a PNG file (grey, RGB or RGBA; no compression: stored deflate blocks, CRC-32
 * and Adler-32 in plain TypeScript), for heatmaps, predictions and misclassified digits, written to disk or offered as a
 * browser download without a dependency.
 *
 * @param pixels row-major `height × width × channels` bytes.
 * @param channels 1 (grey), 3 (RGB) or 4 (RGBA).
 *
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs';
 * import { encodePng } from '@dl/core';
 * const px = new Uint8Array(16 * 16).map((_, i) => (i % 16) * 16); // a grey ramp
 * writeFileSync('ramp.png', encodePng(px, 16, 16, 1));
 * ```
 */
export function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3 | 4): Uint8Array {
  checkInt('encodePng', 'width', width);
  checkInt('encodePng', 'height', height);
  if (channels !== 1 && channels !== 3 && channels !== 4) throw new DLArgumentError('encodePng', 'channels', '1, 3 or 4', channels);
  if (!(pixels instanceof Uint8Array) || pixels.length !== width * height * channels) {
    throw new DLArgumentError('encodePng', 'pixels', `a Uint8Array of width·height·channels = ${width * height * channels} bytes`, pixels?.length);
  }
  const row = width * channels;
  const raw = new Uint8Array(height * (row + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * row, (y + 1) * row), y * (row + 1) + 1); // filter 0 per row
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = channels === 1 ? 0 : channels === 3 ? 2 : 6;
  const chunks: [string, Uint8Array][] = [['IHDR', ihdr], ['IDAT', zlibStored(raw)], ['IEND', new Uint8Array(0)]];
  const size = 8 + chunks.reduce((a, [, d]) => a + 12 + d.length, 0);
  const out = new Uint8Array(size);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const view = new DataView(out.buffer);
  let at = 8;
  for (const [type, data] of chunks) {
    view.setUint32(at, data.length);
    for (let i = 0; i < 4; i++) out[at + 4 + i] = type.charCodeAt(i);
    out.set(data, at + 8);
    view.setUint32(at + 8 + data.length, crc32(out, at + 4, at + 8 + data.length));
    at += 12 + data.length;
  }
  return out;
}
