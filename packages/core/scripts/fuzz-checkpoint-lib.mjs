// Differential fuzzing of @dl/core's safetensors reader, shared by test/checkpoint-fuzz.test.ts (a bounded
// run from a fixed seed on every backend) and scripts/fuzz-checkpoint.mjs (any seed, any number of runs).
//
// Each run takes a valid file, applies one to three random mutations (bit flips, random or JSON-ish bytes in
// the header, digit changes in shapes and offsets, inserted/deleted/appended bytes, truncation, a changed
// header length, a swapped dtype or name, new data bytes) and decodes the result twice: with the library
// and with the independent reference reader below, written separately from the format's rules (its own
// JSON parser, typed-array conversions). The verdicts must agree: the file is rejected with a
// CheckpointError by the library exactly when the reference finds it invalid, and otherwise the library's
// tensors (names, dtypes, shapes, every value bit for bit) and metadata equal the reference's. Any other
// exception, a tensor left allocated, or a decode slower than a second is a failure.
//
// Everything is deterministic: run i of seed s draws from its own generator seeded with (s, i), so one
// run can be replayed alone.

/** mulberry32: a tiny 32-bit generator (independent of @dl/core's Rng). */
export function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
  };
}

// ---------------------------------------------------------------------------------------------------
// A small writer for the seed files (valid by construction).

const SIZES = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };

/** entries: [name, dtype, shape, bytes][] → a safetensors file, data in entry order, 8-aligned header. */
export function writeFile(entries, metadata) {
  const header = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, dtype, shape, bytes] of entries) {
    header[name] = { dtype, shape, data_offsets: [off, off + bytes.length] };
    off += bytes.length;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const pad = (8 - ((8 + json.length) % 8)) % 8;
  const head = new Uint8Array(json.length + pad).fill(0x20);
  head.set(json);
  json = head;
  const out = new Uint8Array(8 + json.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, , , bytes] of entries) {
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

function randomBytes(rng, n) {
  return Uint8Array.from({ length: n }, () => rng.int(256));
}

/** Valid files covering every dtype, zero-size tensors sharing offsets, metadata and odd names. */
export function builtinSeeds() {
  const rng = generator(12345);
  const ints = (dtype, values) => {
    const T = { I64: BigInt64Array, U64: BigUint64Array, I32: Int32Array, U32: Uint32Array, I16: Int16Array, U16: Uint16Array, I8: Int8Array, U8: Uint8Array }[dtype];
    return new Uint8Array(new T(dtype.endsWith('64') ? values.map(BigInt) : values).buffer);
  };
  const f32 = (values) => new Uint8Array(new Float32Array(values).buffer);
  return [
    writeFile([
      ['w', 'F32', [2, 3], f32([1, -2.5, 3e-8, 0, -0, 7])],
      ['empty', 'F32', [0, 4], new Uint8Array(0)],
      ['d', 'F64', [2], new Uint8Array(new Float64Array([1.25, -1e300]).buffer)],
      ['h', 'F16', [3], randomBytes(rng, 6)],
      ['b', 'BF16', [2, 2], randomBytes(rng, 8)],
      ['nothing', 'I32', [3, 0, 2], new Uint8Array(0)],
    ], { format: 'pt', note: 'seed' }),
    writeFile([
      ['i64', 'I64', [3], ints('I64', [1, -2, 2147483647])],
      ['u64', 'U64', [1], ints('U64', [7])],
      ['i32', 'I32', [2], ints('I32', [-2147483648, 5])],
      ['u32', 'U32', [2], ints('U32', [0, 2147483647])],
      ['i16', 'I16', [2], ints('I16', [-32768, 32767])],
      ['u16', 'U16', [1], ints('U16', [65535])],
      ['i8', 'I8', [2], ints('I8', [-128, 127])],
      ['u8', 'U8', [3], ints('U8', [0, 1, 255])],
      ['flags', 'BOOL', [4], Uint8Array.from([0, 1, 1, 0])],
      ['scalar', 'F32', [], f32([42])],
    ]),
    writeFile([['naïve ✓ "name"', 'F32', [1], f32([1])], ['0', 'U8', [2], Uint8Array.from([9, 8])]], { 'clé': 'valeur' }),
  ];
}

// ---------------------------------------------------------------------------------------------------
// Mutations.

function headerRange(bytes) {
  if (bytes.length < 8) return [0, bytes.length];
  let n = 0;
  for (let i = 7; i >= 0; i--) n = n * 256 + bytes[i];
  return [8, Math.min(bytes.length, 8 + n)];
}

const JSONISH = '{}[]":,0123456789-.eE \\u_ '.split('').map((c) => c.charCodeAt(0));
const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'U1', '__proto__', 'toString', 'f32'];

function replaceAll(bytes, rng, pattern, options) {
  const text = new TextDecoder('latin1').decode(bytes);
  const hits = [];
  for (let i = text.indexOf(pattern); i >= 0; i = text.indexOf(pattern, i + 1)) hits.push(i);
  if (!hits.length) return bytes;
  const at = rng.pick(hits);
  const repl = new TextEncoder().encode(rng.pick(options));
  const out = new Uint8Array(bytes.length - pattern.length + repl.length);
  out.set(bytes.subarray(0, at));
  out.set(repl, at);
  out.set(bytes.subarray(at + pattern.length), at + repl.length);
  return out;
}

const MUTATIONS = [
  ['flip a bit', (b, rng) => { const c = b.slice(); if (c.length) c[rng.int(c.length)] ^= 1 << rng.int(8); return c; }],
  ['random byte', (b, rng) => { const c = b.slice(); if (c.length) c[rng.int(c.length)] = rng.int(256); return c; }],
  ['JSON-ish byte in the header', (b, rng) => {
    const c = b.slice();
    const [lo, hi] = headerRange(c);
    if (hi > lo) c[lo + rng.int(hi - lo)] = rng.pick(JSONISH);
    return c;
  }],
  ['digit change in the header', (b, rng) => {
    const c = b.slice();
    const [lo, hi] = headerRange(c);
    const digits = [];
    for (let i = lo; i < hi; i++) if (c[i] >= 48 && c[i] <= 57) digits.push(i);
    if (digits.length) c[rng.pick(digits)] = 48 + rng.int(10);
    return c;
  }],
  ['insert bytes', (b, rng) => {
    const at = rng.int(b.length + 1);
    const add = rng.next() < 0.5 ? randomBytes(rng, 1 + rng.int(8)) : Uint8Array.from({ length: 1 + rng.int(4) }, () => rng.pick(JSONISH));
    const out = new Uint8Array(b.length + add.length);
    out.set(b.subarray(0, at));
    out.set(add, at);
    out.set(b.subarray(at), at + add.length);
    return out;
  }],
  ['delete bytes', (b, rng) => {
    if (!b.length) return b;
    const at = rng.int(b.length);
    const n = Math.min(b.length - at, 1 + rng.int(8));
    const out = new Uint8Array(b.length - n);
    out.set(b.subarray(0, at));
    out.set(b.subarray(at + n), at);
    return out;
  }],
  ['truncate', (b, rng) => b.slice(0, rng.int(b.length + 1))],
  ['append bytes', (b, rng) => {
    const add = rng.next() < 0.5 ? new Uint8Array(1 + rng.int(16)) : randomBytes(rng, 1 + rng.int(16));
    const out = new Uint8Array(b.length + add.length);
    out.set(b);
    out.set(add, b.length);
    return out;
  }],
  ['header length', (b, rng) => {
    const c = b.slice();
    if (c.length < 8) return c;
    const v = new DataView(c.buffer);
    const n = v.getBigUint64(0, true);
    const choice = rng.int(4);
    if (choice === 0) v.setBigUint64(0, n + BigInt(rng.int(33) - 16) < 0n ? 0n : n + BigInt(rng.int(33) - 16), true);
    else if (choice === 1) c[4 + rng.int(4)] = rng.int(256);
    else if (choice === 2) v.setBigUint64(0, BigInt(rng.int(c.length + 16)), true);
    else v.setBigUint64(0, 100_000_000n + BigInt(rng.int(3) - 1), true);
    return c;
  }],
  ['swap a dtype', (b, rng) => replaceAll(b, rng, `"${rng.pick(DTYPES.slice(0, 13))}"`, DTYPES.map((d) => `"${d}"`))],
  ['rename a key', (b, rng) => replaceAll(b, rng, rng.pick(['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"w"', '"empty"']), ['"dtype"', '"shape"', '"data_offsets"', '"__metadata__"', '"w"', '"__proto__"', '"d"', '"offsets"'])],
  ['new data bytes', (b, rng) => {
    const c = b.slice();
    const [, hi] = headerRange(c);
    if (c.length > hi) for (let k = 0; k < 4; k++) c[hi + rng.int(c.length - hi)] = rng.int(256);
    return c;
  }],
  ['pad the header', (b, rng) => {
    // A longer header with spaces after the JSON (valid) or other whitespace/garbage (often invalid).
    if (b.length < 8) return b;
    const [lo, hi] = headerRange(b);
    const add = new Uint8Array(1 + rng.int(8)).fill(rng.pick([0x20, 0x20, 0x0a, 0x09, 0x00, 0x7d]));
    const out = new Uint8Array(b.length + add.length);
    out.set(b.subarray(0, hi));
    out.set(add, hi);
    out.set(b.subarray(hi), hi + add.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(hi - lo + add.length), true);
    return out;
  }],
];

/** Applies 1–3 random mutations; returns the bytes and the names of what was done. */
export function mutate(bytes, rng) {
  const done = [];
  let out = bytes;
  const k = 1 + rng.int(3);
  for (let i = 0; i < k; i++) {
    const [name, f] = rng.pick(MUTATIONS);
    out = f(out, rng);
    done.push(name);
  }
  return { bytes: out, mutations: done };
}

// ---------------------------------------------------------------------------------------------------
// The reference reader: what the format allows, written independently of src/checkpoint.ts.
// Returns { ok: false, why } or { ok: true, tensors: Map(name → { dtype, shape, values }), metadata }.

class Invalid extends Error {}

/** A strict JSON parser (RFC 8259) that also refuses a key repeated in one object. */
function parseJson(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const fail = (what) => {
    throw new Invalid(`JSON: ${what} at ${i}`);
  };
  const str = () => {
    if (text[i] !== '"') fail('expected a string');
    i++;
    let out = '';
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text[i];
      const code = c.charCodeAt(0);
      if (c === '"') {
        i++;
        return out;
      }
      if (code < 0x20) fail('control character in a string');
      if (c === '\\') {
        const e = text[i + 1];
        const simple = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' }[e];
        if (simple !== undefined) {
          out += simple;
          i += 2;
        } else if (e === 'u') {
          const hex = text.slice(i + 2, i + 6);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          i += 6;
        } else fail('bad escape');
      } else {
        out += c;
        i++;
      }
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('bad number');
    i += m[0].length;
    return Number(m[0]);
  };
  const value = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj = new Map();
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const k = str();
        if (obj.has(k)) throw new Invalid(`duplicate key ${JSON.stringify(k)}`);
        ws();
        if (text[i] !== ':') fail('expected :');
        i++;
        obj.set(k, value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++;
      const arr = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    if (c === '-' || (c >= '0' && c <= '9')) return num();
    return fail('unexpected character');
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

function halfBits(h) {
  const sign = h >> 15 ? -1 : 1;
  const exp = (h >> 10) & 31;
  const frac = h & 1023;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return exp ? sign * Math.pow(2, exp - 15) * (1 + frac / 1024) : sign * Math.pow(2, -14) * (frac / 1024);
}

function values(dtype, raw) {
  const buf = raw.slice().buffer; // aligned copy; this reference assumes a little-endian host (x86, ARM)
  const n = raw.length / SIZES[dtype];
  const intRange = (xs) => {
    const out = [];
    for (const x of xs) {
      if (x > 2147483647 || x < -2147483648) throw new Invalid(`${dtype} value ${x} outside int32`);
      out.push(Number(x));
    }
    return out;
  };
  switch (dtype) {
    case 'F32': return { dtype: 'float32', values: Array.from(new Float32Array(buf)) };
    case 'F64': return { dtype: 'float32', values: Array.from(new Float64Array(buf), Math.fround) };
    case 'F16': return { dtype: 'float32', values: Array.from(new Uint16Array(buf), (h) => Math.fround(halfBits(h))) };
    case 'BF16': {
      const wide = new Uint32Array(n);
      new Uint16Array(buf).forEach((h, k) => (wide[k] = h * 65536));
      return { dtype: 'float32', values: Array.from(new Float32Array(wide.buffer)) };
    }
    case 'I64': return { dtype: 'int32', values: intRange(new BigInt64Array(buf)) };
    case 'U64': return { dtype: 'int32', values: intRange(new BigUint64Array(buf)) };
    case 'I32': return { dtype: 'int32', values: Array.from(new Int32Array(buf)) };
    case 'U32': return { dtype: 'int32', values: intRange(new Uint32Array(buf)) };
    case 'I16': return { dtype: 'int32', values: Array.from(new Int16Array(buf)) };
    case 'U16': return { dtype: 'int32', values: Array.from(new Uint16Array(buf)) };
    case 'I8': return { dtype: 'int32', values: Array.from(new Int8Array(buf)) };
    case 'U8': return { dtype: 'int32', values: Array.from(new Uint8Array(buf)) };
    case 'BOOL': return { dtype: 'bool', values: Array.from(new Uint8Array(buf), (x) => (x === 0 ? 0 : 1)) };
  }
  throw new Invalid(`dtype ${dtype}`);
}

export function referenceDecode(bytes) {
  try {
    if (bytes.length < 8) throw new Invalid('shorter than 8 bytes');
    let n = 0;
    for (let k = 7; k >= 0; k--) n = n * 256 + bytes[k];
    if (n > 100_000_000) throw new Invalid('header over 100,000,000 bytes');
    if (8 + n > bytes.length) throw new Invalid('header past the end');
    if (bytes[8] !== 0x7b) throw new Invalid("header does not start with '{'"); // the byte itself: a UTF-8 BOM is not '{'
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
    } catch {
      throw new Invalid('header not UTF-8');
    }
    const header = parseJson(text);
    if (!(header instanceof Map)) throw new Invalid('header not an object');
    const dataLen = bytes.length - 8 - n;
    const metadata = new Map();
    const entries = [];
    for (const [name, e] of header) {
      if (name === '__metadata__') {
        if (e === null) continue;
        if (!(e instanceof Map)) throw new Invalid('__metadata__ not an object');
        for (const [k, v] of e) {
          if (typeof v !== 'string') throw new Invalid('__metadata__ value not a string');
          metadata.set(k, v);
        }
        continue;
      }
      if (!(e instanceof Map)) throw new Invalid(`entry ${name} not an object`);
      for (const k of e.keys()) if (k !== 'dtype' && k !== 'shape' && k !== 'data_offsets') throw new Invalid(`unknown field ${k}`);
      const dtype = e.get('dtype');
      if (typeof dtype !== 'string' || !Object.prototype.hasOwnProperty.call(SIZES, dtype)) throw new Invalid('dtype');
      const shape = e.get('shape');
      if (!Array.isArray(shape)) throw new Invalid('shape not an array');
      for (const d of shape) if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > 2147483647) throw new Invalid('shape entry');
      const off = e.get('data_offsets');
      if (!Array.isArray(off) || off.length !== 2) throw new Invalid('data_offsets');
      for (const d of off) if (typeof d !== 'number' || !Number.isInteger(d) || d < 0 || d > Number.MAX_SAFE_INTEGER) throw new Invalid('data_offsets entry');
      if (off[0] > off[1] || off[1] > dataLen) throw new Invalid('data_offsets range');
      let count = 1n;
      for (const d of shape) count *= BigInt(d);
      if (BigInt(off[1] - off[0]) !== count * BigInt(SIZES[dtype])) throw new Invalid('size');
      entries.push({ name, dtype, shape, begin: off[0], end: off[1] });
    }
    const order = [...entries].sort((a, b) => (a.begin !== b.begin ? a.begin - b.begin : a.end - b.end));
    let at = 0;
    for (const t of order) {
      if (t.begin !== at) throw new Invalid(t.begin < at ? 'overlap' : 'gap');
      at = t.end;
    }
    if (at !== dataLen) throw new Invalid('trailing bytes');
    const tensors = new Map();
    for (const t of entries) tensors.set(t.name, { shape: t.shape, ...values(t.dtype, bytes.subarray(8 + n + t.begin, 8 + n + t.end)) });
    return { ok: true, tensors, metadata };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, why: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------------
// The differential check.

const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/**
 * Decodes `bytes` with the library and the reference and returns null when they agree, or what differs.
 * `lib`: { tf, decodeSafetensors, CheckpointError }.
 */
export async function checkOne(lib, bytes) {
  const { tf, decodeSafetensors, CheckpointError } = lib;
  const want = referenceDecode(bytes);
  const before = tf.memory().numTensors;
  const started = Date.now();
  let got;
  try {
    got = decodeSafetensors(bytes);
  } catch (e) {
    const ms = Date.now() - started;
    if (!(e instanceof CheckpointError)) return `threw ${e?.name}: ${e?.message} (not a CheckpointError)`;
    if (!/^safetensors: \S/.test(e.message)) return `unclear error message: ${e.message}`;
    if (tf.memory().numTensors !== before) return `leaked ${tf.memory().numTensors - before} tensor(s) while rejecting: ${e.message}`;
    if (ms > 1000) return `took ${ms} ms to reject`;
    return want.ok ? `rejected a valid file: ${e.message}` : null;
  }
  const ms = Date.now() - started;
  try {
    if (ms > 1000) return `took ${ms} ms to decode`;
    if (!want.ok) return `accepted a file the format forbids (${want.why})`;
    const names = [...got.tensors.keys()].sort();
    const wantNames = [...want.tensors.keys()].sort();
    if (!same(names, wantNames)) return `tensor names ${JSON.stringify(names)} != ${JSON.stringify(wantNames)}`;
    for (const [name, t] of got.tensors) {
      const w = want.tensors.get(name);
      if (t.dtype !== w.dtype || !same(t.shape, w.shape)) return `tensor ${JSON.stringify(name)}: ${t.dtype} [${t.shape}] != ${w.dtype} [${w.shape}]`;
      const v = Array.from(await t.data());
      if (!same(v, w.values)) return `tensor ${JSON.stringify(name)}: values ${JSON.stringify(v.slice(0, 8))}… != ${JSON.stringify(w.values.slice(0, 8))}…`;
    }
    const meta = Object.entries(got.metadata).sort();
    const wantMeta = [...want.metadata.entries()].sort();
    if (JSON.stringify(meta) !== JSON.stringify(wantMeta)) return `metadata ${JSON.stringify(meta)} != ${JSON.stringify(wantMeta)}`;
    return null;
  } finally {
    for (const t of got.tensors.values()) t.dispose();
    if (tf.memory().numTensors !== before) return `leaked ${tf.memory().numTensors - before} tensor(s) after disposing the result`;
  }
}

/**
 * Runs `runs` mutations from `seed` over `seeds` (valid files). Returns { runs, rejected, decoded,
 * failures: [{ run, mutations, problem, bytes }] }; stops after `maxFailures`.
 */
export async function fuzz(lib, { seed, runs, seeds, first = 0, maxFailures = 5, onProgress }) {
  const files = [...seeds, ...builtinSeeds()];
  for (const [k, f] of files.entries()) {
    const problem = await checkOne(lib, f);
    if (problem) return { runs: 0, rejected: 0, decoded: 0, failures: [{ run: -1, mutations: [`seed file ${k}`], problem, bytes: f }] };
  }
  let rejected = 0;
  let decoded = 0;
  const failures = [];
  for (let run = first; run < first + runs; run++) {
    const rng = generator((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(run + 1, 0x85ebca77)) >>> 0);
    const { bytes, mutations } = mutate(rng.pick(files), rng);
    const problem = await checkOne(lib, bytes);
    if (problem) {
      failures.push({ run, mutations, problem, bytes });
      if (failures.length >= maxFailures) break;
    } else if (referenceDecode(bytes).ok) decoded++;
    else rejected++;
    onProgress?.(run - first + 1);
  }
  return { runs: rejected + decoded + failures.length, rejected, decoded, failures };
}
