import * as tf from '@tensorflow/tfjs-core';
import { bigEndianHost, halfToFloat } from '../checkpoint.js';
import { asIs, checkKeys, DLArgumentError } from '../errors.js';
import { importAtRuntime } from '../runtime-import.js';
import { isTensor } from '../tensor-check.js';
import type { Module, StateDict } from '../module.js';
import { compressedEntry, readZip, writeZip, type Fail } from './zip.js';
import { PyDict, PyTensor, STORAGE_BYTES, pickleStateDict, typeName, unpickle, type PickledTensor, type PyValue, type TensorRef, type TorchStorageType } from './pickle.js';

/** Options of {@link decodeTorchStateDict} and {@link loadTorchCheckpoint}. */
export interface DecodeTorchOptions {
  /**
   * What to do with entries that are not tensors, such as the `epoch` of a training checkpoint
   * `{ model: state_dict, epoch: 3 }`: `'error'` (the default) throws naming the entry, `'skip'` leaves
   * them out.
   */
  nonTensors?: 'error' | 'skip';
}

/** Options of {@link encodeTorchStateDict} and {@link saveTorchCheckpoint}. */
export interface EncodeTorchOptions {
  /**
   * The archive's top folder (default `'archive'`, as PyTorch ≥ 2 writes; 1.x used the file's name).
   * `torch.load` accepts any.
   */
  archiveName?: string;
}

const DECODE_KEYS = ['nonTensors'] as const;
const ENCODE_KEYS = ['archiveName'] as const;
/** tfjs keeps sizes in int32. */
const MAX_ELEMENTS = 2 ** 31 - 1;
/** Deeper dict nesting than any checkpoint has is a malformed (or hostile) pickle. */
const MAX_DEPTH = 32;
const ARCHIVE_EXPECTED = 'a torch.save zip archive (PyTorch ≥ 1.6)';
const PICKLE_EXPECTED = 'a pickled state_dict (dicts of tensors)';

/**
 * Reads a file written by PyTorch's `torch.save(model.state_dict(), path)`: the zip archive PyTorch ≥ 1.6
 * writes by default (`<name>/data.pkl`, `<name>/data/<key>`, `<name>/version`, `<name>/byteorder`).
 *
 * The pickle in `data.pkl` is interpreted by a restricted reader that never runs code: it accepts only
 * `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and
 * the storage types (`torch.FloatStorage`, `DoubleStorage`, `HalfStorage`, `BFloat16Storage`,
 * `LongStorage`, `IntStorage`, `ShortStorage`, `CharStorage`, `ByteStorage`, `BoolStorage`), and throws
 * naming any other global (a pickle can otherwise run arbitrary code, which is why `torch.load` has
 * `weights_only=True`). Views are read as they are: strides (a transposed or sliced tensor), storage
 * offsets, and tensors sharing one storage (a tied `lm_head.weight`) each become their own contiguous
 * tensor. Nested dicts are flattened with dots (`{ model: { fc: { weight } } }` → `model.fc.weight`).
 *
 * dtypes: float64, float16 and bfloat16 become float32; int64, int16, int8 and uint8 int32 (an int64
 * value outside int32 throws, as tfjs has no int64); bool stays bool. Files must be little-endian (the
 * `byteorder` record, when present, says so). Entries must be stored, not compressed, as torch.save
 * writes them; each entry's CRC-32 is checked.
 *
 * Everything is checked and converted before any tensor is made, so a bad file throws a
 * {@link DLArgumentError} naming the problem and leaves nothing allocated. The legacy formats (PyTorch
 * < 1.6, or `_use_new_zipfile_serialization=False`) and TorchScript archives are rejected with a message
 * saying so.
 *
 * @param data the file's bytes (any `ArrayBufferView` or `ArrayBuffer`; read a Blob first, or use
 *   {@link loadTorchCheckpoint}).
 * @returns the tensors by name, in the file's order (the caller disposes them).
 *
 * @example
 * ```ts
 * import { Linear, decodeTorchStateDict, encodeTorchStateDict } from '@dl/core';
 * // Python: torch.save(model.state_dict(), 'model.pt'); here the bytes come from our own writer.
 * const bytes = await encodeTorchStateDict(new Linear(4, 2).stateDict());
 * const tensors = decodeTorchStateDict(bytes); // Map { 'weight' → [2, 4], 'bias' → [2] }
 * const fc = new Linear(4, 2);
 * fc.loadStateDict(tensors);
 * for (const t of tensors.values()) t.dispose();
 * decodeTorchStateDict(new Uint8Array(64)); // throws "decodeTorchStateDict: data must be a torch.save zip archive …"
 * ```
 */
export function decodeTorchStateDict(data: ArrayBuffer | ArrayBufferView, options: DecodeTorchOptions = {}): StateDict {
  const where = 'decodeTorchStateDict';
  checkKeys(where, options, DECODE_KEYS);
  const nonTensors = options.nonTensors ?? 'error';
  if (nonTensors !== 'error' && nonTensors !== 'skip') throw new DLArgumentError(where, 'options.nonTensors', "'error' or 'skip'", nonTensors);
  const bytes = asBytes(where, data);
  const archiveFail: Fail = (problem) => {
    throw new DLArgumentError(where, 'data', ARCHIVE_EXPECTED, asIs(problem));
  };
  const pickleFail: Fail = (problem) => {
    throw new DLArgumentError(where, 'data', PICKLE_EXPECTED, asIs(problem));
  };

  const compressed = new Map<string, number>();
  const records = readZip(bytes, archiveFail, compressed);
  const names = [...records.keys(), ...compressed.keys()];
  /** A record's bytes (undefined if absent); a compressed one is refused here, once it is known to be needed. */
  const record = (name: string): Uint8Array | undefined => {
    if (compressed.has(name)) archiveFail(compressedEntry(name, compressed.get(name)!));
    return records.get(name);
  };
  const pkls = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    const listed = `${names.slice(0, 5).map((n) => JSON.stringify(n)).join(', ')}${names.length > 5 ? ', …' : ''}`;
    archiveFail(pkls.length ? `${pkls.length} data.pkl records (${pkls.join(', ')})` : `a zip archive without <name>/data.pkl (records: ${listed || 'none'})`);
  }
  const prefix = pkls[0].slice(0, -'data.pkl'.length);
  if (names.some((n) => n === `${prefix}constants.pkl` || n.startsWith(`${prefix}code/`))) archiveFail('a TorchScript archive (torch.jit.save); save the model\'s state_dict with torch.save instead');
  const order = record(`${prefix}byteorder`);
  if (order !== undefined) {
    const text = new TextDecoder().decode(order).trim();
    if (text !== 'little') archiveFail(`byteorder ${JSON.stringify(text)}; only little-endian files are read (load and re-save on a little-endian machine)`);
  }
  const version = record(`${prefix}version`);
  if (version !== undefined && !/^\d+\s*$/.test(new TextDecoder().decode(version))) archiveFail(`a version record ${JSON.stringify(new TextDecoder().decode(version.subarray(0, 16)))}, not a number`);

  const root = unpickle(record(pkls[0])!, pkls[0], pickleFail);
  if (!(root instanceof PyDict)) pickleFail(`${typeName(root)} at the top, not a dict of tensors`);
  const tensors = new Map<string, TensorRef>();
  flatten(root as PyDict, '', 0, new Set(), tensors, nonTensors, pickleFail);

  // Convert every tensor on the host first: a bad last tensor must not leave the first ones allocated.
  const storageBytes = new Map<string, Uint8Array>();
  const converted = [...tensors].map(([name, ref]) => {
    const { type, key, numel } = ref.storage;
    let raw = storageBytes.get(key);
    if (raw === undefined) {
      raw = record(`${prefix}data/${key}`);
      if (raw === undefined) archiveFail(`no record ${prefix}data/${key} for the storage of tensor ${JSON.stringify(name)}`);
      const want = numel * STORAGE_BYTES.get(type)!;
      if (raw!.length !== want) archiveFail(`record ${prefix}data/${key} has ${raw!.length} bytes but its ${type}Storage of ${numel} elements needs ${want}`);
      storageBytes.set(key, raw!);
    }
    return { name, shape: ref.size, ...gather(name, ref, raw!, pickleFail) };
  });
  const out: StateDict = new Map();
  try {
    for (const c of converted) out.set(c.name, tf.tensor(c.values, c.shape, c.dtype));
  } catch (e) {
    for (const t of out.values()) t.dispose();
    throw e;
  }
  return out;
}

/** Collects the tensors of `dict` (nested dicts joined with dots) into `out`. */
function flatten(dict: PyDict, prefix: string, depth: number, open: Set<PyDict>, out: Map<string, TensorRef>, nonTensors: 'error' | 'skip', fail: Fail): void {
  if (depth > MAX_DEPTH) fail(`dicts nested more than ${MAX_DEPTH} deep at ${JSON.stringify(prefix)}`);
  if (open.has(dict)) fail(`a dict that contains itself at ${JSON.stringify(prefix)}`);
  open.add(dict);
  for (const [k, v] of dict.items) {
    const name = prefix ? `${prefix}.${k}` : String(k);
    if (v instanceof PyTensor) {
      if (out.has(name)) fail(`two entries named ${JSON.stringify(name)} once nested dicts are joined with dots`);
      out.set(name, v.ref);
    } else if (v instanceof PyDict) {
      flatten(v, name, depth + 1, open, out, nonTensors, fail);
    } else if (nonTensors === 'error') {
      fail(`entry ${JSON.stringify(name)} is ${typeName(v)}, not a tensor (pass { nonTensors: 'skip' } to leave such entries out)`);
    }
  }
  open.delete(dict);
}

type Converted = { values: Float32Array | Int32Array | Uint8Array; dtype: 'float32' | 'int32' | 'bool' };

/** The tensor's elements in row-major order, read through its strides and converted for tfjs. */
function gather(name: string, ref: TensorRef, raw: Uint8Array, fail: Fail): Converted {
  const { size, stride, offset, storage } = ref;
  const quoted = JSON.stringify(name);
  if (size.some((d) => d < 0) || stride.some((s) => s < 0) || offset < 0) fail(`tensor ${quoted} has size [${size}], stride [${stride}], offset ${offset}: negative values`);
  const numel = size.reduce((a, b) => a * b, 1);
  if (numel > MAX_ELEMENTS || size.some((d) => d > MAX_ELEMENTS)) fail(`tensor ${quoted} has ${numel} elements, more than tfjs holds (2³¹ − 1)`);
  if (numel > 0) {
    const last = offset + size.reduce((s, d, i) => s + (d - 1) * stride[i], 0);
    if (last >= storage.numel) fail(`tensor ${quoted} (size [${size}], stride [${stride}], offset ${offset}) reaches element ${last} of a storage of ${storage.numel}`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const type = storage.type;
  const float = type === 'Double' || type === 'Float' || type === 'Half' || type === 'BFloat16';
  let values: Float32Array | Uint8Array | Int32Array;
  try {
    values = float ? new Float32Array(numel) : type === 'Bool' ? new Uint8Array(numel) : new Int32Array(numel);
  } catch (e) {
    // A stride-0 view of a tiny storage can claim 2³¹ − 1 elements: the host may not have the memory.
    return fail(`tensor ${quoted} of ${numel} elements cannot be allocated (${(e as Error).message})`);
  }
  const read = reader(type, view, (x) => fail(`tensor ${quoted} has the ${type} value ${x}, outside int32 (tfjs has no int64)`));
  // Walk the elements in row-major order with an odometer over the dimensions.
  const contiguous = size.every((d, i) => d === 1 || stride[i] === size.slice(i + 1).reduce((a, b) => a * b, 1));
  if (contiguous && type === 'Float' && !bigEndianHost) {
    // A copy, so that the floats are 4-byte aligned (a Node Buffer's slice would share and misalign).
    values.set(new Float32Array(new Uint8Array(raw.subarray(4 * offset, 4 * (offset + numel))).buffer));
  } else if (contiguous) {
    for (let i = 0; i < numel; i++) values[i] = read(offset + i);
  } else if (numel > 0) {
    const index = new Array<number>(size.length).fill(0);
    let at = offset;
    for (let i = 0; i < numel; i++) {
      values[i] = read(at);
      for (let d = size.length - 1; d >= 0; d--) {
        if (++index[d] < size[d]) {
          at += stride[d];
          break;
        }
        at -= (size[d] - 1) * stride[d];
        index[d] = 0;
      }
    }
  }
  return { values, dtype: float ? 'float32' : type === 'Bool' ? 'bool' : 'int32' };
}

/** Reads element i of a little-endian storage as a number tfjs can hold. */
function reader(type: TorchStorageType, v: DataView, outside: (x: bigint) => never): (i: number) => number {
  switch (type) {
    case 'Double': return (i) => v.getFloat64(8 * i, true);
    case 'Float': return (i) => v.getFloat32(4 * i, true);
    case 'Half': return (i) => halfToFloat(v.getUint16(2 * i, true));
    case 'BFloat16': {
      const scratch = new DataView(new ArrayBuffer(4));
      return (i) => {
        scratch.setUint32(0, v.getUint16(2 * i, true) << 16);
        return scratch.getFloat32(0);
      };
    }
    case 'Long': return (i) => {
      const x = v.getBigInt64(8 * i, true);
      if (x > 2147483647n || x < -2147483648n) outside(x);
      return Number(x);
    };
    case 'Int': return (i) => v.getInt32(4 * i, true);
    case 'Short': return (i) => v.getInt16(2 * i, true);
    case 'Char': return (i) => v.getInt8(i);
    case 'Byte': return (i) => v.getUint8(i);
    case 'Bool': return (i) => (v.getUint8(i) ? 1 : 0);
  }
}


/**
 * Writes tensors as `torch.save` does (the zip format of PyTorch ≥ 1.6, pickle protocol 2), so that
 * `torch.load(path)` returns an `OrderedDict` of tensors with the same names, shapes and values, ready for
 * `model.load_state_dict(...)`. float32 → `torch.float32`, int32 → `torch.int32`, bool → `torch.bool`;
 * PyTorch keeps some buffers as int64 (BatchNorm's `num_batches_tracked`), and `load_state_dict` copies an
 * int32 tensor into them. Each tensor gets its own storage; records are stored uncompressed, 64-byte
 * aligned, with a fixed date, so the same tensors always give the same bytes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Linear, encodeTorchStateDict } from '@dl/core';
 * const bytes = await encodeTorchStateDict(new Linear(4, 2).stateDict());
 * // Python: model.load_state_dict(torch.load('linear.pt'))
 * const more = await encodeTorchStateDict({ step: tf.scalar(100, 'int32') }, { archiveName: 'checkpoint' });
 * ```
 */
export async function encodeTorchStateDict(tensors: StateDict | Record<string, tf.Tensor>, options: EncodeTorchOptions = {}): Promise<Uint8Array> {
  const where = 'encodeTorchStateDict';
  checkKeys(where, options, ENCODE_KEYS);
  const archive = options.archiveName ?? 'archive';
  if (typeof archive !== 'string' || !/^[^/\\\n]+$/.test(archive) || archive === '.' || archive === '..') {
    throw new DLArgumentError(where, 'options.archiveName', 'a non-empty name without slashes or newlines', archive);
  }
  if (tensors === null || typeof tensors !== 'object' || Array.isArray(tensors) || isTensor(tensors, where, 'tensors')) throw new DLArgumentError(where, 'tensors', 'a Map or an object of tensors', describeInput(tensors));
  const entries = [...(tensors instanceof Map ? tensors : Object.entries(tensors))] as [unknown, unknown][];
  const types = new Map<string, TorchStorageType>([['float32', 'Float'], ['int32', 'Int'], ['bool', 'Bool']]);
  for (const [name, t] of entries) {
    if (typeof name !== 'string') throw new DLArgumentError(where, 'tensors', 'keyed by strings', asIs(`a key of type ${typeof name}`));
    if (!isTensor(t, where, `tensor '${name}'`)) throw new DLArgumentError(where, `tensor '${name}'`, 'a tf.Tensor', describeInput(t));
    if (t.isDisposed) throw new DLArgumentError(where, `tensor '${name}'`, 'a live tensor', asIs('a disposed tensor'));
    if (!types.has(t.dtype)) throw new DLArgumentError(where, `tensor '${name}'`, 'float32, int32 or bool', asIs(t.dtype));
  }
  const pickled: PickledTensor[] = [];
  const records: [string, Uint8Array][] = [];
  for (const [i, [name, t]] of (entries as [string, tf.Tensor][]).entries()) {
    const values = await t.data();
    const bytes = t.dtype === 'bool' ? Uint8Array.from(values as Uint8Array, (x) => (x ? 1 : 0)) : littleEndian(values as Float32Array | Int32Array);
    pickled.push({ name, type: types.get(t.dtype)!, key: String(i), shape: t.shape });
    records.push([`${archive}/data/${i}`, bytes]);
  }
  const enc = new TextEncoder();
  return writeZip(
    [[`${archive}/data.pkl`, pickleStateDict(pickled)], [`${archive}/byteorder`, enc.encode('little')], ...records, [`${archive}/version`, enc.encode('3\n')]],
    (problem) => {
      throw new DLArgumentError(where, 'tensors', 'at most 4 GiB and 65535 tensors in all (the zip written here has no zip64)', asIs(problem));
    },
  );
}

/** The bytes of `data` as a Uint8Array view (no copy), or a DLArgumentError saying what to pass. */
function asBytes(where: string, data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)) return new Uint8Array(data);
  if (typeof Blob !== 'undefined' && data instanceof Blob) {
    throw new DLArgumentError(where, 'data', 'bytes (read a Blob first: new Uint8Array(await blob.arrayBuffer()), or use loadTorchCheckpoint)', asIs('a Blob'));
  }
  throw new DLArgumentError(where, 'data', 'a Uint8Array, ArrayBuffer or other ArrayBufferView', describeInput(data));
}

function describeInput(x: unknown): unknown {
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return x;
  const name = (x as object).constructor?.name;
  return asIs(name && name !== 'Object' ? `a ${name}` : `an object with keys [${Object.keys(x as object).join(', ')}]`);
}

/** The values' bytes, little-endian: a view (no copy) on little-endian hosts, since they are only read. */
function littleEndian(a: Float32Array | Int32Array): Uint8Array {
  const out = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (!bigEndianHost) return out;
  const copy = new Uint8Array(out); // the backend may hand out its own array: never reorder that in place
  for (let i = 0; i < copy.length; i += 4) copy.subarray(i, i + 4).reverse();
  return copy;
}

/**
 * Saves a module's `stateDict()` (or any tensor map) in PyTorch's `torch.save` format (see
 * {@link encodeTorchStateDict}) to a file (Node) or returns the bytes (pass no path, e.g. in a browser,
 * then offer them as a download).
 *
 * @example
 * ```ts
 * import { Linear, saveTorchCheckpoint } from '@dl/core';
 * await saveTorchCheckpoint(new Linear(4, 2), 'linear.pt'); // Python: model.load_state_dict(torch.load('linear.pt'))
 * ```
 */
export async function saveTorchCheckpoint(source: Module | StateDict | Record<string, tf.Tensor>, path?: string, options: EncodeTorchOptions = {}): Promise<Uint8Array> {
  if (path !== undefined && typeof path !== 'string') throw new DLArgumentError('saveTorchCheckpoint', 'path', 'a file path string', path);
  const isModule = typeof source === 'object' && source !== null && typeof (source as Module).stateDict === 'function';
  const bytes = await encodeTorchStateDict(isModule ? (source as Module).stateDict() : (source as StateDict), options);
  if (path !== undefined) {
    const fs = await importAtRuntime<typeof import('node:fs/promises')>('node:fs/promises');
    await fs.writeFile(path, bytes);
  }
  return bytes;
}

/**
 * Reads a `torch.save` file from a path (Node), a Blob (a browser's file input, or
 * `await fetch(url).then((r) => r.blob())`) or bytes, as {@link decodeTorchStateDict} describes.
 *
 * @example
 * ```ts
 * import { Linear, loadTorchCheckpoint, saveTorchCheckpoint } from '@dl/core';
 * await saveTorchCheckpoint(new Linear(4, 2), 'linear.pt'); // or Python: torch.save(model.state_dict(), 'linear.pt')
 * const tensors = await loadTorchCheckpoint('linear.pt'); // Map { 'weight' → [2, 4], 'bias' → [2] }
 * for (const t of tensors.values()) t.dispose();
 * ```
 */
export async function loadTorchCheckpoint(source: string | Blob | ArrayBuffer | ArrayBufferView, options: DecodeTorchOptions = {}): Promise<StateDict> {
  checkKeys('loadTorchCheckpoint', options, DECODE_KEYS);
  if (typeof source === 'string') {
    const fs = await importAtRuntime<typeof import('node:fs/promises')>('node:fs/promises');
    return decodeTorchStateDict(await fs.readFile(source), options);
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) return decodeTorchStateDict(await source.arrayBuffer(), options);
  if (!(source instanceof ArrayBuffer) && !ArrayBuffer.isView(source) && !(typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer)) {
    throw new DLArgumentError('loadTorchCheckpoint', 'source', 'a file path, a Blob, a Uint8Array, ArrayBuffer or other ArrayBufferView', describeInput(source));
  }
  return decodeTorchStateDict(source as ArrayBuffer | ArrayBufferView, options);
}
