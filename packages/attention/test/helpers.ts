import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '@dl/core';

/** A tensor as the fixture generator stores it. */
export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: number[];
}

/** Reads fixtures/<name>.json (written by scripts/generate_fixtures.py). */
export function fixture<T = unknown>(name: string): { torch: string; cases: T } {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8'));
}

/** A fixture tensor as a tf.Tensor (caller disposes). */
export function toTensor(f: FixtureTensor): tf.Tensor {
  return tf.tensor(f.data, f.shape, f.dtype);
}

/** Seeded normal tensor (same values on every backend). */
export function randn(shape: number[], seed: number, std = 1): tf.Tensor {
  return tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape);
}

/** q, k, v of the given sizes (seeded). */
export function qkv(B: number, H: number, L: number, d: number, seed = 1, Lk = L, dv = d): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return [randn([B, H, L, d], seed), randn([B, H, Lk, d], seed + 1), randn([B, H, Lk, dv], seed + 2)];
}
