// torch.save files: PyTorch-written fixtures (scripts/torch_pt_fixtures.py) decode to PyTorch's values;
// our writer round-trips; strided views and shared storages from a seeded sweep read as an independent
// index computation says; malformed files (hand-made and fuzzed) throw DLArgumentError and leak nothing.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, DLArgumentError, decodeTorchStateDict, Embedding, encodeSafetensors, encodeTorchStateDict, LayerNorm, Linear, loadTorchCheckpoint, Module, saveTorchCheckpoint } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';
import { pickleStateDict, type PickledTensor, type TorchStorageType } from '../src/torch/pickle.js';
import { crc32, readZip, writeZip } from '../src/torch/zip.js';
import { fixtureBytes } from './helpers.js';

interface Expected { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; data: (number | string)[] }
const EXPECTED = JSON.parse(new TextDecoder().decode(fixtureBytes('torch/expected.json'))) as { torch: string; files: Record<string, Record<string, Expected>> };
const webgpu = () => tf.getBackend() === 'webgpu';

/** mulberry32, seeded: the sweep and the fuzz replay exactly. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

const fail = (problem: string): never => {
  throw new Error(problem);
};

/** Rewrites an archive: `edit` maps each record (name → bytes) to new bytes, or drops it with null. */
function rezip(bytes: Uint8Array, edit: (name: string, data: Uint8Array) => Uint8Array | null, extra: [string, Uint8Array][] = []): Uint8Array {
  const out: [string, Uint8Array][] = [];
  for (const [name, data] of readZip(bytes, fail)) {
    const next = edit(name, data);
    if (next !== null) out.push([name, next]);
  }
  return writeZip([...out, ...extra], fail);
}

async function snapshot(m: Map<string, tf.Tensor>): Promise<Record<string, { shape: number[]; dtype: string; data: number[] }>> {
  const out: Record<string, { shape: number[]; dtype: string; data: number[] }> = {};
  for (const [k, t] of m) out[k] = { shape: t.shape, dtype: t.dtype, data: Array.from(await t.data()) };
  return out;
}

/** Python writes inf and nan, which JSON lacks, as the strings 'inf', '-inf', 'nan'. */
const number = (v: number | string) => (v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v === 'nan' ? NaN : Number(v));

function expectedValues(e: Record<string, Expected>) {
  const out: Record<string, { shape: number[]; dtype: string; data: number[] }> = {};
  for (const [k, v] of Object.entries(e)) out[k] = { shape: v.shape, dtype: v.dtype, data: v.data.map(number) };
  return out;
}

function dispose(m: Map<string, tf.Tensor>) {
  for (const t of m.values()) t.dispose();
}

/** Runs `f` and returns its DLArgumentError's message (failing if it throws anything else or nothing). */
function rejection(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e, (e as Error).stack).toBeInstanceOf(DLArgumentError);
    return (e as Error).message;
  }
  throw new Error('expected a DLArgumentError');
}

describe('torch.save files written by PyTorch', () => {
  for (const file of ['plain.pt', 'dtypes.pt', 'views.pt', 'modules.pt', 'parameters.pt']) {
    it(`${file} decodes to PyTorch's values, names in order`, async () => {
      await assertNoLeaks(async () => {
        const tensors = decodeTorchStateDict(fixtureBytes(`torch/${file}`));
        expect([...tensors.keys()]).toEqual(Object.keys(EXPECTED.files[file]));
        expect(await snapshot(tensors)).toEqual(expectedValues(EXPECTED.files[file]));
        dispose(tensors);
      });
    });
  }

  it('a training checkpoint: nested dicts flattened with dots, other entries an error unless skipped', async () => {
    await assertNoLeaks(async () => {
      const bytes = fixtureBytes('torch/nested.pt');
      expect(rejection(() => decodeTorchStateDict(bytes))).toMatch(/entry "epoch" is an int, not a tensor \(pass \{ nonTensors: 'skip' \}/);
      const tensors = decodeTorchStateDict(bytes, { nonTensors: 'skip' });
      expect(await snapshot(tensors)).toEqual(expectedValues(EXPECTED.files['nested.pt']));
      expect([...tensors.keys()]).toContain('model.bn.num_batches_tracked');
      expect([...tensors.keys()]).toContain('optimizer.state.0.momentum_buffer');
      dispose(tensors);
    });
  });

  it('modules.pt loads into the same @dl modules (Embedding, Linear, LayerNorm, BatchNorm1d)', async () => {
    class Net extends Module {
      emb = this.registerModule('emb', new Embedding(10, 4));
      fc = this.registerModule('fc', new Linear(4, 3));
      ln = this.registerModule('ln', new LayerNorm(3));
      bn = this.registerModule('bn', new BatchNorm1d(3));
      forward(): never {
        throw new Error('not used');
      }
    }
    await assertNoLeaks(async () => {
      const net = new Net();
      const tensors = await loadTorchCheckpoint(fixtureBytes('torch/modules.pt'));
      net.loadStateDict(tensors);
      const state = net.stateDict();
      expect(await snapshot(state)).toEqual(expectedValues(EXPECTED.files['modules.pt']));
      dispose(tensors);
      net.dispose();
    });
  });

  it('legacy, compressed, out-of-range, TorchScript and whole-model files are rejected saying why', () => {
    expect(rejection(() => decodeTorchStateDict(fixtureBytes('torch/legacy.pt')))).toMatch(/legacy torch\.save file \(PyTorch < 1\.6, or _use_new_zipfile_serialization=False\)/);
    expect(rejection(() => decodeTorchStateDict(fixtureBytes('torch/deflated.pt')))).toMatch(/compressed with method 8 \(deflate\); torch\.save stores entries uncompressed/);
    expect(rejection(() => decodeTorchStateDict(fixtureBytes('torch/int64-range.pt')))).toMatch(/tensor "big" has the Long value 2147483648, outside int32/);
    expect(rejection(() => decodeTorchStateDict(fixtureBytes('torch/torchscript.pt')))).toMatch(/got a TorchScript archive \(torch\.jit\.save\); save the model's state_dict with torch\.save instead/);
    expect(rejection(() => decodeTorchStateDict(fixtureBytes('torch/whole-model.pt')))).toMatch(/global 'torch\.nn\.modules\.linear\.Linear' at byte 2 of whole-model\/data\.pkl.*not the model itself/);
  });
});

describe('encodeTorchStateDict', () => {
  it('round-trips float32, int32, bool, a scalar and an empty tensor, in order, byte-identical on rewrite', async () => {
    await assertNoLeaks(async () => {
      const src = new Map<string, tf.Tensor>([
        ['w', tf.tensor2d([[1.5, -2], [3, 4e-8]])],
        ['ids', tf.tensor1d([7, -8, 2147483647, -2147483648], 'int32')],
        ['mask', tf.tensor2d([[true, false, true]], [1, 3], 'bool')],
        ['step', tf.scalar(100, 'int32')],
        ['none', tf.zeros([0, 3])],
        ['ünï.cödé', tf.scalar(-0.5)],
      ]);
      const bytes = await encodeTorchStateDict(src);
      const back = decodeTorchStateDict(bytes);
      expect(await snapshot(back)).toEqual(await snapshot(src));
      expect(await encodeTorchStateDict(back)).toEqual(bytes);
      // The layout torch.save uses: <archive>/data.pkl, byteorder, data/<i>, version; records 64-byte aligned.
      const records = readZip(bytes, fail);
      expect([...records.keys()]).toEqual(['archive/data.pkl', 'archive/byteorder', ...[0, 1, 2, 3, 4, 5].map((i) => `archive/data/${i}`), 'archive/version']);
      for (const data of records.values()) expect(data.byteOffset % 64).toBe(0);
      const named = readZip(await encodeTorchStateDict({ a: tf.keep(src.get('w')!) }, { archiveName: 'model' }), fail);
      expect([...named.keys()][0]).toBe('model/data.pkl');
      dispose(back);
      dispose(src);
    });
  });

  it('saveTorchCheckpoint / loadTorchCheckpoint: a module to a file, a Blob, bytes', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dl-torch-'));
    try {
      await assertNoLeaks(async () => {
        const fc = new Linear(4, 2);
        const file = path.join(dir, 'fc.pt');
        const bytes = await saveTorchCheckpoint(fc, file);
        for (const source of [file, new Blob([new Uint8Array(bytes)]), bytes.buffer, new DataView(bytes.buffer)]) {
          const t = await loadTorchCheckpoint(source as string);
          expect(await snapshot(t)).toEqual(await snapshot(fc.stateDict()));
          dispose(t);
        }
        fc.dispose();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks its arguments and options before doing anything', async () => {
    await assertNoLeaks(async () => {
      const a = tf.ones([2]);
      await expect(encodeTorchStateDict({ a }, { archive: 'x' } as never)).rejects.toThrow(/encodeTorchStateDict: options\.archive must be one of the known options \(archiveName\)/);
      await expect(encodeTorchStateDict({ a }, { archiveName: 'a/b' })).rejects.toThrow(/options\.archiveName must be a non-empty name without slashes/);
      await expect(encodeTorchStateDict([a] as never)).rejects.toThrow(DLArgumentError);
      await expect(encodeTorchStateDict({ a: [1, 2] } as never)).rejects.toThrow(/tensor 'a' must be a tf\.Tensor/);
      const c = tf.tensor(['text']);
      await expect(encodeTorchStateDict({ c })).rejects.toThrow(/tensor 'c' must be float32, int32 or bool, got string/);
      const gone = tf.ones([1]);
      gone.dispose();
      await expect(encodeTorchStateDict({ gone })).rejects.toThrow(/must be a live tensor/);
      await expect(saveTorchCheckpoint({ a }, 3 as never)).rejects.toThrow(/path must be a file path string/);
      expect(() => decodeTorchStateDict(new Uint8Array(0), { skip: true } as never)).toThrow(/decodeTorchStateDict: options\.skip must be one of the known options \(nonTensors\)/);
      expect(() => decodeTorchStateDict(new Uint8Array(0), { nonTensors: 'drop' as never })).toThrow(/options\.nonTensors must be 'error' or 'skip', got "drop"/);
      expect(() => decodeTorchStateDict('model.pt' as never)).toThrow(/data must be a Uint8Array, ArrayBuffer or other ArrayBufferView, got "model\.pt"/);
      expect(() => decodeTorchStateDict(new Blob([]) as never)).toThrow(/read a Blob first.*or use loadTorchCheckpoint/);
      await expect(loadTorchCheckpoint(42 as never)).rejects.toThrow(/loadTorchCheckpoint: source must be a file path, a Blob/);
      await expect(loadTorchCheckpoint(new Uint8Array(0), { strict: true } as never)).rejects.toThrow(/options\.strict must be one of the known options/);
      tf.dispose([a, c]);
    });
  });
});

describe('malformed torch.save files', () => {
  const plain = fixtureBytes('torch/plain.pt');
  /** plain.pt with its data.pkl replaced (the archive otherwise valid, CRCs recomputed). */
  const withPickle = (pkl: Uint8Array) => rezip(plain, (name, data) => (name.endsWith('/data.pkl') ? pkl : data));
  const ascii = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

  it('each says what is wrong, and none leaks', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['empty', new Uint8Array(0), /must be a torch\.save zip archive \(PyTorch ≥ 1\.6\), got 0 bytes with no zip end-of-central-directory record/],
      ['not a zip', ascii('hello world, this is text'), /got 25 bytes starting 68 65 6c 6c with no zip end-of-central-directory record/],
      ['truncated', plain.subarray(0, plain.length - 30), /without its end-of-central-directory record \(\d+ bytes; truncated\?\)/],
      ['a safetensors file', await encodeSafetensors({}), /looks like a safetensors file \(use decodeSafetensors\)/],
      ['no data.pkl', rezip(plain, (n, d) => (n.endsWith('data.pkl') ? null : d)), /a zip archive without <name>\/data\.pkl \(records: "plain\/byteorder"|"plain\/data\/0"/],
      ['a missing storage', rezip(plain, (n, d) => (n.endsWith('data/0') ? null : d)), /no record plain\/data\/0 for the storage of tensor "matrix"/],
      ['a short storage', rezip(plain, (n, d) => (n.endsWith('data/0') ? d.subarray(4) : d)), /record plain\/data\/0 has 20 bytes but its FloatStorage of 6 elements needs 24/],
      ['big-endian', rezip(plain, (n, d) => d, [['plain/byteorder', ascii('big')]]), /byteorder "big"; only little-endian files are read/],
      ['TorchScript', rezip(plain, (n, d) => d, [['plain/constants.pkl', ascii('')]]), /a TorchScript archive \(torch\.jit\.save\)/],
      ['TorchScript code', rezip(plain, (n, d) => d, [['plain/code/__torch__.py', ascii('')]]), /a TorchScript archive \(torch\.jit\.save\)/],
      ['a corrupted record', (() => { const b = plain.slice(); b[b.indexOf(0x80, 64) + 40] ^= 1; return b; })(), /fails its CRC-32 check \(corrupted\?\)/],
      ['an unknown global', withPickle(ascii('\x80\x02cos\nsystem\nX\x02\x00\x00\x00lsR.')), /global 'os\.system' at byte 2 of plain\/data\.pkl; only collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2/],
      ['a whole pickled model', withPickle(ascii('\x80\x02c__main__\nNet\nq\x00)\x81}b.')), /global '__main__\.Net' .* \(save a state_dict: torch\.save\(model\.state_dict\(\), path\), not the model itself\)/],
      ['STACK_GLOBAL of builtins.eval', withPickle(ascii('\x80\x04\x8c\x08builtins\x8c\x04eval\x93.')), /global 'builtins\.eval'/],
      ['an unknown opcode', withPickle(ascii('\x80\x02}S\'x\'\n.')), /opcode that a state_dict never needs \(or not a pickle\) \(opcode 0x53 'S' at byte 3 of plain\/data\.pkl\)/],
      ['a truncated pickle', withPickle(ascii('\x80\x02}X\x05\x00\x00\x00ab')), /got a pickle that ends inside opcode 0x58 'X' at byte 3 of plain\/data\.pkl \(truncated\?\)/],
      ['a list at the top', withPickle(ascii('\x80\x02].')), /got a list at the top, not a dict of tensors/],
      ['bytes after STOP', withPickle(ascii('\x80\x02}.x')), /1 bytes after STOP/],
      ['a dict inside itself', withPickle(ascii('\x80\x02}q\x00X\x01\x00\x00\x00ah\x00s.')), /a dict that contains itself at "a"/],
      ['dicts 40 deep', withPickle(ascii(`\x80\x02${'}X\x01\x00\x00\x00k'.repeat(40)}}${'s'.repeat(40)}.`)), /dicts nested more than 32 deep at "k\.k\.k/],
      ['a size beyond 2^53', withPickle(ascii('\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRs.')), /size\[0\] must be an int, got an int 18446744073709551616/],
      ['hooks on a tensor', withPickle(ascii('\x80\x02}X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00K\x01\x85K\x01\x85\x89}K\x00K\x00stRs.')), /backward_hooks must be an empty OrderedDict/],
    ];
    await assertNoLeaks(async () => {
      for (const [what, bytes, message] of cases) {
        expect(rejection(() => decodeTorchStateDict(bytes)), what).toMatch(message);
      }
      const empty = decodeTorchStateDict(withPickle(ascii('\x80\x02}.'))); // an empty dict is a valid state_dict
      expect(empty.size).toBe(0);
    });
  });

  it('views reaching past their storage, and mixed storage types, are refused', () => {
    const one = (t: Partial<PickledTensor>, numel: number, type: TorchStorageType = 'Float') => {
      const pkl = pickleStateDict([{ name: 'x', type, key: '0', shape: [2, 3], ...t }]);
      return writeZip([['a/data.pkl', pkl], ['a/data/0', new Uint8Array(numel * 4)]], fail);
    };
    expect(rejection(() => decodeTorchStateDict(one({ stride: [3, 1], offset: 1, storageNumel: 6 }, 6)))).toMatch(/tensor "x" \(size \[2,3\], stride \[3,1\], offset 1\) reaches element 6 of a storage of 6/);
    expect(rejection(() => decodeTorchStateDict(one({ stride: [4, 1], storageNumel: 6 }, 6)))).toMatch(/reaches element 6/);
    const mixed = pickleStateDict([{ name: 'a', type: 'Float', key: '0', shape: [2] }, { name: 'b', type: 'Int', key: '0', shape: [2] }]);
    expect(rejection(() => decodeTorchStateDict(writeZip([['a/data.pkl', mixed], ['a/data/0', new Uint8Array(8)]], fail)))).toMatch(/storage '0' named as Float\[2\] and as Int\[2\]/);
  });
});

describe('zip CRC-32', () => {
  it('gives the standard check value and agrees with a bytewise reference at every length 0–100', () => {
    expect(crc32(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
    const bytewise = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    const r = rng(3);
    for (let n = 0; n <= 100; n++) {
      const b = Uint8Array.from({ length: n }, () => r.int(256));
      expect(crc32(b), `length ${n}`).toBe(bytewise(b));
    }
  });
});

describe('seeded sweeps', () => {
  const TYPES: [TorchStorageType, number][] = [['Float', 4], ['Double', 8], ['Half', 2], ['BFloat16', 2], ['Long', 8], ['Int', 4], ['Short', 2], ['Char', 1], ['Byte', 1], ['Bool', 1]];
  const CASES = webgpu() ? 10 : 50;

  it(`${CASES} random views (shapes, strides, offsets, shared storages, every storage type) read as indexing says`, async () => {
    const r = rng(20261201);
    await assertNoLeaks(async () => {
      for (let c = 0; c < CASES; c++) {
        const [type, size] = TYPES[r.int(TYPES.length)];
        const numel = 1 + r.int(40);
        const raw = new Uint8Array(numel * size);
        const view = new DataView(raw.buffer);
        const values: number[] = []; // what each storage element decodes to
        for (let i = 0; i < numel; i++) {
          const x = r.int(2000) - 1000;
          switch (type) {
            case 'Float': view.setFloat32(4 * i, x / 7, true); values.push(Math.fround(x / 7)); break;
            case 'Double': view.setFloat64(8 * i, x / 7, true); values.push(Math.fround(x / 7)); break;
            case 'Half': view.setUint16(2 * i, 0x3c00 + (x & 0x3ff), true); values.push(1 + (x & 0x3ff) / 1024); break;
            case 'BFloat16': view.setUint16(2 * i, 0x3f80 + (x & 0x7f), true); values.push(1 + (x & 0x7f) / 128); break;
            case 'Long': view.setBigInt64(8 * i, BigInt(x * 1000003), true); values.push(x * 1000003); break;
            case 'Int': view.setInt32(4 * i, x * 99991, true); values.push(x * 99991); break;
            case 'Short': view.setInt16(2 * i, x * 31, true); values.push(x * 31); break;
            case 'Char': view.setInt8(i, x % 128); values.push(x % 128); break;
            case 'Byte': view.setUint8(i, x & 0xff); values.push(x & 0xff); break;
            case 'Bool': view.setUint8(i, x & 1); values.push(x & 1); break;
          }
        }
        // Two to four views of the one storage, each fitting inside it.
        const views: PickledTensor[] = [];
        const want: Record<string, { shape: number[]; dtype: string; data: number[] }> = {};
        const count = 2 + r.int(3);
        for (let v = 0; v < count; v++) {
          const rank = r.int(4);
          const shape = Array.from({ length: rank }, () => r.int(4));
          const stride = Array.from({ length: rank }, () => r.int(5));
          const span = shape.reduce((s, d, i) => s + Math.max(d - 1, 0) * stride[i], 0);
          const empty = shape.includes(0);
          if (!empty && span >= numel) continue;
          const offset = empty ? r.int(numel + 1) : r.int(numel - span);
          const name = `case${c}.view${v}`;
          views.push({ name, type, key: 's', shape, stride, offset, storageNumel: numel });
          const data: number[] = [];
          const walk = (dim: number, at: number) => {
            if (dim === rank) return void data.push(values[at]);
            for (let i = 0; i < shape[dim]; i++) walk(dim + 1, at + i * stride[dim]);
          };
          walk(0, offset);
          want[name] = { shape, dtype: type === 'Bool' ? 'bool' : ['Float', 'Double', 'Half', 'BFloat16'].includes(type) ? 'float32' : 'int32', data };
        }
        const bytes = writeZip([[`case${c}/data.pkl`, pickleStateDict(views)], [`case${c}/data/s`, raw]], fail);
        const got = decodeTorchStateDict(bytes);
        expect(await snapshot(got), `case ${c}: ${type}`).toEqual(want);
        dispose(got);
      }
    });
  });

  it(`${CASES} random state dicts round-trip through encode → decode`, async () => {
    const r = rng(7);
    await assertNoLeaks(async () => {
      for (let c = 0; c < CASES; c++) {
        const src = new Map<string, tf.Tensor>();
        const n = r.int(5);
        for (let i = 0; i < n; i++) {
          const shape = Array.from({ length: r.int(4) }, () => r.int(4));
          const size = shape.reduce((a, b) => a * b, 1);
          const dtype = (['float32', 'int32', 'bool'] as const)[r.int(3)];
          const data = Array.from({ length: size }, () => (dtype === 'float32' ? r.next() * 200 - 100 : dtype === 'int32' ? r.int(2 ** 32) - 2 ** 31 : r.int(2)));
          src.set(`layer${i}.${dtype}`, tf.tensor(data, shape, dtype));
        }
        const back = decodeTorchStateDict(await encodeTorchStateDict(src));
        expect(await snapshot(back), `case ${c}`).toEqual(await snapshot(src));
        dispose(back);
        dispose(src);
      }
    });
  });
});

describe('fuzzing', () => {
  // A mutated file must decode to the original's tensors (a change zip ignores, such as a date) or throw
  // a DLArgumentError; never another exception or a leak. Raw mutations mostly hit the CRC check, so the
  // second run mutates data.pkl alone and re-zips it with a correct CRC, to reach the unpickler.
  const RUNS = webgpu() ? 60 : 400;
  const seeds = ['plain.pt', 'views.pt', 'modules.pt'].map((f) => fixtureBytes(`torch/${f}`));

  function mutate(bytes: Uint8Array, r: ReturnType<typeof rng>): Uint8Array {
    let b = bytes.slice();
    const times = 1 + r.int(3);
    for (let k = 0; k < times; k++) {
      const at = r.int(b.length);
      switch (r.int(5)) {
        case 0: b[at] ^= 1 << r.int(8); break;
        case 1: b[at] = r.int(256); break;
        case 2: b = Uint8Array.from([...b.subarray(0, at), r.int(256), ...b.subarray(at)]); break;
        case 3: b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)]); break;
        default: b[at] = [0, 1, 0x7f, 0x80, 0xff][r.int(5)]; break;
      }
    }
    return b;
  }

  for (const mode of ['raw bytes', 'data.pkl only'] as const) {
    it(`${RUNS} mutations of ${mode}: the original tensors or a DLArgumentError`, async () => {
      const r = rng(mode === 'raw bytes' ? 1 : 2);
      let rejected = 0;
      let decoded = 0;
      await assertNoLeaks(async () => {
        for (let run = 0; run < RUNS; run++) {
          const original = seeds[run % seeds.length];
          let bytes: Uint8Array;
          if (mode === 'raw bytes') bytes = mutate(original, r);
          else bytes = rezip(original, (name, data) => (name.endsWith('/data.pkl') ? mutate(data, r) : data));
          let got: Map<string, tf.Tensor>;
          try {
            got = decodeTorchStateDict(bytes);
          } catch (e) {
            if (!(e instanceof DLArgumentError)) throw new Error(`run ${run}: ${(e as Error).stack}`);
            rejected++;
            continue;
          }
          decoded++;
          if (mode === 'raw bytes') {
            const want = decodeTorchStateDict(original);
            expect(await snapshot(got), `run ${run}`).toEqual(await snapshot(want));
            dispose(want);
          } else {
            for (const [name, t] of got) expect(typeof name === 'string' && t.size === t.shape.reduce((a, d) => a * d, 1)).toBe(true);
          }
          dispose(got);
        }
      });
      expect(rejected).toBeGreaterThan(RUNS / 4);
      console.log(`torch.save fuzz (${mode}): ${rejected} rejected, ${decoded} decoded`);
    });
  }
});
