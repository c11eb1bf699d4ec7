// Full attention on wasm runs large heads one (batch, head) pair at a time through plain 2-D products
// (src/full.ts). These cases are large enough to take that path on wasm and compare it, forward and
// backward, with the batched matMul → masked softmax → matMul written out here; on the other backends
// both sides are batched and the comparison still holds.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { setHeadByHeadMinScores } from '../src/full.js';
import { scaledDotProductAttention } from '../src/index.js';
import { qkv, randn } from './helpers.js';

const B = 2;
const H = 2;
const L = 72; // Lq = Lk: per-head work 72·72·(64 + 48) is above the head-by-head threshold
const DK = 64;
const DV = 48;

/** The batched computation, with `allowed` 0/1 floats broadcastable to [B, H, Lq, Lk]. */
function reference(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, allowed: tf.Tensor | null, bias: tf.Tensor | null): { output: tf.Tensor; weights: tf.Tensor } {
  return tf.tidy(() => {
    let s = tf.matMul(tf.mul(q, 1 / Math.sqrt(DK)), k, false, true); // [B, H, Lq, Lk]
    if (bias) s = tf.add(s, bias);
    let w = tf.softmax(allowed ? tf.add(s, tf.mul(tf.sub(allowed, 1), 1e9)) : s); // [B, H, Lq, Lk]
    if (allowed) w = tf.mul(w, allowed);
    return { output: tf.matMul(w, v), weights: w }; // [B, H, Lq, dv]
  });
}

/** Causal, a padded key in batch 1, a per-head boolean mask and a per-head score bias, and their 0/1 product. */
function masks() {
  return tf.tidy(() => {
    const causal = tf.linalg.bandPart(tf.ones([L, L]), -1, 0); // [L, L]
    const padding = tf.tensor2d([Array(L).fill(false), Array.from({ length: L }, (_, j) => j >= L - 5)], [B, L], 'bool'); // [B, Lk]
    const mask = tf.greater(randn([1, H, L, L], 7), -1.5); // [1, H, Lq, Lk], true = allowed
    const bias = randn([H, L, L], 8, 0.5); // [H, Lq, Lk]
    const keep = tf.reshape(tf.sub(1, tf.cast(padding, 'float32')), [B, 1, 1, L]);
    const allowed = tf.mul(tf.mul(causal, keep), tf.cast(mask, 'float32')); // [B, H, Lq, Lk]
    return { padding, mask, bias, allowed };
  });
}

describe('full attention head by head (wasm) matches the batched computation', () => {
  // With @dl/core's SIMD products, head by head runs only for large score tensors: lower the threshold
  // so these small cases take that path.
  let previous = 0;
  beforeAll(() => {
    previous = setHeadByHeadMinScores(1);
  });
  afterAll(() => {
    setHeadByHeadMinScores(previous);
  });
  it('forward, no masks, with weights', async () => {
    const [q, k, v] = qkv(B, H, L, DK, 1, L, DV);
    const ref = reference(q, k, v, null, null);
    const got = await assertNoLeaks(() => scaledDotProductAttention(q, k, v, { returnWeights: true }), 'head by head', 2);
    expect(got.output.shape).toEqual([B, H, L, DV]);
    expect(got.weights!.shape).toEqual([B, H, L, L]);
    await assertClose(got.output, await ref.output.data(), backendTolerance(), 'output');
    await assertClose(got.weights!, await ref.weights.data(), backendTolerance(), 'weights');
    tf.dispose([q, k, v, ref.output, ref.weights, got.output, got.weights!]);
  });

  it('forward and gradients with causal, keyPaddingMask, mask and scoreBias', async () => {
    const [q, k, v] = qkv(B, H, L, DK, 11, L, DV);
    const m = masks();
    const dy = randn([B, H, L, DV], 12);
    const ours = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(tf.mul(scaledDotProductAttention(a, b, c, { causal: true, keyPaddingMask: m.padding, mask: m.mask, scoreBias: d }).output, dy));
    const theirs = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => tf.sum(tf.mul(reference(a, b, c, m.allowed, d).output, dy));
    const expected = tf.grads(theirs)([q, k, v, m.bias]);
    const got = await assertNoLeaks(() => tf.grads(ours)([q, k, v, m.bias]), 'gradients', 4);
    const tol = { atol: 2 * backendTolerance().atol, rtol: 2 * backendTolerance().rtol };
    for (const [i, name] of ['q', 'k', 'v', 'scoreBias'].entries()) await assertClose(got[i], await expected[i].data(), tol, `d${name}`);
    const out = scaledDotProductAttention(q, k, v, { causal: true, keyPaddingMask: m.padding, mask: m.mask, scoreBias: m.bias }).output;
    const ref = reference(q, k, v, m.allowed, m.bias);
    await assertClose(out, await ref.output.data(), backendTolerance(), 'output');
    tf.dispose([q, k, v, dy, m.padding, m.mask, m.bias, m.allowed, out, ref.output, ref.weights, ...got, ...expected]);
  });

  it.runIf(tf.getBackend() === 'wasm')('never holds every head’s scores at once (wasm)', async () => {
    const [q, k, v] = qkv(1, 8, 1024, 16, 21);
    const before = tf.memory().numBytes;
    const info = await tf.profile(async () => {
      const out = scaledDotProductAttention(q, k, v).output;
      await out.data();
      out.dispose();
    });
    const allScores = 8 * 1024 * 1024 * 4; // bytes of the [1, 8, 1024, 1024] score tensor
    expect(info.peakBytes - before).toBeLessThan(0.75 * allScores);
    tf.dispose([q, k, v]);
  });
});
