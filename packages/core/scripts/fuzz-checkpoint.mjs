#!/usr/bin/env node
// Fuzzes @dl/core's safetensors reader (the built package) with any seed and number of runs:
//
//   node packages/core/scripts/fuzz-checkpoint.mjs --seed=7 --runs=20000 [--backend=cpu] [--first=0]
//
// Each run mutates a valid file (the committed fixtures and built-in ones) and checks that the library
// rejects it with a clear CheckpointError exactly when the format forbids it, or decodes it to the same
// values as an independent reference reader; never another exception, a leak or a hang (see
// fuzz-checkpoint-lib.mjs). Run i of a seed is reproducible alone with --first=i --runs=1. Failing inputs
// are written to the temporary directory. Exits 1 on any failure. Build first: pnpm --filter @dl/core build.
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CheckpointError, decodeSafetensors, useBackend } from '@dl/core';
import { fuzz } from './fuzz-checkpoint-lib.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
  const m = /^--([a-z]+)=(.*)$/.exec(a);
  if (!m) {
    console.error(`unknown argument ${a}; usage: fuzz-checkpoint.mjs --seed=N --runs=M [--backend=cpu] [--first=I]`);
    process.exit(2);
  }
  return [m[1], m[2]];
}));
for (const k of Object.keys(args)) {
  if (!['seed', 'runs', 'backend', 'first'].includes(k)) {
    console.error(`unknown option --${k} (known: --seed, --runs, --backend, --first)`);
    process.exit(2);
  }
}
const int = (name, fallback) => {
  const v = args[name] === undefined ? fallback : Number(args[name]);
  if (!Number.isInteger(v) || v < 0) {
    console.error(`--${name} must be an integer ≥ 0, got ${args[name]}`);
    process.exit(2);
  }
  return v;
};
const seed = int('seed', Date.now() % 2 ** 31);
const runs = int('runs', 10000);
const first = int('first', 0);
const backend = await useBackend(args.backend ?? 'cpu');
const fixtures = ['mlp.safetensors', 'dtypes.safetensors'].map((f) => new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${f}`, import.meta.url)))));

console.log(`fuzz-checkpoint: seed ${seed}, runs ${first}…${first + runs - 1}, backend ${backend.name}`);
const started = Date.now();
const result = await fuzz({ tf, decodeSafetensors, CheckpointError }, {
  seed,
  runs,
  first,
  seeds: fixtures,
  maxFailures: 20,
  onProgress: (done) => {
    if (done % 5000 === 0) console.log(`  ${done} runs, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  },
});
for (const f of result.failures) {
  const file = path.join(tmpdir(), `fuzz-checkpoint-${seed}-${f.run}.safetensors`);
  writeFileSync(file, f.bytes);
  console.log(`FAIL run ${f.run} (${f.mutations.join(' + ')}): ${f.problem}\n  input: ${file} (replay: --seed=${seed} --first=${f.run} --runs=1)`);
}
console.log(`fuzz-checkpoint: ${result.runs} runs in ${((Date.now() - started) / 1000).toFixed(1)} s: ${result.rejected} rejected with a CheckpointError, ${result.decoded} decoded to the reference's values, ${result.failures.length} failures`);
process.exit(result.failures.length ? 1 : 0);
