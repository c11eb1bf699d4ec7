import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkKeys, DLArgumentError } from './errors.js';
import { isTensor } from './sync-read.js';
import type { Module, StateDict, LoadResult } from './module.js';
import { importAtRuntime } from './runtime-import.js';

/** A safetensors dtype this package reads. */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const BYTES: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };
const MAX_HEADER = 100 * 1024 * 1024;

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
    if (!isTensor(t)) throw new DLArgumentError('encodeSafetensors', `tensor '${name}'`, 'a tf.Tensor', t);
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
 * Parses a safetensors file. Every field is checked before any tensor is made: a truncated file, a
 * header longer than the file, bad JSON, an unknown dtype, offsets out of bounds, overlapping or not
 * matching shape × dtype size, all throw a {@link CheckpointError} naming the problem.
 *
 * @example
 * ```ts
 * import { Linear, decodeSafetensors, encodeSafetensors } from '@dl/core';
 * // In a browser: const bytes = new Uint8Array(await (await fetch('model.safetensors')).arrayBuffer());
 * const bytes = await encodeSafetensors(new Linear(4, 2).stateDict(), { epoch: '3' });
 * const { tensors, metadata } = decodeSafetensors(bytes); // tensors: Map { 'weight' → [2, 4], 'bias' → [2] }
 * ```
 */
export function decodeSafetensors(data: ArrayBuffer | Uint8Array): Checkpoint {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.length < 8) throw new CheckpointError(`file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getBigUint64(0, true);
  if (headerLen > BigInt(MAX_HEADER)) throw new CheckpointError(`header length ${headerLen} is over the ${MAX_HEADER}-byte limit (not a safetensors file?)`);
  const n = Number(headerLen);
  if (8 + n > bytes.length) throw new CheckpointError(`header length ${n} runs past the end of the ${bytes.length}-byte file (truncated?)`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new CheckpointError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw new CheckpointError('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const specs: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object') throw new CheckpointError('__metadata__ is not an object');
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') throw new CheckpointError(`__metadata__.${k} is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const spec = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (spec === null || typeof spec !== 'object') throw new CheckpointError(`entry '${name}' is not an object`);
    if (typeof spec.dtype !== 'string' || !(spec.dtype in BYTES)) throw new CheckpointError(`tensor '${name}' has unsupported dtype ${JSON.stringify(spec.dtype)} (expected one of ${Object.keys(BYTES).join(', ')})`);
    if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new CheckpointError(`tensor '${name}' has invalid shape ${JSON.stringify(spec.shape)}`);
    const off = spec.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isInteger(d) && d >= 0) || off[0] > off[1]) throw new CheckpointError(`tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    if (off[1] > dataLen) throw new CheckpointError(`tensor '${name}' data_offsets [${off[0]}, ${off[1]}] run past the ${dataLen} data bytes (truncated?)`);
    const dtype = spec.dtype as SafetensorsDtype;
    const expected = (spec.shape as number[]).reduce((a, b) => a * b, 1) * BYTES[dtype];
    if (off[1] - off[0] !== expected) throw new CheckpointError(`tensor '${name}' has ${off[1] - off[0]} bytes but shape [${spec.shape}] of ${dtype} needs ${expected}`);
    specs.push({ name, dtype, shape: spec.shape as number[], begin: off[0], end: off[1] });
  }
  const sorted = [...specs].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].begin < sorted[i - 1].end) throw new CheckpointError(`tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
  }
  const tensors: StateDict = new Map();
  for (const s of specs) {
    const slice = bytes.slice(dataStart + s.begin, dataStart + s.end); // copy: aligned, owned
    const [values, dtype] = convert(s.name, s.dtype, slice);
    tensors.set(s.name, tf.tensor(values, s.shape, dtype));
  }
  return { tensors, metadata };
}

function convert(name: string, dtype: SafetensorsDtype, b: Uint8Array): [Float32Array | Int32Array | Uint8Array, tf.DataType] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const count = b.length / BYTES[dtype];
  const f = new Float32Array(dtype.startsWith('F') || dtype === 'BF16' ? count : 0);
  const i32 = new Int32Array(dtype.startsWith('I') || dtype === 'U8' ? count : 0);
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
      for (let i = 0; i < count; i++) {
        const x = v.getBigInt64(8 * i, true);
        if (x > 2147483647n || x < -2147483648n) throw new CheckpointError(`tensor '${name}' has an I64 value ${x} outside int32, which tfjs cannot hold`);
        i32[i] = Number(x);
      }
      return [i32, 'int32'];
    case 'I16': for (let i = 0; i < count; i++) i32[i] = v.getInt16(2 * i, true); return [i32, 'int32'];
    case 'I8': for (let i = 0; i < count; i++) i32[i] = v.getInt8(i); return [i32, 'int32'];
    case 'U8': for (let i = 0; i < count; i++) i32[i] = v.getUint8(i); return [i32, 'int32'];
    case 'BOOL': return [Uint8Array.from(b, (x) => (x ? 1 : 0)), 'bool'];
  }
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

const bigEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 0;
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
 * Reads a safetensors checkpoint from a file path (Node) or bytes (anywhere).
 *
 * @example
 * ```ts
 * import { Linear, loadCheckpoint, saveCheckpoint } from '@dl/core';
 * await saveCheckpoint(new Linear(4, 2), 'linear.safetensors');
 * const { tensors } = await loadCheckpoint('linear.safetensors'); // Map { 'weight' → [2, 4], 'bias' → [2] }
 * ```
 */
export async function loadCheckpoint(source: string | ArrayBuffer | Uint8Array): Promise<Checkpoint> {
  if (typeof source === 'string') {
    const fs = await importAtRuntime<typeof import('node:fs/promises')>('node:fs/promises');
    return decodeSafetensors(await fs.readFile(source));
  }
  return decodeSafetensors(source);
}

/**
 * Loads a safetensors checkpoint into a module (names as PyTorch's `state_dict`), then frees the
 * decoded tensors. `strict` (default true) throws on missing or unexpected names.
 *
 * @example
 * ```ts
 * import { Linear, loadIntoModule, saveCheckpoint } from '@dl/core';
 * await saveCheckpoint(new Linear(4, 2), 'linear.safetensors');
 * const fc = new Linear(4, 2);
 * await loadIntoModule(fc, 'linear.safetensors'); // fc now holds the saved weights
 * ```
 */
export async function loadIntoModule(module: Module, source: string | ArrayBuffer | Uint8Array, options: { strict?: boolean } = {}): Promise<LoadResult> {
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
