import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DLArgumentError, encodePng } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

/** Splits a PNG into chunks and checks each CRC with an independent implementation (zlib's crc32 via inflate is not exposed, so a bitwise one). */
function chunks(png: Uint8Array): { type: string; data: Uint8Array }[] {
  const crc = (b: Uint8Array) => {
    let c = ~0;
    for (const x of b) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    return ~c >>> 0;
  };
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out = [];
  for (let at = 8; at < png.length; ) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + len);
    expect(view.getUint32(at + 8 + len), `${type} CRC`).toBe(crc(png.subarray(at + 4, at + 8 + len)));
    out.push({ type, data });
    at += 12 + len;
  }
  return out;
}

describe('encodePng', () => {
  for (const channels of [1, 3, 4] as const) {
    it(`writes a valid ${channels}-channel PNG whose pixels inflate back unchanged`, async () => {
      await assertNoLeaks(() => {
        const [w, h] = [300, 230]; // > 65,535 raw bytes for 3 and 4 channels: several stored blocks
        const px = new Uint8Array(w * h * channels).map((_, i) => (i * 7) % 256);
        const png = encodePng(px, w, h, channels);
        expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
        const cs = chunks(png);
        expect(cs.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
        const ihdr = new DataView(cs[0].data.buffer, cs[0].data.byteOffset);
        expect([ihdr.getUint32(0), ihdr.getUint32(4), cs[0].data[8], cs[0].data[9]]).toEqual([w, h, 8, { 1: 0, 3: 2, 4: 6 }[channels]]);
        const raw = new Uint8Array(inflateSync(cs[1].data)); // zlib checks the Adler-32 too
        for (let y = 0; y < h; y++) {
          expect(raw[y * (w * channels + 1)]).toBe(0); // filter type 0
          expect(raw.subarray(y * (w * channels + 1) + 1, (y + 1) * (w * channels + 1))).toEqual(px.subarray(y * w * channels, (y + 1) * w * channels));
        }
      });
    });
  }

  it('rejects bad sizes and channel counts', async () => {
    await assertNoLeaks(() => {
      expect(() => encodePng(new Uint8Array(4), 2, 2, 2 as never)).toThrow(DLArgumentError);
      expect(() => encodePng(new Uint8Array(4), 2, 2, 3)).toThrow(/encodePng: pixels must be a Uint8Array of width·height·channels = 12 bytes, got 4/);
      expect(() => encodePng(new Uint8Array(0), 0, 2, 1)).toThrow(/encodePng: width must be a positive integer, got 0/);
    });
  });
});
