import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Embedding, linear, matMul } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';

const randn = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

describe('matMul', () => {
  // Every layout: values and both gradients equal tfjs's own matMul (the reference on every backend).
  const cases: [string, number[], number[], boolean, boolean][] = [
    ['2-D', [5, 3], [3, 4], false, false],
    ['2-D, transposeB', [5, 3], [4, 3], false, true],
    ['2-D, transposeA', [3, 5], [3, 4], true, false],
    ['2-D, both transposed', [3, 5], [4, 3], true, true],
    ['batched a, shared b', [2, 3, 5, 3], [3, 4], false, false],
    ['batched a (transposed), shared b (transposed)', [2, 3, 5], [4, 3], true, true],
    ['both batched', [2, 5, 3], [2, 3, 4], false, false],
  ];
  it.each(cases)('%s: value and gradients equal tf.matMul', async (_, sa, sb, ta, tb) => {
    await assertNoLeaks(async () => {
      const a = randn(sa, 1);
      const b = randn(sb, 2);
      const want = tf.matMul(a, b, ta, tb);
      const up = randn(want.shape, 3); // weights each output element differently
      const f = (fn: typeof tf.matMul) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(fn(x, y, ta, tb), up));
      const got = matMul(a, b, ta, tb);
      expect(got.shape).toEqual(want.shape);
      await assertClose(got, await want.data(), backendTolerance(), 'value');
      const [ga, gb] = tf.grads(f(matMul as typeof tf.matMul))([a, b]);
      // The reference broadcasts a shared b explicitly (tfjs's own gradient of that case has the wrong shape).
      const ref = ((x: tf.Tensor, y: tf.Tensor, p: boolean, q: boolean) =>
        tf.matMul(x, y.rank < x.rank ? tf.broadcastTo(y, [...x.shape.slice(0, -2), ...y.shape]) : y, p, q)) as typeof tf.matMul;
      const [wa, wb] = tf.grads(f(ref))([a, b]);
      await assertClose(ga, await wa.data(), backendTolerance(), 'da');
      await assertClose(gb, await wb.data(), backendTolerance(), 'db');
      tf.dispose([a, b, up, want, got, ga, gb, wa, wb]);
    });
  });

  it('rejects mismatched inner sizes naming the argument', async () => {
    await assertNoLeaks(() => {
      const a = tf.zeros([2, 3]);
      const b = tf.zeros([4, 5]);
      expect(() => matMul(a, b)).toThrow(/matMul: b must be of inner size 3 \(a's columns\), got Tensor float32 \[4,5\]/);
      expect(() => linear(a, b)).toThrow(/linear: x must be of shape \[\.\.\., 5\]/);
      tf.dispose([a, b]);
    });
  });
});

describe('Embedding gradient', () => {
  it('sums dy into each id\'s row (repeated ids add up; the padding row stays zero)', async () => {
    await assertNoLeaks(async () => {
      const emb = new Embedding(4, 2, { paddingIdx: 3 });
      const ids = tf.tensor2d([[1, 2, 1], [3, 0, 1]], [2, 3], 'int32');
      // dy = position number + 1 in both columns: row 1 gets 1 + 3 + 6 = 10, row 2 gets 2, row 0 gets 5.
      const up = tf.tidy(() => tf.tile(tf.reshape(tf.range(1, 7, 1), [2, 3, 1]), [1, 1, 2])); // [2, 3, 2]
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(emb.forward(ids), up)) as tf.Scalar, [emb.weight]);
      await assertClose(grads[emb.weight.name], [5, 5, 10, 10, 2, 2, 0, 0], backendTolerance(), 'dW');
      tf.dispose([value, ids, up, ...Object.values(grads)]);
      emb.dispose();
    });
  });
});
