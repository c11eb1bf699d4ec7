// Fuzzing the safetensors reader: random byte mutations of valid files, each decoded by the library and by
// an independent reference reader (scripts/fuzz-checkpoint-lib.mjs). Every mutated file must either be
// rejected with a clear CheckpointError exactly when the format forbids it, or decode to identical values;
// never another exception, a leak or a hang. A bounded number of runs from a fixed seed here; any seed and
// many more runs with `node packages/core/scripts/fuzz-checkpoint.mjs --seed=N --runs=M`.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CheckpointError, decodeSafetensors } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';
import { checkOne, fuzz, referenceDecode, writeFile } from '../scripts/fuzz-checkpoint-lib.mjs';
import { fixtureBytes } from './helpers.js';

const SEED = 20261130;
// SwiftShader reads every decoded tensor back slowly: fewer runs there, the same seed.
const RUNS = tf.getBackend() === 'webgpu' ? 100 : 300;
const lib = { tf, decodeSafetensors, CheckpointError };

describe('safetensors fuzzing', () => {
  it('the reference reader agrees with the library on hand-made edge cases', async () => {
    const f32 = new Uint8Array(new Float32Array([1, 2]).buffer);
    const cases: [Uint8Array, boolean][] = [
      [writeFile([['a', 'F32', [2], f32]]), true],
      [writeFile([['a', 'F32', [2], f32], ['z', 'F32', [0], new Uint8Array(0)]]), true],
      [writeFile([['a', 'F16', [3], new Uint8Array(6)]], { k: 'v' }), true],
      [new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]), true], // "{}", no data
      [new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x20, 1]), false], // a trailing data byte
      [new Uint8Array([5, 0, 0, 0, 0, 0, 0, 0, 0xef, 0xbb, 0xbf, 0x7b, 0x7d]), false], // a UTF-8 BOM before '{'
      [new Uint8Array([3, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d, 0x0a]), true], // JSON whitespace after the object
    ];
    await assertNoLeaks(async () => {
      for (const [bytes, valid] of cases) {
        expect(referenceDecode(bytes).ok, Array.from(bytes.slice(8, 24)).join(',')).toBe(valid);
        expect(await checkOne(lib, bytes)).toBeNull();
      }
    });
  });

  it(`${RUNS} random mutations of valid files from seed ${SEED}: a clear CheckpointError or identical values`, async () => {
    console.log(`safetensors fuzz: seed ${SEED}, ${RUNS} mutations (more: node packages/core/scripts/fuzz-checkpoint.mjs --seed=N --runs=M)`);
    await assertNoLeaks(async () => {
      const result = await fuzz(lib, { seed: SEED, runs: RUNS, seeds: [fixtureBytes('mlp.safetensors'), fixtureBytes('dtypes.safetensors')] });
      const report = result.failures.map((f) => `run ${f.run} (${f.mutations.join(' + ')}): ${f.problem}`).join('\n');
      expect(report, 'failures').toBe('');
      expect(result.runs).toBe(RUNS);
      // Both outcomes are exercised, so the check is not vacuous.
      expect(result.rejected).toBeGreaterThan(RUNS / 4);
      expect(result.decoded).toBeGreaterThan(RUNS / 50);
      console.log(`safetensors fuzz: ${result.rejected} rejected, ${result.decoded} decoded to the reference's values`);
    });
  });
});
