// The part of the ZIP format (PKWARE APPNOTE 6.3) that `torch.save` uses since PyTorch 1.6: stored
// (uncompressed) entries, each record's data aligned to 64 bytes by padding in the local header's extra
// field, a central directory, and a zip64 end record that torch writes even for small files.

/** Reports a malformed archive; never returns. */
export type Fail = (problem: string) => never;

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
/** torch aligns every record's data to 64 bytes (kFieldAlignment in caffe2/serialize/inline_container.cc). */
export const ALIGNMENT = 64;
const METHODS = new Map([[8, 'deflate'], [9, 'deflate64'], [12, 'bzip2'], [14, 'lzma'], [93, 'zstd'], [95, 'xz']]);

// Slicing-by-8 CRC-32 tables (Kounavis & Berry 2008): table k advances a byte through k more zero bytes, so
// eight bytes are folded per step. Several times faster than one byte at a time on 100 MB checkpoints.
const CRC_TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n] >>> 8) ^ t[t[(k - 1) * 256 + n] & 0xff];
  return t;
})();

/** The CRC-32 (ISO 3309, as zip uses) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  const t = CRC_TABLES;
  let c = 0xffffffff;
  let i = 0;
  for (const end = bytes.length - 8; i <= end; i += 8) {
    const a = c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24));
    c = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^ t[1024 + (a >>> 24)] ^
      t[768 + bytes[i + 4]] ^ t[512 + bytes[i + 5]] ^ t[256 + bytes[i + 6]] ^ t[bytes[i + 7]];
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The entries of a zip archive, name → data (views into `bytes`, no copy). Every entry's sizes, local
 * header and CRC-32 are checked, and names must be unique. Compressed entries are an error, unless
 * `compressed` is given: then their names and methods go there (unread), so that the caller can say
 * what the archive is before refusing the entries it needs.
 */
export function readZip(bytes: Uint8Array, fail: Fail, compressed?: Map<string, number>): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const u64 = (at: number) => {
    const v = view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a zip64 field of ${v} at byte ${at}, beyond any file this reader can hold`);
    return Number(v);
  };
  const end = findEnd(bytes, view, fail);
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) fail('a multi-disk (split) zip archive');
  let count = u16(end + 10);
  let dirSize = u32(end + 12);
  let dirStart = u32(end + 16);
  if (count === 0xffff || dirSize === 0xffffffff || dirStart === 0xffffffff) {
    // The zip64 end record, found through its locator just before the end record.
    if (end < 20 || u32(end - 20) !== LOCATOR64) fail('a zip64 archive without its zip64 end-of-central-directory locator');
    const at = u64(end - 12);
    if (at + 56 > bytes.length || u32(at) !== END64) fail(`no zip64 end-of-central-directory record at byte ${at} (truncated?)`);
    count = u64(at + 32);
    dirSize = u64(at + 40);
    dirStart = u64(at + 48);
  }
  if (dirStart + dirSize > bytes.length) fail(`a central directory at bytes [${dirStart}, ${dirStart + dirSize}) past the end of the ${bytes.length}-byte file (truncated?)`);

  const entries = new Map<string, Uint8Array>();
  let at = dirStart;
  for (let i = 0; i < count; i++) {
    if (at + 46 > dirStart + dirSize || u32(at) !== CENTRAL) fail(`central directory entry ${i} of ${count} missing at byte ${at}`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let packed = u32(at + 20);
    let size = u32(at + 24);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    const commentLen = u16(at + 32);
    let offset = u32(at + 42);
    const next = at + 46 + nameLen + extraLen + commentLen;
    if (next > dirStart + dirSize) fail(`central directory entry ${i} runs past the directory's end`);
    const nameBytes = bytes.subarray(at + 46, at + 46 + nameLen);
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      fail(`central directory entry ${i} has a name that is not UTF-8`);
    }
    const quoted = JSON.stringify(name);
    // zip64 sizes and offset, each present only where the 32-bit field holds 0xffffffff, in this order.
    if (size === 0xffffffff || packed === 0xffffffff || offset === 0xffffffff) {
      let e = at + 46 + nameLen;
      const extraEnd = e + extraLen;
      let found = false;
      while (e + 4 <= extraEnd) {
        const id = u16(e);
        const len = u16(e + 2);
        if (id === 0x0001) {
          let f = e + 4;
          const take = () => {
            if (f + 8 > e + 4 + len) fail(`entry ${quoted} has a short zip64 extra field`);
            f += 8;
            return u64(f - 8);
          };
          if (size === 0xffffffff) size = take();
          if (packed === 0xffffffff) packed = take();
          if (offset === 0xffffffff) offset = take();
          found = true;
          break;
        }
        e += 4 + len;
      }
      if (!found) fail(`entry ${quoted} has 32-bit fields marked zip64 but no zip64 extra field`);
    }
    if (flags & 1) fail(`entry ${quoted} is encrypted`);
    if (entries.has(name) || compressed?.has(name)) fail(`entry ${quoted} twice`);
    if (method !== 0) {
      if (!compressed) fail(compressedEntry(name, method));
      compressed.set(name, method);
      at = next;
      continue;
    }
    if (packed !== size) fail(`stored entry ${quoted} has compressed size ${packed} ≠ size ${size}`);
    if (offset + 30 > bytes.length || u32(offset) !== LOCAL) fail(`no local header for entry ${quoted} at byte ${offset} (truncated?)`);
    const localName = bytes.subarray(offset + 30, offset + 30 + u16(offset + 26));
    if (localName.length !== nameBytes.length || localName.some((b, k) => b !== nameBytes[k])) fail(`entry ${quoted}'s local header names another file`);
    const begin = offset + 30 + u16(offset + 26) + u16(offset + 28);
    if (begin + size > bytes.length) fail(`entry ${quoted} (${size} bytes at byte ${begin}) runs past the end of the ${bytes.length}-byte file (truncated?)`);
    const data = bytes.subarray(begin, begin + size);
    if (crc32(data) !== crc) fail(`entry ${quoted} fails its CRC-32 check (corrupted?)`);
    entries.set(name, data);
    at = next;
  }
  return entries;
}

/** Why a compressed entry cannot be read. */
export function compressedEntry(name: string, method: number): string {
  const how = METHODS.has(method) ? ` (${METHODS.get(method)})` : '';
  return `entry ${JSON.stringify(name)} compressed with method ${method}${how}; torch.save stores entries uncompressed (re-save with torch.save, or re-zip with \`zip -0\`)`;
}

/** The offset of the end-of-central-directory record, or a failure that says what the bytes look like. */
function findEnd(bytes: Uint8Array, view: DataView, fail: Fail): number {
  // The record is 22 bytes plus a comment of up to 65535; the comment must reach the file's end exactly.
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (view.getUint32(at, true) === END && at + 22 + view.getUint16(at + 20, true) === bytes.length) return at;
  }
  const head = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  if (bytes.length >= 4 && bytes[0] === 0x80 && bytes[1] <= 5 && bytes[2] === 0x8a && bytes[3] === 0x0a) {
    fail('a legacy torch.save file (PyTorch < 1.6, or _use_new_zipfile_serialization=False), which is not read here; re-save it with torch.save in PyTorch ≥ 1.6');
  }
  if (bytes.length >= 262 && String.fromCharCode(...bytes.subarray(257, 262)) === 'ustar') fail('a tar archive (the oldest torch.save format), which is not read here; re-save it with torch.save in PyTorch ≥ 1.6');
  if (bytes.length >= 9 && view.getUint32(4, true) === 0 && bytes[8] === 0x7b) fail('what looks like a safetensors file (use decodeSafetensors)');
  if (bytes.length >= 4 && view.getUint32(0, true) === LOCAL) fail(`a zip archive without its end-of-central-directory record (${bytes.length} bytes; truncated?)`);
  fail(`${bytes.length} bytes${bytes.length ? ` starting ${head}` : ''} with no zip end-of-central-directory record`);
}

/**
 * A zip archive of stored entries as torch writes it: each record's data starts on a 64-byte boundary
 * (padding in the local header's extra field, id "FB" as torch's), UTF-8 names, a fixed 1980-01-01 date
 * so the same entries give the same bytes. Archives past 4 GiB or 65535 entries would need zip64: rejected
 * by `tooLarge`.
 */
export function writeZip(entries: [string, Uint8Array][], tooLarge: Fail): Uint8Array {
  const enc = new TextEncoder();
  const names = entries.map(([n]) => enc.encode(n));
  const layout: { offset: number; pad: number; crc: number }[] = [];
  let pos = 0;
  entries.forEach(([, data], i) => {
    const headerEnd = pos + 30 + names[i].length;
    // An extra field has a 4-byte header, so a padding of 1–3 bytes is impossible: go to the next boundary.
    let pad = (ALIGNMENT - (headerEnd % ALIGNMENT)) % ALIGNMENT;
    if (pad > 0 && pad < 4) pad += ALIGNMENT;
    layout.push({ offset: pos, pad, crc: crc32(data) });
    pos = headerEnd + pad + data.length;
  });
  const dirStart = pos;
  const dirSize = names.reduce((s, n) => s + 46 + n.length, 0);
  const total = dirStart + dirSize + 22;
  if (total > 0xffffffff || entries.length > 0xffff) tooLarge(`${total} bytes in ${entries.length} records, past the 4 GiB / 65535 records a zip without zip64 holds`);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01, the earliest DOS date
  entries.forEach(([, data], i) => {
    const { offset, pad, crc } = layout[i];
    const name = names[i];
    view.setUint32(offset, LOCAL, true);
    view.setUint16(offset + 4, 20, true); // version needed: 2.0
    view.setUint16(offset + 6, 0x0800, true); // names are UTF-8
    view.setUint16(offset + 8, 0, true); // stored
    view.setUint16(offset + 12, DOS_DATE, true);
    view.setUint32(offset + 14, crc, true);
    view.setUint32(offset + 18, data.length, true);
    view.setUint32(offset + 22, data.length, true);
    view.setUint16(offset + 26, name.length, true);
    view.setUint16(offset + 28, pad, true);
    out.set(name, offset + 30);
    if (pad > 0) {
      const e = offset + 30 + name.length;
      view.setUint16(e, 0x4246, true); // "FB"
      view.setUint16(e + 2, pad - 4, true);
      out.fill(0x5a, e + 4, e + pad); // "Z", as torch pads
    }
    out.set(data, offset + 30 + name.length + pad);
  });
  let at = dirStart;
  entries.forEach(([, data], i) => {
    const name = names[i];
    view.setUint32(at, CENTRAL, true);
    view.setUint16(at + 4, 20, true); // made by: 2.0, MS-DOS attributes
    view.setUint16(at + 6, 20, true);
    view.setUint16(at + 8, 0x0800, true);
    view.setUint16(at + 10, 0, true);
    view.setUint16(at + 14, DOS_DATE, true);
    view.setUint32(at + 16, layout[i].crc, true);
    view.setUint32(at + 20, data.length, true);
    view.setUint32(at + 24, data.length, true);
    view.setUint16(at + 28, name.length, true);
    view.setUint32(at + 42, layout[i].offset, true);
    out.set(name, at + 46);
    at += 46 + name.length;
  });
  view.setUint32(at, END, true);
  view.setUint16(at + 8, entries.length, true);
  view.setUint16(at + 10, entries.length, true);
  view.setUint32(at + 12, dirSize, true);
  view.setUint32(at + 16, dirStart, true);
  return out;
}
