import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  BatchNorm1d, CheckpointError, decodeSafetensors, encodeSafetensors, LayerNorm, Linear, loadCheckpoint, loadIntoModule, ReLU, saveCheckpoint, Sequential,
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
    ['offsets past the data', fileWith({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /run past the 4 data bytes/],
    ['size mismatch', fileWith({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /has 8 bytes but shape \[3\] of F32 needs 12/],
    ['reversed offsets', fileWith({ w: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), /invalid data_offsets/],
    ['overlap', fileWith({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /overlap/],
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

  it('every truncation of a real file throws a CheckpointError, never crashes or hangs', async () => {
    const good = fixtureBytes('mlp.safetensors');
    await assertNoLeaks(() => {
      for (let n = 0; n < good.length; n += 7) {
        expect(() => decodeSafetensors(good.subarray(0, n)), `truncated to ${n}`).toThrow(CheckpointError);
      }
    });
  });
});
