// copyDistribution: source ids out of range are refused (never moved into another row), values and
// gradients match a host reference with repeated ids and padding, and the cost grows linearly in rows.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { copyDistribution } from '../src/index.js';

/** Host reference of P = g·[P_vocab, 0] + (1 − g)·Σ_{i: id_i = w} a_i, and its gradients for a weighted sum Σ w·P. */
function reference(probs: number[][], att: number[][], g: number[], ids: number[][], Vext: number, w: number[][]) {
  const P = probs.map((row, r) => {
    const out = new Array(Vext).fill(0);
    row.forEach((p, j) => (out[j] += g[r] * p));
    ids[r].forEach((id, i) => id >= 0 && (out[id] += (1 - g[r]) * att[r][i]));
    return out;
  });
  const dAtt = ids.map((row, r) => row.map((id) => (id >= 0 ? (1 - g[r]) * w[r][id] : 0)));
  const dProbs = probs.map((row, r) => row.map((_, j) => g[r] * w[r][j]));
  const dG = probs.map((row, r) => row.reduce((s, p, j) => s + p * w[r][j], 0) - ids[r].reduce((s, id, i) => s + (id >= 0 ? att[r][i] * w[r][id] : 0), 0));
  return { P, dAtt, dProbs, dG };
}

const SYNC = new Set(['cpu', 'wasm', 'tensorflow']);

describe('copyDistribution', () => {
  it('matches a host reference (values and all three gradients), with repeated ids, OOV ids and padding, given ids as a tensor or as arrays', async () => {
    await assertNoLeaks(async () => {
      const rng = new Rng(3);
      const rows = 5;
      const V = 7;
      const S = 9;
      const Vext = V + 3;
      const soft = (n: number) => {
        const e = Array.from({ length: n }, () => Math.exp(rng.normal()));
        const z = e.reduce((a, b) => a + b);
        return e.map((x) => Math.fround(x / z));
      };
      const probs = Array.from({ length: rows }, () => soft(V));
      const att = Array.from({ length: rows }, () => soft(S));
      const g = Array.from({ length: rows }, () => Math.fround(rng.uniform()));
      // few distinct ids per row, so most are repeated; row 2 is half padding
      const ids = Array.from({ length: rows }, (_, r) => Array.from({ length: S }, (_, i) => (r === 2 && i >= 4 ? -1 : [1, 8, 1, 3, 9, 8, 0][(i * (r + 1)) % 7])));
      const w = Array.from({ length: rows }, () => Array.from({ length: Vext }, () => Math.fround(rng.normal())));
      const ref = reference(probs, att, g, ids, Vext, w);
      const tP = tf.tensor2d(probs);
      const tA = tf.tensor2d(att);
      const tG = tf.tensor1d(g);
      const tW = tf.tensor2d(w);
      const tIds = tf.tensor2d(ids, [rows, S], 'int32');
      for (const given of [tIds, ids]) {
        const p = copyDistribution(tP, tA, tG, given, Vext);
        await assertClose(p, ref.P.flat(), backendTolerance(), 'P', [rows, Vext]);
        const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(copyDistribution(a, b, c, given, Vext), tW));
        const [dProbs, dAtt, dG] = tf.grads(f)([tP, tA, tG]);
        await assertClose(dAtt, ref.dAtt.flat(), backendTolerance(), 'd attention', [rows, S]);
        await assertClose(dProbs, ref.dProbs.flat(), backendTolerance(), 'd vocabProbs', [rows, V]);
        await assertClose(dG, ref.dG, backendTolerance(), 'd pGen', [rows]);
        tf.dispose([p, dProbs, dAtt, dG]);
      }
      tf.dispose([tP, tA, tG, tW, tIds]);
    });
  });

  it('refuses source ids outside [−1, extendedVocabSize), naming the argument (GPU backends: the row is NaN, never moved into the next one)', async () => {
    await assertNoLeaks(async () => {
      const probs = tf.tensor2d([
        [0.5, 0.5, 0],
        [0.2, 0.3, 0.5],
      ]);
      const att = tf.tensor2d([
        [0.25, 0.75],
        [0.5, 0.5],
      ]);
      const g = tf.tensor1d([0.5, 0.5]);
      for (const [bad, at] of [
        [[[1, 4], [0, 1]], '4 at [0, 1]'],
        [[[1, 3], [5, 1]], '5 at [1, 0]'],
        [[[1, -2], [0, 1]], '-2 at [0, 1]'],
      ] as const) {
        const message = new RegExp(`^copyDistribution: sourceIds must be ids in \\[-1, 4\\) \\(−1 = padding\\), got ${at.replace(/[[\]]/g, '\\$&')}`);
        // host arrays are checked on every backend
        expect(() => copyDistribution(probs, att, g, bad as unknown as number[][], 4)).toThrow(message);
        const ids = tf.tensor2d(bad as unknown as number[][], [2, 2], 'int32');
        if (SYNC.has(tf.getBackend())) {
          expect(() => copyDistribution(probs, att, g, ids, 4)).toThrow(message);
        } else {
          const p = copyDistribution(probs, att, g, ids, 4);
          const data = Array.from(await p.data());
          const badRow = Number(at.split('[')[1][0]);
          expect(data.slice(badRow * 4, badRow * 4 + 4).every(Number.isNaN)).toBe(true);
          expect(data.slice((1 - badRow) * 4, (1 - badRow) * 4 + 4).some(Number.isNaN)).toBe(false);
          p.dispose();
        }
        ids.dispose();
      }
      expect(() => copyDistribution(probs, att, g, [[1, 2]], 4)).toThrow(/^copyDistribution: sourceIds must be of shape \[2, 2\]/);
      expect(() => copyDistribution(probs, att, g, [[1, 2.5], [0, 1]], 4)).toThrow(/^copyDistribution: sourceIds must be ids in \[-1, 4\)/);
      tf.dispose([probs, att, g]);
    });
  });

  it('handles zero rows', async () => {
    await assertNoLeaks(async () => {
      const inputs = [tf.zeros([0, 3]), tf.zeros([0, 2]), tf.zeros([0]), tf.zeros([0, 2], 'int32')] as const;
      const p = copyDistribution(...inputs, 5);
      expect(p.shape).toEqual([0, 5]);
      expect((await p.data()).length).toBe(0);
      tf.dispose([p, ...inputs]);
    });
  });

  it('does work linear in the number of rows (elements its kernels produce: 32 rows ≤ 1.5 × 8 × those of 4 rows)', async () => {
    // Counted in elements, not timed, so a busy machine cannot fail it. A segment sum quadratic in the rows
    // would produce ≈ 64× as many elements for 8× the rows.
    await assertNoLeaks(async () => {
      const V = 1000;
      const S = 32;
      const make = (rows: number) => {
        const rng = new Rng(rows);
        return [
          tf.tidy(() => tf.softmax(tf.tensor2d(rng.normalArray(rows * V), [rows, V]))),
          tf.tidy(() => tf.softmax(tf.tensor2d(rng.normalArray(rows * S), [rows, S]))),
          tf.tensor1d(rng.uniformArray(rows)),
          tf.tensor2d(Int32Array.from({ length: rows * S }, () => Math.floor(rng.uniform() * (V + 8))), [rows, S], 'int32'),
        ] as const;
      };
      const work = async (rows: number) => {
        const [p, a, g, ids] = make(rows);
        const info = await tf.profile(() => copyDistribution(p, a, g, ids, V + 8));
        // tf.profile returns one shared object: read it before the next profile.
        const elements = info.kernels.reduce((n, k) => n + k.outputShapes.reduce((m, s) => m + (s as number[]).reduce((x, y) => x * y, 1), 0), 0);
        tf.dispose([info.result as tf.Tensor, p, a, g, ids]);
        return elements;
      };
      const small = await work(4);
      const large = await work(32);
      expect(large, `${large} elements for 32 rows, ${small} for 4`).toBeLessThanOrEqual(1.5 * 8 * small);
    });
  });
});
