// Position encodings against the PyTorch reference values of fixtures/positions.json.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { alibiBias, alibiSlopes, applyRotary, LearnedPositions, RelativePositionBias, relativePositionBucket, sinusoidalTable } from '../src/index.js';
import { fixture, toTensor, type FixtureTensor } from './helpers.js';

interface Positions {
  sinusoidal: { length: number; dim: number; offset: number; table: FixtureTensor }[];
  rope: { base: number; offset: number; x: FixtureTensor; out: FixtureTensor; upstream: FixtureTensor; inputGrads: { x: FixtureTensor } }[];
  alibi: { slopes: { nHeads: number; slopes: number[] }[]; cases: { nHeads: number; lq: number; lk: number; offset: number; causal: FixtureTensor; bidirectional: FixtureTensor }[] };
  t5: {
    buckets: { bidirectional: boolean; numBuckets: number; maxDistance: number; relativePositions: number[]; buckets: number[] }[];
    bias: { bidirectional: boolean; numBuckets: number; maxDistance: number; nHeads: number; lq: number; lk: number; offset: number; weight: FixtureTensor; bias: FixtureTensor }[];
  };
}
const P = fixture<Positions>('positions.json');
const tol = () => ({ ...backendTolerance(), atol: Math.max(backendTolerance().atol, 2e-5) });

describe('sinusoidal positions', () => {
  it.each(P.sinusoidal.map((c) => [`length ${c.length}, dim ${c.dim}, offset ${c.offset}`, c] as const))('%s', async (_, c) => {
    await assertNoLeaks(async () => {
      const t = sinusoidalTable(c.length, c.dim, c.offset);
      await assertClose(t, c.table.data, tol(), 'table', c.table.shape);
      t.dispose();
    });
  });
});

describe('rotary positions', () => {
  it.each(P.rope.map((c) => [`x [${c.x.shape}], offset ${c.offset}, base ${c.base}`, c] as const))('%s: values and gradient', async (_, c) => {
    await assertNoLeaks(async () => {
      const x = toTensor(c.x);
      const up = toTensor(c.upstream);
      const out = applyRotary(x, c.offset, c.base);
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(applyRotary(v, c.offset, c.base), up)))(x);
      await assertClose(out, c.out.data, tol(), 'rope', c.out.shape);
      await assertClose(g, c.inputGrads.x.data, tol(), 'rope grad');
      tf.dispose([x, up, out, g]);
    });
  });

  it('makes q·k depend only on the offset between positions', async () => {
    await assertNoLeaks(async () => {
      const q = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', 1);
      const k = tf.randomNormal([1, 1, 1, 8], 0, 1, 'float32', 2);
      const score = async (m: number, n: number) => {
        const s = tf.tidy(() => tf.sum(tf.mul(applyRotary(q, m), applyRotary(k, n))));
        const v = (await s.data())[0];
        s.dispose();
        return v;
      };
      expect(await score(7, 4)).toBeCloseTo(await score(3, 0), 4);
      expect(await score(7, 4)).not.toBeCloseTo(await score(7, 3), 2);
      tf.dispose([q, k]);
    });
  });
});

describe('ALiBi', () => {
  it('slopes for 1…12 and 16 heads', () => {
    for (const { nHeads, slopes } of P.alibi.slopes) {
      const got = alibiSlopes(nHeads);
      expect(got.length).toBe(nHeads);
      got.forEach((s, i) => expect(s).toBeCloseTo(slopes[i], 12));
    }
  });

  it.each(P.alibi.cases.map((c) => [`H=${c.nHeads} Lq=${c.lq} Lk=${c.lk} offset ${c.offset}`, c] as const))('%s: causal and bidirectional biases', async (_, c) => {
    await assertNoLeaks(async () => {
      const causal = alibiBias(c.nHeads, c.lq, c.lk, c.offset, true);
      const bi = alibiBias(c.nHeads, c.lq, c.lk, c.offset, false);
      await assertClose(causal, c.causal.data, tol(), 'causal');
      await assertClose(bi, c.bidirectional.data, tol(), 'bidirectional');
      tf.dispose([causal, bi]);
    });
  });
});

describe('T5 relative position bias', () => {
  it.each(P.t5.buckets.map((c) => [`bidirectional ${c.bidirectional}, ${c.numBuckets} buckets, max ${c.maxDistance}`, c] as const))('buckets: %s', (_, c) => {
    const got = c.relativePositions.map((r) => relativePositionBucket(r, c.bidirectional, c.numBuckets, c.maxDistance));
    expect(got).toEqual(c.buckets);
  });

  it.each(P.t5.bias.map((c) => [`H=${c.nHeads} Lq=${c.lq} Lk=${c.lk} offset ${c.offset} bidirectional ${c.bidirectional}`, c] as const))('bias: %s', async (_, c) => {
    await assertNoLeaks(async () => {
      const rel = new RelativePositionBias(c.nHeads, { numBuckets: c.numBuckets, maxDistance: c.maxDistance, bidirectional: c.bidirectional });
      const w = toTensor(c.weight);
      rel.loadStateDict({ weight: w });
      const bias = rel.forward(c.lq, c.lk, c.offset);
      await assertClose(bias, c.bias.data, tol(), 'bias', c.bias.shape);
      tf.dispose([w, bias]);
      rel.dispose();
    });
  });
});

describe('learned positions', () => {
  it('returns rows offset … offset + length − 1 and refuses positions past maxLength', async () => {
    await assertNoLeaks(async () => {
      const pos = new LearnedPositions(4, 2);
      const w = tf.tensor2d([[0, 1], [2, 3], [4, 5], [6, 7]]);
      pos.loadStateDict({ weight: w });
      const rows = pos.forward(2, 1);
      await assertClose(rows, [2, 3, 4, 5], backendTolerance(), 'rows', [2, 2]);
      expect(() => pos.forward(3, 2)).toThrow(/LearnedPositions: sequence length must be ≤ 4 positions \(the model's maxLength\), got 5 positions \(offset 2 \+ length 3\)/);
      tf.dispose([w, rows]);
      pos.dispose();
    });
  });
});
