// Types of fuzz-checkpoint-lib.mjs for the TypeScript test that imports it.
import type * as tf from '@tensorflow/tfjs-core';

/** What the fuzzer needs from the library under test (src/ in vitest, dist/ in the command). */
export interface FuzzLibrary {
  tf: typeof tf;
  decodeSafetensors: (bytes: Uint8Array) => { tensors: Map<string, tf.Tensor>; metadata: Record<string, string> };
  CheckpointError: new (message: string) => Error;
}
export interface FuzzFailure {
  run: number;
  mutations: string[];
  problem: string;
  bytes: Uint8Array;
}
export interface FuzzResult {
  runs: number;
  rejected: number;
  decoded: number;
  failures: FuzzFailure[];
}
export function generator(seed: number): { next(): number; int(n: number): number; pick<T>(xs: readonly T[]): T };
export function writeFile(entries: [string, string, number[], Uint8Array][], metadata?: Record<string, string>): Uint8Array;
export function builtinSeeds(): Uint8Array[];
export function mutate(bytes: Uint8Array, rng: ReturnType<typeof generator>): { bytes: Uint8Array; mutations: string[] };
export function referenceDecode(
  bytes: Uint8Array,
): { ok: false; why: string } | { ok: true; tensors: Map<string, { shape: number[]; dtype: string; values: number[] }>; metadata: Map<string, string> };
export function checkOne(lib: FuzzLibrary, bytes: Uint8Array): Promise<string | null>;
export function fuzz(
  lib: FuzzLibrary,
  options: { seed: number; runs: number; seeds: Uint8Array[]; first?: number; maxFailures?: number; onProgress?: (done: number) => void },
): Promise<FuzzResult>;
