import * as tf from '@tensorflow/tfjs-core';
import type { Optimizer } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Reads fixtures/<name> (written by scripts/generate_fixtures.py). */
export function fixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)), 'utf8'));
}

/** The fixture problem: parameters and L(p) = Σ sum(0.5·A·p² + B·p + 0.3·sin p). */
export interface Problem {
  shapes: number[][];
  A: number[][];
  B: number[][];
  init: number[][];
  steps: number;
  record: number[];
}

/** Variables at the problem's start and the loss over them; dispose() frees everything. */
export function makeProblem(p: Problem) {
  const vars = p.shapes.map((s, i) => tf.tidy(() => tf.variable(tf.tensor(p.init[i], s), true)));
  const A = p.shapes.map((s, i) => tf.tensor(p.A[i], s));
  const B = p.shapes.map((s, i) => tf.tensor(p.B[i], s));
  const loss = (): tf.Scalar =>
    tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.add(tf.add(tf.mul(tf.mul(A[i], 0.5), tf.square(v)), tf.mul(B[i], v)), tf.mul(tf.sin(v), 0.3))))) as tf.Scalar);
  return { vars, loss, dispose: () => tf.dispose([...vars, ...A, ...B]) };
}

/** The state as plain values: metadata and every tensor's numbers. */
export async function snapshot(opt: Optimizer): Promise<{ metadata: Record<string, string>; tensors: Record<string, number[]>; iterations: number }> {
  const { tensors, metadata } = opt.stateDict();
  const out: Record<string, number[]> = {};
  for (const [k, t] of tensors) out[k] = Array.from(await t.data());
  return { metadata: { ...metadata }, tensors: out, iterations: opt.iterations };
}
