import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backendTolerance, type Tolerance } from '@dl/core/testing';

/** A tensor as the fixture generator stores it. */
export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32' | 'bool';
  data: number[];
}

/** Reads fixtures/<name> (written by scripts/generate_fixtures.py). */
export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as T;
}

/** Absolute path of a fixture file. */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
}

/** A fixture tensor as a tf.Tensor (caller disposes). */
export function toTensor(f: FixtureTensor): tf.Tensor {
  return tf.tensor(f.data, f.shape, f.dtype);
}

/** A state dict of fixture tensors (caller disposes the values). */
export function toStateDict(state: Record<string, FixtureTensor>): Map<string, tf.Tensor> {
  return new Map(Object.entries(state).map(([k, v]) => [k, toTensor(v)]));
}

/**
 * Tolerance for whole-model parity: the backend's, but no tighter than 1e-4 (several layers of float32
 * reductions in a different order than PyTorch's).
 */
export function modelTolerance(): Tolerance {
  const t = backendTolerance();
  return { atol: Math.max(t.atol, 1e-4), rtol: Math.max(t.rtol, 1e-4) };
}

/** Seeded integer ids `[B, L]` in [lo, hi) as arrays. */
export function randomIds(B: number, L: number, lo: number, hi: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  return Array.from({ length: B }, () => Array.from({ length: L }, () => lo + Math.floor(next() * (hi - lo))));
}
