import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BatchNorm1d, CheckpointError, DLArgumentError, decodeSafetensors, encodeSafetensors, LayerNorm, Linear, loadCheckpoint, loadIntoModule, ReLU, saveCheckpoint, Sequential,
} from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { disposeMap, fixture, fixtureBytes, toTensor, type FixtureTensor } from './helpers.js';

const { cases } = fixture<{
  mlp: { input: FixtureTensor; output: FixtureTensor; keys: string[] };
  dtypes: Record<string, { shape: number[]; data: number[] }>;
}>('checkpoints.json');

/** Builds a safetensors file from a header object and a data length. */
function fileWith(header: unknown, dataBytes = 0, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors checkpoints', () => {
  it('round-trips float32, int32 and bool with metadata', async () => {
    await assertNoLeaks(async () => {
      const a = tf.tensor2d([[1.5, -2], [3, 4e-8]]);
      const b = tf.tensor1d([7, -8, 2147483647], 'int32');
      const c = tf.tensor1d([true, false, true], 'bool');
      const s = tf.scalar(3);
      const bytes = await encodeSafetensors({ a, b, c, s }, { epoch: '3' });
      expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0); // aligned data
      const { tensors, metadata } = decodeSafetensors(bytes);
      expect(metadata).toEqual({ epoch: '3' });
      expect([...tensors.keys()]).toEqual(['a', 'b', 'c', 's']);
      expect(Array.from(await tensors.get('a')!.data())).toEqual(Array.from(await a.data()));
      expect(Array.from(await tensors.get('b')!.data())).toEqual([7, -8, 2147483647]);
      expect(tensors.get('c')!.dtype).toBe('bool');
      expect(tensors.get('s')!.shape).toEqual([]);
      disposeMap(tensors);
      tf.dispose([a, b, c, s]);
    });
  });

  it('loads a state_dict written from PyTorch and reproduces its logits', async () => {
    await assertNoLeaks(async () => {
      const mlp = new Sequential(new Linear(6, 8), new ReLU(), new LayerNorm(8), new Linear(8, 3), new BatchNorm1d(3));
      const result = await loadIntoModule(mlp, fixtureBytes('mlp.safetensors'));
      expect(result).toEqual({ missing: [], unexpected: [] });
      mlp.eval();
      const x = toTensor(cases.mlp.input);
      const y = mlp.forward(x);
      await assertClose(y, cases.mlp.output.data, backendTolerance(), 'logits', cases.mlp.output.shape);
      tf.dispose([x, y]);
      mlp.dispose();
    });
  });

  it('reads every dtype PyTorch writes (F64, F16, BF16, I64, U8, BOOL, scalars, empty)', async () => {
    await assertNoLeaks(async () => {
      const { tensors } = await loadCheckpoint(fixtureBytes('dtypes.safetensors'));
      for (const [name, want] of Object.entries(cases.dtypes)) {
        const t = tensors.get(name)!;
        expect(t.shape, name).toEqual(want.shape);
        await assertClose(t, want.data, { atol: 0, rtol: 1e-6 }, name);
      }
      disposeMap(tensors);
    });
  });

  it('saves to and loads from a file in Node', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dl-ckpt-'));
    try {
      await assertNoLeaks(async () => {
        const a = new Linear(3, 2);
        const b = new Linear(3, 2);
        const file = path.join(dir, 'fc.safetensors');
        await saveCheckpoint(a, file, { note: 'test' });
        const { metadata } = await loadCheckpoint(file).then((c) => (disposeMap(c.tensors), c));
        expect(metadata.note).toBe('test');
        await loadIntoModule(b, file);
        expect(Array.from(await b.weight.data())).toEqual(Array.from(await a.weight.data()));
        a.dispose();
        b.dispose();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const bad: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /shorter than the 8-byte header length/],
    ['header longer than file', fileWith('{}', 0, 1000n), /runs past the end of the \d+-byte file/],
    ['absurd header length', fileWith('{}', 0, 1n << 60n), /over the \d+-byte limit/],
    ['bad JSON', fileWith('{"a":'), /not valid UTF-8 JSON/],
    ['header is an array', fileWith('[]'), /not a JSON object/],
    ['unknown dtype', fileWith({ w: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1), /unsupported dtype "F8"/],
    ['negative shape', fileWith({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/],
    ['offsets past the data', fileWith({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /tensor 'w' data_offsets \[0, 8\] run past the 4 data bytes/],
    ['size mismatch', fileWith({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /has 8 bytes but shape \[3\] of F32 needs 12/],
    ['reversed offsets', fileWith({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), /invalid data_offsets/],
    ['overlap', fileWith({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /tensors 'a' \[0, 8\] and 'b' \[4, 8\] overlap/],
    ['a dtype named __proto__', fileWith({ w: { dtype: '__proto__', shape: [1], data_offsets: [0, 4] } }, 4), /tensor 'w' has unsupported dtype "__proto__"/],
    ['a dtype named toString', fileWith({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, 4), /unsupported dtype "toString"/],
    ['trailing bytes after the last tensor', fileWith({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 6), /the data section has 6 bytes but the tensors cover 4 \(2 trailing bytes\)/],
    ['bytes but no tensors', fileWith({}, 8), /the data section has 8 bytes but the tensors cover 0 \(8 trailing bytes\)/],
    ['a gap between tensors', fileWith({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /gap of 4 bytes before tensor 'b' \[8, 12\]/],
    ['a gap at the start', fileWith({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /gap of 4 bytes before tensor 'a' \[4, 8\]/],
    ['header not starting with {', fileWith(' {}'), /header must start with '\{'/],
    ['a duplicate tensor name', fileWith('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate key "a" in the header/],
    ['a duplicate field', fileWith('{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}', 4), /duplicate key "dtype" in the header/],
    ['an unknown field', fileWith({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4], offsets: [0, 4] } }, 4), /tensor 'a' has an unknown field "offsets" \(expected dtype, shape, data_offsets\)/],
    ['a dimension tfjs cannot hold', fileWith({ a: { dtype: 'F32', shape: [0, 2 ** 40], data_offsets: [0, 0] } }), /tensor 'a' has invalid shape \[0,1099511627776\]/],
    ['a fractional offset', fileWith({ a: { dtype: 'U8', shape: [1], data_offsets: [0, 1.5] } }, 1), /invalid data_offsets/],
    ['metadata an array', fileWith({ __metadata__: ['a'] }), /__metadata__ is not an object of strings/],
    ['header over the reference limit', fileWith('{}', 0, 100_000_001n), /over the 100000000-byte limit/],
    ['metadata not strings', fileWith({ __metadata__: { a: 1 } }), /__metadata__\.a is not a string/],
    ['I64 beyond int32', (() => {
      const f = fileWith({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, 8);
      new DataView(f.buffer).setBigInt64(f.length - 8, 1n << 40n, true);
      return f;
    })(), /outside int32/],
  ];
  for (const [name, bytes, message] of bad) {
    it(`rejects a malformed file: ${name}`, async () => {
      await assertNoLeaks(() => {
        expect(() => decodeSafetensors(bytes)).toThrow(CheckpointError);
        expect(() => decodeSafetensors(bytes)).toThrow(message);
      });
    });
  }

  it('a failure after some tensors were converted frees them (nothing leaks)', async () => {
    const f = fileWith({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] } }, 16);
    new DataView(f.buffer).setBigInt64(f.length - 8, 1n << 40n, true);
    await assertNoLeaks(() => {
      expect(() => decodeSafetensors(f)).toThrow(/tensor 'b' has an I64 value 1099511627776 outside int32/);
    });
  });

  it('zero-size tensors may share an offset with their neighbours (the format allows it)', async () => {
    const header = {
      b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
      empty: { dtype: 'F32', shape: [0, 3], data_offsets: [4, 4] },
      a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      last: { dtype: 'I32', shape: [2, 0], data_offsets: [8, 8] },
    };
    const f = fileWith(header, 8);
    new DataView(f.buffer).setFloat32(f.length - 8, 1.5, true);
    new DataView(f.buffer).setFloat32(f.length - 4, -2, true);
    await assertNoLeaks(async () => {
      const { tensors } = decodeSafetensors(f);
      expect([...tensors.keys()]).toEqual(['b', 'empty', 'a', 'last']);
      expect(Array.from(await tensors.get('a')!.data())).toEqual([1.5]);
      expect(Array.from(await tensors.get('b')!.data())).toEqual([-2]);
      expect(tensors.get('empty')!.shape).toEqual([0, 3]);
      expect(tensors.get('last')!.shape).toEqual([2, 0]);
      disposeMap(tensors);
    });
  });

  it('names and metadata keys like __proto__ are ordinary names', async () => {
    // A JSON text: in an object literal, __proto__ would set the prototype instead of a key.
    const f = fileWith('{"__metadata__":{"__proto__":"x","constructor":"y"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1);
    await assertNoLeaks(() => {
      const { tensors, metadata } = decodeSafetensors(f);
      expect([...tensors.keys()]).toEqual(['__proto__']);
      expect(Object.getOwnPropertyDescriptor(metadata, '__proto__')?.value).toBe('x');
      expect(metadata.constructor).toBe('y');
      expect(Object.getPrototypeOf(metadata)).toBe(Object.prototype);
      disposeMap(tensors);
    });
  });

  it('reads any ArrayBufferView (DataView, Buffer, a view into a larger buffer) and Blobs through loadCheckpoint', async () => {
    const good = fixtureBytes('mlp.safetensors');
    const big = new Uint8Array(good.length + 16);
    big.set(good, 8);
    await assertNoLeaks(async () => {
      const want = decodeSafetensors(good);
      for (const [label, input] of [
        ['DataView', new DataView(big.buffer, 8, good.length)],
        ['Uint8Array view', big.subarray(8, 8 + good.length)],
        ['Buffer', Buffer.from(good)],
        ['ArrayBuffer', good.slice().buffer],
      ] as const) {
        const { tensors } = decodeSafetensors(input as never);
        expect([...tensors.keys()], label).toEqual([...want.tensors.keys()]);
        for (const [k, t] of tensors) expect(Array.from(await t.data()), `${label} ${k}`).toEqual(Array.from(await want.tensors.get(k)!.data()));
        disposeMap(tensors);
      }
      const fromBlob = await loadCheckpoint(new Blob([good.slice()]));
      expect(fromBlob.metadata).toEqual(want.metadata);
      disposeMap(fromBlob.tensors);
      disposeMap(want.tensors);
    });
  });

  it('anything else is refused as an argument, not read as "0 bytes"', async () => {
    await assertNoLeaks(async () => {
      for (const input of [null, undefined, {}, 'model.safetensors', [1, 2, 3], 42]) {
        let error: unknown;
        try {
          decodeSafetensors(input as never);
        } catch (e) {
          error = e;
        }
        expect(error, String(input)).toBeInstanceOf(DLArgumentError);
        expect((error as Error).message).toMatch(/decodeSafetensors: data must be a Uint8Array, ArrayBuffer or other ArrayBufferView/);
      }
      expect(() => decodeSafetensors(new Blob([]) as never)).toThrow(/decodeSafetensors: data must be .*a Blob must be read first: new Uint8Array\(await blob\.arrayBuffer\(\)\), or use loadCheckpoint/);
      await expect(loadCheckpoint({} as never)).rejects.toThrow(/loadCheckpoint: source must be a file path, a Blob, a Uint8Array, ArrayBuffer or other ArrayBufferView/);
    });
  });

  it('every truncation of a real file throws a CheckpointError, never crashes or hangs', async () => {
    const good = fixtureBytes('mlp.safetensors');
    await assertNoLeaks(() => {
      for (let n = 0; n < good.length; n += 7) {
        expect(() => decodeSafetensors(good.subarray(0, n)), `truncated to ${n}`).toThrow(CheckpointError);
      }
    });
  });
});
