import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import type { FixtureTensor } from './parity-cases.js';

export type { FixtureTensor };

/** Reads fixtures/<name>.json (written by scripts/generate_fixtures.py). */
export function fixture<T = unknown>(name: string): { torch: string; cases: T } {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8'));
}

/** Bytes of a fixture file. */
export function fixtureBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url))));
}

/** A fixture tensor as a tf.Tensor (caller disposes). */
export function toTensor(f: FixtureTensor): tf.Tensor {
  return tf.tensor(f.data, f.shape, f.dtype);
}

/** A fixture state dict as a Map of tensors (caller disposes). */
export function toState(state: Record<string, FixtureTensor>): Map<string, tf.Tensor> {
  return new Map(Object.entries(state).map(([k, v]) => [k, toTensor(v)]));
}

/** Disposes every tensor in a map. */
export function disposeMap(m: Map<string, tf.Tensor>): void {
  for (const t of m.values()) t.dispose();
}
