import * as tf from '@tensorflow/tfjs-core';
import type { StepFn } from '../src/index.js';

/** A deterministic pseudo-random logit for (prefix, token), a pure JS function (float32-exact). */
export function prefixLogit(prefix: readonly number[], token: number, seed = 1): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (const t of [...prefix, 1000 + token]) {
    h ^= t + 0x9e3779b9;
    h = Math.imul(h, 16777619) >>> 0;
    h ^= h >>> 13;
  }
  return Math.fround(((h % 100000) / 100000) * 6 - 3);
}

/** Logits of every token for a prefix. */
export function prefixLogits(prefix: readonly number[], V: number, seed = 1): Float32Array {
  return Float32Array.from({ length: V }, (_, j) => prefixLogit(prefix, j, seed));
}

/** A step function whose logits are an arbitrary fixed function of the whole prefix. */
export function prefixStep(V: number, seed = 1, calls?: { rows: number[] }): StepFn<null> {
  return (tokens) => {
    calls?.rows.push(tokens.length);
    const data = new Float32Array(tokens.length * V);
    tokens.forEach((row, r) => data.set(prefixLogits(row, V, seed), r * V));
    return { logits: tf.tensor2d(data, [tokens.length, V]), state: null };
  };
}

/** A bigram step function: logits = table[last token]. */
export function bigramStep(table: number[][]): StepFn<null> {
  const V = table[0].length;
  return (tokens) => ({ logits: tf.tensor2d(tokens.flatMap((row) => table[row[row.length - 1]]), [tokens.length, V]), state: null });
}

/** log-softmax in float64 of float32 logits. */
export function logSoftmax64(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  let s = 0;
  for (let i = 0; i < logits.length; i++) s += Math.exp(logits[i] - m);
  const lse = m + Math.log(s);
  return Array.from(logits, (v) => v - lse);
}

/**
 * Features of a prefix that a "cached" model computes incrementally: f = Σ_i token_i · (i + 1). Both the
 * stateless and the cached step below turn it into logits sin(0.37·f + 1.3·j)·3 on the device.
 */
export function featureLogits(feature: tf.Tensor, V: number): tf.Tensor {
  return tf.tidy(() => {
    const j = tf.mul(tf.range(0, V, 1, 'float32'), 1.3); // [V]
    return tf.mul(tf.sin(tf.add(tf.mul(tf.reshape(feature, [-1, 1]), 0.37), j)), 3); // [rows, V]
  });
}

/** Stateless reference: computes the feature from the tokens. */
export function featureStep(V: number): StepFn<null> {
  return (tokens) => {
    const f = tokens.map((row) => row.reduce((a, t, i) => a + t * (i + 1), 0));
    return { logits: tf.tidy(() => featureLogits(tf.tensor1d(f), V)), state: null };
  };
}

/** A KV-cache-like state: a growing [rows, len] tensor of the tokens (and a constant per-row "encoder" tensor). */
export interface Cache {
  cache: tf.Tensor | null;
  encoder: tf.Tensor;
}

/**
 * Cached step: appends the new tokens to the cache tensor (all tokens on the first call) and computes the
 * feature from the cache only, so it is right only if the decoder reorders the state correctly.
 */
export function cachedStep(V: number): StepFn<Cache> {
  return (tokens, state) => {
    const len = tokens[0].length;
    const cache = tf.tidy(() => {
      if (state.cache === null) return tf.tensor2d(tokens.flat(), [tokens.length, len]);
      const last = tf.tensor2d(tokens.map((row) => row[row.length - 1]), [tokens.length, 1]); // [rows, 1]
      return tf.concat([state.cache, last], 1); // [rows, len]
    });
    const logits = tf.tidy(() => {
      const pos = tf.range(1, len + 1, 1, 'float32'); // [len]
      const f = tf.add(tf.sum(tf.mul(cache, pos), 1), tf.mul(tf.sum(state.encoder, 1), 0)); // [rows]
      return featureLogits(f, V);
    });
    return { logits, state: { cache, encoder: state.encoder } };
  };
}

/** Upper-tail probability of a chi-square with k degrees of freedom (regularised upper gamma Q(k/2, x/2)). */
export function chiSquareSurvival(x: number, k: number): number {
  const a = k / 2;
  const z = x / 2;
  if (z <= 0) return 1;
  const lnGammaA = lnGamma(a);
  if (z < a + 1) {
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 500; n++) {
      term *= z / (a + n);
      sum += term;
      if (term < sum * 1e-15) break;
    }
    return 1 - sum * Math.exp(-z + a * Math.log(z) - lnGammaA);
  }
  // Continued fraction (Lentz).
  let b = z + 1 - a;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 500; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-z + a * Math.log(z) - lnGammaA) * h;
}

function lnGamma(x: number): number {
  const g = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5];
  let y = x;
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5);
  let ser = 1.000000000190015;
  for (const c of g) ser += c / ++y;
  return -tmp + Math.log((2.5066282746310005 * ser) / x);
}

/** Pearson's chi-square statistic of observed counts against expected probabilities (support only). */
export function chiSquare(counts: number[], probs: number[], n: number): { stat: number; df: number; outside: number } {
  let stat = 0;
  let df = -1;
  let outside = 0;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] > 0) {
      const e = probs[i] * n;
      stat += (counts[i] - e) ** 2 / e;
      df++;
    } else outside += counts[i];
  }
  return { stat, df, outside };
}
