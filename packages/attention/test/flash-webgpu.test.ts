// The fused WebGPU attention (flashAttention) against the dense path on the same backend: a randomised
// sweep over shapes (Lq ≠ Lk, dk ≠ dv, rows that do not fill a workgroup, tiles that do not fill a key
// tile), causal masking, key padding (including fully padded rows) and scales, forward and all three
// gradients; its memory stays O(N·d) where the dense path holds N×N; and it is used automatically by
// scaledDotProductAttention only where it applies. On cpu and wasm it must refuse to run, naming the
// backend.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import { flashAttention, flashAttentionAvailable, scaledDotProductAttention, useFusedAttention } from '../src/index.js';
import { randn } from './helpers.js';

const webgpu = tf.getBackend() === 'webgpu';

/** Dense reference: scaledDotProductAttention with the fused path switched off. */
function dense(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, opts: { scale?: number; causal?: boolean; keyPaddingMask?: tf.Tensor }) {
  const prev = useFusedAttention(false);
  try {
    return scaledDotProductAttention(q, k, v, opts).output;
  } finally {
    useFusedAttention(prev);
  }
}

/** Output and gradients of Σ output·w (w fixed random weights, so every output element matters). */
function withGrads(attend: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, w: tf.Tensor) {
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(attend(a, b, c), w)));
  const out = attend(q, k, v);
  const [dq, dk, dv] = g([q, k, v]);
  return [out, dq, dk, dv];
}

describe.runIf(webgpu)('flashAttention on webgpu: equals the dense path', () => {
  // Configurations drawn from a seed; small enough for SwiftShader (a CPU) to run in seconds each.
  const rng = new Rng(20261201);
  const pick = <T>(xs: T[]) => xs[Math.floor(rng.uniform() * xs.length)];
  const cases = Array.from({ length: 12 }, (_, i) => {
    const lq = pick([1, 3, 17, 64, 70]);
    const lk = pick([lq, 1, 5, 33, 65, 100]);
    return {
      i,
      B: pick([1, 2]),
      H: pick([1, 2, 3]),
      lq,
      lk,
      dk: pick([4, 8, 16, 33]),
      dv: pick([4, 8, 16, 20]),
      causal: rng.uniform() < 0.5,
      padding: rng.uniform() < 0.5,
      scale: rng.uniform() < 0.3 ? 0.37 : undefined,
    };
  });
  for (const c of cases) {
    it(`case ${c.i}: B ${c.B}, H ${c.H}, Lq ${c.lq}, Lk ${c.lk}, dk ${c.dk}, dv ${c.dv}${c.causal ? ', causal' : ''}${c.padding ? ', key padding' : ''}${c.scale ? `, scale ${c.scale}` : ''}`, async () => {
      await assertNoLeaks(async () => {
        const q = randn([c.B, c.H, c.lq, c.dk], 10 + c.i);
        const k = randn([c.B, c.H, c.lk, c.dk], 20 + c.i);
        const v = randn([c.B, c.H, c.lk, c.dv], 30 + c.i);
        const w = randn([c.B, c.H, c.lq, c.dv], 40 + c.i);
        // Padding: batch row b keeps its first lk − b·⌈lk/2⌉ keys (row 1 may lose every key: a fully masked row).
        const pad = c.padding ? tf.tensor2d(Array.from({ length: c.B }, (_, b) => Array.from({ length: c.lk }, (_, j) => j >= c.lk - b * Math.ceil(c.lk / 2))), [c.B, c.lk], 'bool') : undefined;
        const opts = { scale: c.scale, causal: c.causal, keyPaddingMask: pad };
        const fused = withGrads((a, b, d) => flashAttention(a, b, d, opts), q, k, v, w);
        const ref = withGrads((a, b, d) => dense(a, b, d, opts), q, k, v, w);
        const names = ['output', 'dq', 'dk', 'dv'];
        for (let j = 0; j < 4; j++) await assertClose(fused[j], await ref[j].data(), { atol: 1e-4, rtol: 1e-3 }, names[j], ref[j].shape);
        tf.dispose([...fused, ...ref, q, k, v, w, ...(pad ? [pad] : [])]);
      });
    }, 300_000);
  }

  it('scaledDotProductAttention uses it where it applies (same result as dense), and not for weights, masks or scoreBias', async () => {
    await assertNoLeaks(async () => {
      const q = randn([1, 2, 40, 8], 1);
      const auto = scaledDotProductAttention(q, q, q, { causal: true }).output;
      const ref = dense(q, q, q, { causal: true });
      await assertClose(auto, await ref.data(), { atol: 1e-5, rtol: 1e-4 }, 'output', ref.shape);
      const withWeights = scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
      expect(withWeights.weights?.shape).toEqual([1, 2, 40, 40]);
      await assertClose(withWeights.output, await ref.data(), { atol: 1e-5, rtol: 1e-4 }, 'output with weights', ref.shape);
      tf.dispose([q, auto, ref, withWeights.output, withWeights.weights!]);
    });
  });

  it('never holds the N×N scores: forward + backward at N = 1024 make no tensor near N² elements', async () => {
    const N = 1024;
    const q = randn([1, 1, N, 16], 3);
    const largest = (info: Awaited<ReturnType<typeof tf.profile>>) => Math.max(...info.kernels.flatMap((kr) => kr.outputShapes.map((s) => (s as number[]).reduce((a, b) => a * b, 1))));
    const start = tf.memory().numBytes; // profile's peakBytes is absolute: count from here
    // tf.profile returns the same object on every call: read each result before the next profile.
    const fusedInfo = await tf.profile(() => tf.grads((a: tf.Tensor) => tf.sum(flashAttention(a, a, a, { causal: true })))([q])[0]);
    tf.dispose(fusedInfo.result as tf.Tensor);
    const fused = { largest: largest(fusedInfo), peak: fusedInfo.peakBytes - start };
    const denseInfo = await tf.profile(() => tf.grads((a: tf.Tensor) => tf.sum(dense(a, a, a, { causal: true })))([q])[0]);
    tf.dispose(denseInfo.result as tf.Tensor);
    q.dispose();
    // The dense path makes N×N score matrices (4 MiB each); the fused one only N×16-sized tensors.
    expect(largest(denseInfo)).toBeGreaterThanOrEqual(N * N);
    expect(fused.largest, 'largest tensor of the fused path (elements)').toBeLessThanOrEqual(N * 32);
    expect(fused.peak, 'fused peak bytes above the start').toBeLessThan((N * N * 4) / 2);
  }, 300_000);
});

describe('flashAttention: availability and bad input', () => {
  it(webgpu ? 'is available for head dims ≤ 256 only' : 'refuses to run off webgpu, naming the backend', async () => {
    await assertNoLeaks(() => {
      const q = tf.zeros([1, 1, 4, 8]);
      if (webgpu) {
        expect(flashAttentionAvailable(8, 8)).toBe(true);
        expect(flashAttentionAvailable(257, 8)).toBe(false);
        expect(() => flashAttention(q, q, q, { causal: 1 as unknown as boolean })).toThrow(/causal.*boolean/);
      } else {
        expect(flashAttentionAvailable(8, 8)).toBe(false);
        expect(() => flashAttention(q, q, q)).toThrow(new RegExp(`backend.*webgpu.*${tf.getBackend()}`));
      }
      expect(() => flashAttention(q, q, q, { dropout: 0.1 } as never)).toThrow(/unknown key\(s\) dropout/);
      const k7 = tf.zeros([1, 1, 4, 7]);
      expect(() => flashAttention(q, k7, q)).toThrow(/k.*\[1, 1, Lk, 8\]/);
      k7.dispose();
      expect(() => useFusedAttention('yes' as unknown as boolean)).toThrow(/enabled.*boolean/);
      q.dispose();
    });
  });
});
