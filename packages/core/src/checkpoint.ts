import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkKeys, DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import type { Module, StateDict, LoadResult } from './module.js';
import { importAtRuntime } from './runtime-import.js';

/** A safetensors dtype this package reads. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

// A Map, not an object: a dtype named "__proto__" or "toString" must not find an inherited property.
const BYTES = new Map<string, number>([
  ['F64', 8], ['F32', 4], ['F16', 2], ['BF16', 2], ['I64', 8], ['I32', 4], ['I16', 2], ['I8', 1], ['U64', 8], ['U32', 4], ['U16', 2], ['U8', 1], ['BOOL', 1],
]);
/** The reference implementation's limit on the header (MAX_HEADER_SIZE in huggingface/safetensors). */
const MAX_HEADER = 100_000_000;
/** tfjs keeps shapes in int32 (and wasm's kernels read them so): a larger dimension cannot be a tensor. */
const MAX_DIM = 2 ** 31 - 1;
const ENTRY_FIELDS = ['dtype', 'shape', 'data_offsets'];

/**
 * The error thrown for a malformed, truncated or inconsistent safetensors file.
 *
 * @example
 * ```ts
 * import { CheckpointError, decodeSafetensors } from '@dl/core';
 * try { decodeSafetensors(new Uint8Array(3)); } catch (e) { console.log(e instanceof CheckpointError, (e as Error).message); }
 * ```
 */
export class CheckpointError extends Error {
  /** @param message what is wrong, and where. */
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'CheckpointError';
  }
}

/** A decoded safetensors file. */
export interface Checkpoint {
  /** Tensors by name (float types become float32, integer types int32, BOOL bool). The caller owns them. */
  tensors: StateDict;
  /** The `__metadata__` string map (empty if absent). */
  metadata: Record<string, string>;
}

/**
 * Serialises tensors to the safetensors format (8-byte little-endian header length, JSON header, raw
 * little-endian data), which PyTorch reads with `safetensors.torch.load_file`. float32 → F32, int32 → I32,
 * bool → BOOL. Names keep their order; data is 8-byte aligned as the reference writer does.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { encodeSafetensors, decodeSafetensors } from '@dl/core';
 * const bytes = await encodeSafetensors(new Map([['w', tf.ones([2, 2])]]), { step: '10' });
 * const { tensors } = decodeSafetensors(bytes);
 * ```
 */
export async function encodeSafetensors(tensors: StateDict | Record<string, tf.Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors)) throw new DLArgumentError('encodeSafetensors', 'tensors', 'a Map or an object of tensors', tensors);
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw new DLArgumentError('encodeSafetensors', 'metadata', 'an object of strings', metadata);
  const entries = [...(tensors instanceof Map ? tensors : new Map(Object.entries(tensors)))] as [string, unknown][];
  for (const [name, t] of entries) {
    if (!isTensor(t, 'encodeSafetensors', `tensor '${name}'`)) throw new DLArgumentError('encodeSafetensors', `tensor '${name}'`, 'a tf.Tensor', t);
    if (t.isDisposed) throw new DLArgumentError('encodeSafetensors', `tensor '${name}'`, 'a live tensor', asIs('a disposed tensor'));
  }
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') throw new DLArgumentError('encodeSafetensors', `metadata.${k}`, 'a string', v);
    header.__metadata__ = metadata;
  }
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of entries as [string, tf.Tensor][]) {
    if (name === '__metadata__') throw new DLArgumentError('encodeSafetensors', 'tensors', 'names other than __metadata__', name);
    if (t.dtype !== 'float32' && t.dtype !== 'int32' && t.dtype !== 'bool') {
      throw new DLArgumentError('encodeSafetensors', `tensor '${name}'`, 'float32, int32 or bool', asIs(t.dtype));
    }
    const values = await t.data();
    let bytes: Uint8Array;
    let dtype: SafetensorsDtype;
    if (t.dtype === 'float32') [dtype, bytes] = ['F32', littleEndian(new Float32Array(values as Float32Array))];
    else if (t.dtype === 'int32') [dtype, bytes] = ['I32', littleEndian(new Int32Array(values as Int32Array))];
    else [dtype, bytes] = ['BOOL', new Uint8Array(values as Uint8Array)];
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Parses a safetensors file, following the format as huggingface/safetensors defines and checks it:
 *
 * - 8 bytes: N, the header's length (little-endian u64), at most 100,000,000 as in the reference;
 * - N bytes: a UTF-8 JSON object starting with `{` (trailing spaces are the writers' alignment padding),
 *   no key twice; each entry `{ dtype, shape, data_offsets: [begin, end] }` (nothing else), shape of
 *   integers ≥ 0, `end − begin` = product(shape) × the dtype's size; the optional `__metadata__` maps
 *   strings to strings;
 * - the rest: the data. The tensors, ordered by offsets, must cover it exactly: the first begins at 0,
 *   each begins where the previous ends, and the last ends at the end of the file. A gap, an overlap or
 *   trailing bytes is an error (the format forbids holes, so that no second file hides in one).
 *   Zero-size tensors (a dimension 0) hold no bytes and may share their offset with a neighbour.
 *
 * Every field is checked and every value converted before any tensor is made, so a bad file throws a
 * {@link CheckpointError} naming the problem and leaves nothing allocated. Floats (F64, F16, BF16) become
 * float32; integers (I64, I32, I16, I8, U64, U32, U16, U8) int32, and a value outside int32 throws;
 * BOOL bool. `data` is any `ArrayBufferView` (Uint8Array, Buffer, DataView…) or `ArrayBuffer`; read a
 * Blob or fetch Response first (`new Uint8Array(await blob.arrayBuffer())`), or pass it to
 * {@link loadCheckpoint}.
 *
 * @throws {@link DLArgumentError} when `data` is not bytes; {@link CheckpointError} for a bad file.
 *
 * @example
 * ```ts
 * import { Linear, decodeSafetensors, encodeSafetensors } from '@dl/core';
 * // In a browser: const bytes = new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer());
 * const bytes = await encodeSafetensors(new Linear(4, 2).stateDict(), { epoch: '3' });
 * const { tensors, metadata } = decodeSafetensors(bytes); // tensors: Map { 'weight' → [2, 4], 'bias' → [2] }
 * ```
 */
export function decodeSafetensors(data: ArrayBuffer | ArrayBufferView): Checkpoint {
  const bytes = asBytes('decodeSafetensors', 'data', data);
  if (bytes.length < 8) throw new CheckpointError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER)) throw new CheckpointError(`header length ${headerLen} is over the ${MAX_HEADER}-byte limit (not a safetensors file?)`);
  const n = Number(headerLen);
  if (8 + n > bytes.length) throw new CheckpointError(`header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  let text: string;
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n)); // a BOM is not '{'
    header = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new CheckpointError('header is not a JSON object');
  if (text[0] !== '{') throw new CheckpointError(`header must start with '{', got ${JSON.stringify(text[0])}`);
  const duplicate = duplicateKey(text);
  if (duplicate !== null) throw new CheckpointError(`duplicate key ${JSON.stringify(duplicate)} in the header`);

  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null) continue; // the reference reads null as "no metadata"
      if (typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') throw new CheckpointError(`__metadata__.${k} is not a string`);
        // defineProperty: a key "__proto__" becomes an own entry instead of replacing the prototype.
        Object.defineProperty(metadata, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const where = `tensor ${quote(name)}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new CheckpointError(`entry ${quote(name)} is not an object`);
    const spec = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const extra = Object.keys(spec).find((k) => !ENTRY_FIELDS.includes(k));
    if (extra !== undefined) throw new CheckpointError(`${where} has an unknown field ${JSON.stringify(extra)} (expected ${ENTRY_FIELDS.join(', ')})`);
    const size = typeof spec.dtype === 'string' ? BYTES.get(spec.dtype) : undefined;
    if (size === undefined) throw new CheckpointError(`${where} has unsupported dtype ${JSON.stringify(spec.dtype)} (expected one of ${[...BYTES.keys()].join(', ')})`);
    const shape = spec.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0 && d <= MAX_DIM)) {
      throw new CheckpointError(`${where} has invalid shape ${JSON.stringify(shape)} (integers in [0, ${MAX_DIM}])`);
    }
    const off = spec.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      throw new CheckpointError(`${where} has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen) throw new CheckpointError(`${where} data_offsets [${begin}, ${end}] run past the ${dataLen} data bytes (truncated?)`);
    const count = (shape as number[]).reduce((a, b) => a * b, 1); // exact or > dataLen (it is compared below)
    if (end - begin !== count * size) throw new CheckpointError(`${where} has ${end - begin} bytes but shape [${shape}] of ${spec.dtype} needs ${count * size}`);
    specs.push({ name, dtype: spec.dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  // The data must be covered exactly: sorted by (begin, end), each tensor starts where the last ended.
  const sorted = [...specs].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: (typeof specs)[number] | null = null;
  for (const s of sorted) {
    if (s.begin < cursor) throw new CheckpointError(`tensors ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}] and ${quote(s.name)} [${s.begin}, ${s.end}] overlap`);
    if (s.begin > cursor) throw new CheckpointError(`gap of ${s.begin - cursor} bytes before tensor ${quote(s.name)} [${s.begin}, ${s.end}] (the tensors must cover the data without holes)`);
    cursor = s.end;
    if (s.end > s.begin) previous = s;
  }
  if (cursor !== dataLen) throw new CheckpointError(`the data section has ${dataLen} bytes but the tensors cover ${cursor} (${dataLen - cursor} trailing bytes)`);

  // Convert everything on the host first: a bad value in the last tensor must not leave the first allocated.
  const converted = specs.map((s) => ({ s, cv: convert(s.name, s.dtype, bytes.subarray(dataStart + s.begin, dataStart + s.end)) }));
  const tensors: StateDict = new Map();
  try {
    for (const { s, cv } of converted) tensors.set(s.name, tf.tensor(cv[0], s.shape, cv[1]));
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
  return { tensors, metadata };
}

/** A tensor name in single quotes, control characters and quotes escaped as JSON does. */
function quote(name: string): string {
  return `'${JSON.stringify(name).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

/** The first key that appears twice in one object of a valid JSON text, or null. */
function duplicateKey(text: string): string | null {
  const stack: { keys: Set<string> | null; expectKey: boolean }[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push({ keys: new Set(), expectKey: true });
    else if (c === '[') stack.push({ keys: null, expectKey: false });
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',' && stack.length) stack[stack.length - 1].expectKey = stack[stack.length - 1].keys !== null;
    else if (c === ':' && stack.length) stack[stack.length - 1].expectKey = false;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.keys.has(key)) return key;
        top.keys.add(key);
      }
      i = j;
    }
  }
  return null;
}

/** The bytes of `data` as a Uint8Array view (no copy), or a DLArgumentError saying what to pass. */
function asBytes(where: string, argument: string, data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  const blob = typeof Blob !== 'undefined' && data instanceof Blob;
  const expected = `a Uint8Array, ArrayBuffer or other ArrayBufferView${blob ? ' (a Blob must be read first: new Uint8Array(await blob.arrayBuffer()), or use loadCheckpoint)' : ''}`;
  throw new DLArgumentError(where, argument, expected, blob ? asIs('a Blob') : describeInput(data));
}

function describeInput(x: unknown): unknown {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
  const name = (x as object).constructor?.name;
  return asIs(name && name !== 'Object' ? `a ${name}` : `an object with keys [${Object.keys(x as object).join(', ')}]`);
}

function convert(name: string, dtype: SafetensorsDtype, b: Uint8Array): [Float32Array | Int32Array | Uint8Array, tf.DataType] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = b.length / BYTES.get(dtype)!;
  const float = dtype.startsWith('F') || dtype === 'BF16';
  const f = new Float32Array(float ? count : 0);
  const i32 = new Int32Array(!float && dtype !== 'BOOL' ? count : 0);
  const outside = (x: number | bigint) => new CheckpointError(`tensor ${quote(name)} has an ${dtype} value ${x} outside int32, which tfjs cannot hold`);
  switch (dtype) {
    case 'F32': for (let i = 0; i < count; i++) f[i] = v.getFloat32(4 * i, true); return [f, 'float32'];
    case 'F64': for (let i = 0; i < count; i++) f[i] = v.getFloat64(8 * i, true); return [f, 'float32'];
    case 'F16': for (let i = 0; i < count; i++) f[i] = halfToFloat(v.getUint16(2 * i, true)); return [f, 'float32'];
    case 'BF16': {
      const scratch = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < count; i++) {
        scratch.setUint32(0, v.getUint16(2 * i, true) << 16);
        f[i] = scratch.getFloat32(0);
      }
      return [f, 'float32'];
    }
    case 'I32': for (let i = 0; i < count; i++) i32[i] = v.getInt32(4 * i, true); return [i32, 'int32'];
    case 'I64':
    case 'U64':
      for (let i = 0; i < count; i++) {
        const x = dtype === 'I64' ? v.getBigInt64(8 * i, true) : v.getBigUint64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) throw outside(x);
        i32[i] = Number(x);
      }
      return [i32, 'int32'];
    case 'U32':
      for (let i = 0; i < count; i++) {
        const x = v.getUint32(4 * i, true);
        if (x > 2147483647) throw outside(x);
        i32[i] = x;
      }
      return [i32, 'int32'];
    case 'I16': for (let i = 0; i < count; i++) i32[i] = v.getInt16(2 * i, true); return [i32, 'int32'];
    case 'U16': for (let i = 0; i < count; i++) i32[i] = v.getUint16(2 * i, true); return [i32, 'int32'];
    case 'I8': for (let i = 0; i < count; i++) i32[i] = v.getInt8(i); return [i32, 'int32'];
    case 'U8': for (let i = 0; i < count; i++) i32[i] = v.getUint8(i); return [i32, 'int32'];
    case 'BOOL': return [Uint8Array.from(b, (x) => (x ? 1 : 0)), 'bool'];
  }
}

/** An IEEE half-precision bit pattern as a number (also used by the torch.save reader). Package-internal. */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Whether this machine stores numbers big-endian (safetensors and torch.save data are little-endian). Package-internal. */
export const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
function littleEndian(a: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!bigEndianHost) return out;
  const copy = new Uint8Array(out);
  for (let i = 0; i < copy.length; i += 4) copy.subarray(i, i + 4).reverse();
  return copy;
}

/**
 * Saves a module's `stateDict()` (or any tensor map) as a safetensors file (Node) or returns the bytes
 * (pass no path, e.g. in a browser, then offer them as a download).
 *
 * @example
 * ```ts
 * import { Linear, saveCheckpoint } from '@dl/core';
 * await saveCheckpoint(new Linear(4, 2), 'linear.safetensors'); // torch: load_file('linear.safetensors')
 * ```
 */
export async function saveCheckpoint(source: Module | StateDict | Record<string, tf.Tensor>, path?: string, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const dict = isModule(source) ? source.stateDict() : source;
  const bytes = await encodeSafetensors(dict, metadata);
  if (path !== undefined) {
    const fs = await importAtRuntime<typeof import('node:fs/promises')>('node:fs/promises');
    await fs.writeFile(path, bytes);
  }
  return bytes;
}

/**
 * Reads a safetensors checkpoint from a file path (Node), a Blob (a browser's file input or
 * `await fetch(url).then((r) => r.blob())`), or bytes (anywhere). The file is checked as
 * {@link decodeSafetensors} describes.
 *
 * @example
 * ```ts
 * import { Linear, loadCheckpoint, saveCheckpoint } from '@dl/core';
 * await saveCheckpoint(new Linear(4, 2), 'linear.safetensors');
 * const { tensors } = await loadCheckpoint('linear.safetensors'); // Map { 'weight' → [2, 4], 'bias' → [2] }
 * const fromBlob = await loadCheckpoint(new Blob([await saveCheckpoint(new Linear(4, 2))]));
 * ```
 */
export async function loadCheckpoint(source: string | Blob | ArrayBuffer | ArrayBufferView): Promise<Checkpoint> {
  if (typeof source === 'string') {
    const fs = await importAtRuntime<typeof import('node:fs/promises')>('node:fs/promises');
    return decodeSafetensors(await fs.readFile(source));
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return decodeSafetensors(await source.arrayBuffer());
  if (!(source instanceof ArrayBuffer) && !ArrayBuffer.isView(source) && !(typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer)) {
    throw new DLArgumentError('loadCheckpoint', 'source', 'a file path, a Blob, a Uint8Array, ArrayBuffer or other ArrayBufferView', describeInput(source));
  }
  return decodeSafetensors(source as ArrayBuffer | ArrayBufferView);
}

/**
 * Loads a safetensors checkpoint (a path, a Blob or bytes, as {@link loadCheckpoint}) into a module (names
 * as PyTorch's `state_dict`), then frees the decoded tensors. `strict` (default true) throws on missing or
 * unexpected names; unknown option keys throw.
 *
 * @example
 * ```ts
 * import { Linear, loadIntoModule, saveCheckpoint } from '@dl/core';
 * await saveCheckpoint(new Linear(4, 2), 'linear.safetensors');
 * const fc = new Linear(4, 2);
 * await loadIntoModule(fc, 'linear.safetensors'); // fc now holds the saved weights
 * ```
 */
export async function loadIntoModule(module: Module, source: string | Blob | ArrayBuffer | ArrayBufferView, options: { strict?: boolean } = {}): Promise<LoadResult> {
  checkKeys('loadIntoModule', options, ['strict']);
  const { tensors } = await loadCheckpoint(source);
  try {
    return module.loadStateDict(tensors, options);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

function isModule(x: unknown): x is Module {
  return typeof x === 'object' && x !== null && typeof (x as Module).stateDict === 'function';
}
