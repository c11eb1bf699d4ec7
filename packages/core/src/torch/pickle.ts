// A restricted unpickler for what `torch.save(state_dict)` writes (pickle protocol 2; the framing and
// memo opcodes of protocols 3–5 are read too), and the matching pickler. It never imports, calls or
// constructs anything: the only globals it accepts are collections.OrderedDict, torch's two tensor
// rebuilding functions and the storage types, each interpreted here as data. Any other global is refused
// with its name, as is any opcode outside the list below.
import type { Fail } from './zip.js';

/** A PyTorch storage dtype this package reads: the `torch.<Name>Storage` classes. */
export type TorchStorageType = 'Double' | 'Float' | 'Half' | 'BFloat16' | 'Long' | 'Int' | 'Short' | 'Char' | 'Byte' | 'Bool';

/** Bytes per element of each storage type. */
export const STORAGE_BYTES = new Map<TorchStorageType, number>([
  ['Double', 8], ['Float', 4], ['Half', 2], ['BFloat16', 2], ['Long', 8], ['Int', 4], ['Short', 2], ['Char', 1], ['Byte', 1], ['Bool', 1],
]);

/** A storage named by a persistent id: its data is the record `data/<key>` of the archive. */
export interface StorageRef {
  readonly type: TorchStorageType;
  readonly key: string;
  readonly numel: number;
}

/** What `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` would build. */
export interface TensorRef {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly size: number[];
  readonly stride: number[];
}

/** A Python dict or OrderedDict; `attributes` holds what BUILD set (torch's `_metadata`). */
export class PyDict {
  readonly items = new Map<string | number, PyValue>();
  attributes: PyDict | null = null;
}
/** A Python tuple (a JS array is a list). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
/** One of the accepted globals, by its dotted name. */
export class PyGlobal {
  constructor(readonly name: string) {}
}
/** What `_rebuild_tensor_v2` (or `_rebuild_parameter`) returned: a description, no data yet. */
export class PyTensor {
  constructor(readonly ref: TensorRef) {}
}
/** What a persistent id named: a storage, read later from its record. */
class PyStorage {
  constructor(readonly ref: StorageRef) {}
}

export type PyValue = null | boolean | number | bigint | string | PyValue[] | PyTuple | PyDict | PyGlobal | PyTensor | PyStorage;

const ORDERED_DICT = 'collections.OrderedDict';
const REBUILD_TENSOR = 'torch._utils._rebuild_tensor_v2';
const REBUILD_PARAMETER = 'torch._utils._rebuild_parameter';
const ALLOWED = [ORDERED_DICT, REBUILD_TENSOR, REBUILD_PARAMETER, ...[...STORAGE_BYTES.keys()].map((t) => `torch.${t}Storage`)];

/** A short English name for a Python value's type, for error messages. */
export function typeName(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return 'a bool';
  if (typeof v === 'number' || typeof v === 'bigint') return Number.isInteger(v) || typeof v === 'bigint' ? 'an int' : 'a float';
  if (typeof v === 'string') return 'a str';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof PyGlobal) return `the global ${v.name}`;
  if (v instanceof PyTensor) return 'a tensor';
  return 'a storage';
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Interprets a pickle. `fail` receives every problem (with the byte position); `what` names the stream in
 * messages (e.g. `archive/data.pkl`).
 */
export function unpickle(bytes: Uint8Array, what: string, fail: Fail): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: PyValue[] = [];
  // MARK pushes nothing: `marks` holds the stack heights where marks were set.
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  const storages = new Map<string, StorageRef>();
  let pos = 0;
  let opAt = 0;
  let op = 0;
  const opName = () => `opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : ''} at byte ${opAt} of ${what}`;
  const bad = (problem: string): never => fail(`${problem} (${opName()})`);
  const need = (n: number) => {
    if (pos + n > bytes.length) fail(`a pickle that ends inside ${opName()} (truncated?)`);
    pos += n;
    return pos - n;
  };
  const pop = (): PyValue => {
    if (!stack.length) bad('a value expected on an empty stack');
    if (marks.length && stack.length <= marks[marks.length - 1]) bad('a value expected, a mark found');
    return stack.pop()!;
  };
  const top = (): PyValue => {
    if (!stack.length || (marks.length && stack.length <= marks[marks.length - 1])) bad('a value expected on the stack');
    return stack[stack.length - 1];
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) bad('no mark on the stack');
    return stack.splice(m!);
  };
  const text = (n: number, decoder: TextDecoder) => {
    const at = need(n);
    try {
      return decoder.decode(bytes.subarray(at, at + n));
    } catch {
      return bad('a string that is not UTF-8');
    }
  };
  const setItem = (dict: PyValue, key: PyValue, value: PyValue) => {
    if (!(dict instanceof PyDict)) bad(`SETITEM on ${typeName(dict)}, not a dict`);
    let k: string | number;
    if (typeof key === 'string') k = key;
    else if (typeof key === 'number' && Number.isInteger(key)) k = key;
    else return bad(`a dict key of type ${typeName(key)} (only str and int keys are read)`);
    (dict as PyDict).items.set(k, value);
  };
  const int = (v: PyValue, field: string): number => {
    if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
    return bad(`${field} must be an int, got ${typeName(v)}${typeof v === 'bigint' ? ` ${v}` : ''}`);
  };
  const ints = (v: PyValue, field: string): number[] => {
    if (!(v instanceof PyTuple)) return bad(`${field} must be a tuple, got ${typeName(v)}`);
    return v.items.map((x, i) => int(x, `${field}[${i}]`));
  };
  const emptyHooks = (v: PyValue) => {
    if (!(v instanceof PyDict) || v.items.size) bad('backward_hooks must be an empty OrderedDict (hooks are code, not weights)');
  };
  const call = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) return bad(`REDUCE calls ${typeName(fn)}, not one of the accepted globals`);
    if (!(args instanceof PyTuple)) return bad(`REDUCE's arguments are ${typeName(args)}, not a tuple`);
    const a = args.items;
    if (fn.name === ORDERED_DICT) {
      if (a.length) bad('OrderedDict called with arguments (torch pickles it as OrderedDict() plus SETITEMS)');
      return new PyDict();
    }
    if (fn.name === REBUILD_TENSOR) {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.length !== 6 && a.length !== 7) bad(`_rebuild_tensor_v2 takes 6 or 7 arguments, got ${a.length}`);
      if (!(a[0] instanceof PyStorage)) return bad(`_rebuild_tensor_v2's storage is ${typeName(a[0])}`);
      const size = ints(a[2], 'size');
      const stride = ints(a[3], 'stride');
      if (stride.length !== size.length) bad(`size (${size.length} dims) and stride (${stride.length}) differ in length`);
      if (typeof a[4] !== 'boolean') bad(`requires_grad must be a bool, got ${typeName(a[4])}`);
      emptyHooks(a[5]);
      if (a.length === 7 && !(a[6] instanceof PyDict && a[6].items.size === 0) && a[6] !== null) bad('tensor metadata (a tensor subclass\'s state) is not read');
      return new PyTensor({ storage: a[0].ref, offset: int(a[1], 'storage_offset'), size, stride });
    }
    if (fn.name === REBUILD_PARAMETER) {
      // (data, requires_grad, backward_hooks): an nn.Parameter is its tensor here.
      if (a.length !== 3 || !(a[0] instanceof PyTensor)) return bad('_rebuild_parameter takes (tensor, requires_grad, backward_hooks)');
      emptyHooks(a[2]);
      return a[0];
    }
    return bad(`${fn.name} is a type, not something to call`);
  };

  while (true) {
    opAt = pos;
    op = bytes[need(1)];
    switch (op) {
      case 0x80: { // PROTO
        const p = bytes[need(1)];
        if (p > 5) bad(`pickle protocol ${p} (at most 5 exists)`);
        break;
      }
      case 0x95: need(8); break; // FRAME: a length hint only
      case 0x2e: { // STOP
        if (marks.length) bad('STOP with a mark still open');
        if (stack.length !== 1) bad(`STOP with ${stack.length} values on the stack, not 1`);
        if (pos !== bytes.length) fail(`${bytes.length - pos} bytes after STOP at byte ${opAt} of ${what}`);
        return stack[0];
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x31: popMark(); break; // POP_MARK
      case 0x30: pop(); break; // POP
      case 0x32: stack.push(top()); break; // DUP
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(new PyTuple(items)); break; } // TUPLE
      case 0x85: case 0x86: case 0x87: { // TUPLE1, TUPLE2, TUPLE3
        const items: PyValue[] = [];
        for (let i = 0; i < op - 0x84; i++) items.unshift(pop());
        stack.push(new PyTuple(items));
        break;
      }
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x61: { const v = pop(); const l = top(); if (!Array.isArray(l)) bad(`APPEND to ${typeName(l)}`); (l as PyValue[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); if (!Array.isArray(l)) bad(`APPENDS to ${typeName(l)}`); for (const v of items) (l as PyValue[]).push(v); break; } // APPENDS
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        if (items.length % 2) bad('DICT with an odd number of items');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2) bad('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const line = () => {
          const end = bytes.indexOf(0x0a, pos);
          if (end < 0) return fail(`a pickle that ends inside ${opName()} (truncated?)`);
          const s = latin1.decode(bytes.subarray(pos, end));
          pos = end + 1;
          return s;
        };
        const module = line();
        stack.push(global(`${module}.${line()}`));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad('STACK_GLOBAL needs two strings');
        stack.push(global(`${module as string}.${name as string}`));
        break;
      }
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      case 0x62: { // BUILD: an OrderedDict's __dict__ (torch's `_metadata`), nothing else
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) bad(`BUILD on ${typeName(obj)} (only a dict's attributes are read)`);
        if (!(state instanceof PyDict)) bad(`BUILD with ${typeName(state)} as state (a dict of attributes expected)`);
        (obj as PyDict).attributes = state as PyDict;
        break;
      }
      case 0x51: { // BINPERSID: ('storage', torch.<T>Storage, key, location, numel)
        const id = pop();
        const a = id instanceof PyTuple ? id.items : [];
        if (a.length !== 5 || a[0] !== 'storage') bad(`a persistent id other than ('storage', type, key, location, numel): ${typeName(id)} of ${a.length} items`);
        const type = a[1] instanceof PyGlobal && /^torch\.(\w+)Storage$/.exec(a[1].name)?.[1];
        if (!type || !STORAGE_BYTES.has(type as TorchStorageType)) bad(`a storage type that is ${typeName(a[1])}`);
        if (typeof a[2] !== 'string' || !/^\w+$/.test(a[2])) bad('a storage key that is not a plain string');
        if (typeof a[3] !== 'string') bad(`a storage location that is ${typeName(a[3])}, not a str`);
        const numel = int(a[4], 'the storage size');
        if (numel < 0) bad(`a storage of ${numel} elements`);
        const key = a[2] as string;
        const seen = storages.get(key);
        if (seen && (seen.type !== type || seen.numel !== numel)) bad(`storage '${key}' named as ${seen.type}[${seen.numel}] and as ${type}[${numel}]`);
        const ref = seen ?? { type: type as TorchStorageType, key, numel };
        storages.set(key, ref);
        stack.push(new PyStorage(ref));
        break;
      }
      case 0x71: memo.set(bytes[need(1)], top()); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const i = op === 0x68 ? bytes[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(i)) bad(`memo entry ${i} was never stored`);
        stack.push(memo.get(i)!);
        break;
      }
      case 0x58: stack.push(text(view.getUint32(need(4), true), utf8)); break; // BINUNICODE
      case 0x8c: stack.push(text(bytes[need(1)], utf8)); break; // SHORT_BINUNICODE
      case 0x8d: { // BINUNICODE8
        const n = view.getBigUint64(need(8), true);
        if (n > BigInt(bytes.length)) fail(`a pickle that ends inside ${opName()} (truncated?)`);
        stack.push(text(Number(n), utf8));
        break;
      }
      case 0x54: stack.push(text(view.getInt32(need(4), true) >>> 0, latin1)); break; // BINSTRING (Python 2 str)
      case 0x55: stack.push(text(bytes[need(1)], latin1)); break; // SHORT_BINSTRING
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x4b: stack.push(bytes[need(1)]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x8a: case 0x8b: { // LONG1, LONG4: little-endian two's complement
        const n = op === 0x8a ? bytes[need(1)] : view.getInt32(need(4), true);
        if (n < 0 || n > 64) bad(`an integer of ${n} bytes (at most 64 are read)`);
        const at = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
        if (n && bytes[at + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT (big-endian)
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4e: stack.push(null); break; // NONE
      default:
        bad('an opcode that a state_dict never needs (or not a pickle)');
    }
  }

  function global(name: string): PyGlobal {
    if (!ALLOWED.includes(name)) {
      return fail(`global '${name}' at byte ${opAt} of ${what}; only ${ORDERED_DICT}, ${REBUILD_TENSOR}, ${REBUILD_PARAMETER} and torch.<Type>Storage are accepted, and nothing is ever imported or run (save a state_dict: torch.save(model.state_dict(), path), not the model itself)`);
    }
    return new PyGlobal(name);
  }
}

/**
 * A tensor for {@link pickleStateDict}: a view of the storage in record `data/<key>`. The encoder writes
 * contiguous tensors on their own storages; the tests also write strided views and shared storages.
 */
export interface PickledTensor {
  name: string;
  type: TorchStorageType;
  key: string;
  shape: number[];
  /** Row-major (contiguous) unless given. */
  stride?: number[];
  /** 0 unless given. */
  offset?: number;
  /** The storage's element count: product(shape) unless given. */
  storageNumel?: number;
}

/**
 * The pickle `torch.save(OrderedDict(...))` writes: protocol 2, for each tensor
 * `_rebuild_tensor_v2(storage, offset, shape, stride, False, OrderedDict())`.
 */
export function pickleStateDict(tensors: PickledTensor[]): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  const op = (...b: number[]) => out.push(...b);
  const ascii = (s: string) => {
    for (const x of enc.encode(s)) out.push(x);
  };
  const str = (s: string) => {
    const b = enc.encode(s);
    op(0x58, b.length & 0xff, (b.length >>> 8) & 0xff, (b.length >>> 16) & 0xff, b.length >>> 24); // BINUNICODE
    for (const x of b) out.push(x);
  };
  const int = (n: number) => {
    if (n < 256) op(0x4b, n); // BININT1
    else if (n < 65536) op(0x4d, n & 0xff, n >>> 8); // BININT2
    else op(0x4a, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24); // BININT (tfjs sizes fit int32)
  };
  const tuple = (xs: number[]) => {
    if (!xs.length) return op(0x29); // EMPTY_TUPLE
    op(0x28); // MARK
    xs.forEach(int);
    op(0x74); // TUPLE
  };
  const orderedDict = () => {
    ascii('ccollections\nOrderedDict\n');
    op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
  };
  op(0x80, 2); // PROTO 2
  orderedDict();
  if (tensors.length) {
    op(0x28); // MARK
    for (const t of tensors) {
      str(t.name);
      ascii('ctorch._utils\n_rebuild_tensor_v2\n');
      op(0x28, 0x28); // MARK (arguments), MARK (persistent id)
      str('storage');
      ascii(`ctorch\n${t.type}Storage\n`);
      str(t.key);
      str('cpu');
      int(t.storageNumel ?? t.shape.reduce((a, b) => a * b, 1));
      op(0x74, 0x51); // TUPLE, BINPERSID
      int(t.offset ?? 0);
      tuple(t.shape);
      tuple(t.stride ?? t.shape.map((_, i) => t.shape.slice(i + 1).reduce((a, b) => a * b, 1)));
      op(0x89); // requires_grad = False
      orderedDict(); // backward_hooks
      op(0x74, 0x52); // TUPLE, REDUCE
    }
    op(0x75); // SETITEMS
  }
  op(0x2e); // STOP
  return Uint8Array.from(out);
}
