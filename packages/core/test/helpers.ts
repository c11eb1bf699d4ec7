import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { expect } from 'vitest';
import { matMul } from '../src/index.js';
import { assertClose, backendTolerance } from '../src/testing.js';
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

/** tf.matMul with both operands broadcast to the output's batch shape explicitly: the reference. */
export function matMulReference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  const la = a.shape.slice(0, -2);
  const lb = b.shape.slice(0, -2);
  const lead = la.reduce((x, y) => x * y, 1) >= lb.reduce((x, y) => x * y, 1) && la.length >= lb.length ? la : lb;
  const full = (x: tf.Tensor) => (x.shape.slice(0, -2).join() === lead.join() ? x : tf.broadcastTo(x, [...lead, ...x.shape.slice(-2)]));
  return tf.matMul(full(a), full(b), ta, tb);
}

/** Checks matMul's value and both gradients against the reference for one configuration. */
export async function checkMatMul(sa: number[], sb: number[], ta: boolean, tb: boolean, seed: number, label: string): Promise<void> {
  const a = tf.randomNormal(sa, 0, 1, 'float32', seed);
  const b = tf.randomNormal(sb, 0, 1, 'float32', seed + 1);
  const want = tf.tidy(() => matMulReference(a, b, ta, tb));
  const up = tf.randomNormal(want.shape, 0, 1, 'float32', seed + 2); // weights every output element differently
  const got = matMul(a, b, ta, tb);
  expect(got.shape, label).toEqual(want.shape);
  await assertClose(got, await want.data(), backendTolerance(), `${label}: value`);
  const loss = (fn: typeof matMulReference) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(fn(x, y, ta, tb), up));
  const [ga, gb] = tf.grads(loss(matMul))([a, b]);
  const [wa, wb] = tf.grads(loss(matMulReference))([a, b]);
  expect(ga.shape, label).toEqual(sa);
  expect(gb.shape, label).toEqual(sb);
  await assertClose(ga, await wa.data(), backendTolerance(), `${label}: da`);
  await assertClose(gb, await wb.data(), backendTolerance(), `${label}: db`);
  tf.dispose([a, b, want, up, got, ga, gb, wa, wb]);
}
