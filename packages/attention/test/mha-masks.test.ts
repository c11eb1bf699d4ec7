// MultiHeadAttention.forward takes masks in the package's one convention (README, "Masks"): `mask`
// true = may attend, `scoreBias` for float scores, `returnWeights`. PyTorch's boolean attn_mask
// (true = blocked) goes through invertMask; parity with torch is in parity.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { invertMask, MultiHeadAttention, MASKED_SCORE } from '../src/index.js';
import { randn } from './helpers.js';

const E = 4;
const H = 2;
const B = 2;
const L = 3;

/** A seeded MHA (biases on) and self-attention input `[B, L, E]`. */
function setup(addBiasKV = false): { mha: MultiHeadAttention; x: tf.Tensor } {
  const mha = new MultiHeadAttention(E, H, { addBiasKV });
  for (const [i, p] of mha.parameters().entries()) {
    const value = randn(p.shape, 10 + i, 0.5);
    p.assign(value);
    value.dispose();
  }
  return { mha, x: randn([B, L, E], 1) };
}

/** A `[L, L]` boolean mask (true = may attend) with a row that sees only key 0. */
function allowed(): tf.Tensor {
  return tf.tensor2d([
    [true, false, false],
    [true, true, false],
    [false, true, true],
  ], [L, L], 'bool');
}

describe('MultiHeadAttention masks: true = may attend', () => {
  it('mask true = may attend: blocked keys get weight 0 and a key allowed alone gets weight 1', async () => {
    await assertNoLeaks(async () => {
      const { mha, x } = setup();
      const mask = allowed();
      const r = mha.forward(x, x, x, { mask, returnWeights: true, averageAttnWeights: false });
      expect(r.weights!.shape).toEqual([B, H, L, L]);
      const w = (await r.weights!.array()) as number[][][][];
      for (const heads of w) {
        for (const rows of heads) {
          expect(rows[0]![0]).toBeCloseTo(1, 5); // query 0 sees only key 0
          expect(rows[0]![1]).toBe(0);
          expect(rows[1]![2]).toBe(0);
          expect(rows[2]![0]).toBe(0);
        }
      }
      tf.dispose([r.output, r.weights!, mask, x]);
      mha.dispose();
    });
  });

  it('a mask as [L, L], [B·H, L, L] (PyTorch layout) and [B|1, H|1, L, L] gives the same result', async () => {
    await assertNoLeaks(async () => {
      const { mha, x } = setup();
      const tol = backendTolerance();
      const mask = allowed();
      const ref = mha.forward(x, x, x, { mask, returnWeights: true });
      const shapes = [[B * H, L, L], [1, 1, L, L], [B, 1, L, L], [B, H, L, L]];
      for (const shape of shapes) {
        const m = tf.tidy(() => tf.cast(tf.reshape(tf.broadcastTo(tf.reshape(tf.cast(mask, 'int32'), [1, 1, L, L]), shape.length === 3 ? [B, H, L, L] : shape), shape), 'bool'));
        const r = mha.forward(x, x, x, { mask: m, returnWeights: true });
        await assertClose(r.output, await ref.output.data(), tol, `output with mask ${shape}`);
        await assertClose(r.weights!, await ref.weights!.data(), tol, `weights with mask ${shape}`);
        tf.dispose([m, r.output, r.weights!]);
      }
      tf.dispose([ref.output, ref.weights!, mask, x]);
      mha.dispose();
    });
  });

  it('a boolean mask equals the same pattern as a scoreBias of 0 / MASKED_SCORE, also with addBiasKV (the bias key stays allowed)', async () => {
    await assertNoLeaks(async () => {
      const tol = backendTolerance();
      for (const addBiasKV of [false, true]) {
        const { mha, x } = setup(addBiasKV);
        const mask = allowed();
        const bias = tf.tidy(() => tf.mul(tf.sub(1, tf.cast(mask, 'float32')), MASKED_SCORE)); // 0 allowed, -1e9 blocked
        const a = mha.forward(x, x, x, { mask, returnWeights: true });
        const b = mha.forward(x, x, x, { scoreBias: bias, returnWeights: true });
        expect(a.weights!.shape).toEqual([B, L, L + (addBiasKV ? 1 : 0)]);
        await assertClose(a.output, await b.output.data(), tol, `output, addBiasKV ${addBiasKV}`);
        await assertClose(a.weights!, await b.weights!.data(), tol, `weights, addBiasKV ${addBiasKV}`);
        tf.dispose([a.output, a.weights!, b.output, b.weights!, mask, bias, x]);
        mha.dispose();
      }
    });
  });

  it('invertMask turns a PyTorch boolean attn_mask (true = blocked) into a mask (true = may attend)', async () => {
    await assertNoLeaks(async () => {
      const { mha, x } = setup();
      const mask = allowed();
      const torchMask = tf.logicalNot(mask); // what nn.MultiheadAttention would be given
      const converted = invertMask(torchMask);
      expect(converted.dtype).toBe('bool');
      expect(await converted.array()).toEqual(await mask.array());
      const a = mha.forward(x, x, x, { mask });
      const b = mha.forward(x, x, x, { mask: converted });
      await assertClose(a.output, await b.output.data(), { atol: 0, rtol: 0 }, 'output');
      const float = tf.zeros([2, 2]);
      expect(() => invertMask(float)).toThrow(/^invertMask: mask must be .*bool/);
      tf.dispose([a.output, b.output, mask, torchMask, converted, float, x]);
      mha.dispose();
    });
  });
});
