// Edge cases the PyTorch sweep (sweep.parity.test.ts) found, pinned down by hand.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy, Embedding } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

describe('edge cases from the sweep', () => {
  it('crossEntropy over only ignored targets: NaN like PyTorch, but zero gradients instead of NaN', async () => {
    await assertNoLeaks(async () => {
      const logits = tf.tensor2d([[1, 2, 0], [0, 1, 3]]);
      for (const options of [{ ignoreIndex: 1 }, { ignoreIndex: 1, labelSmoothing: 0.2 }, { ignoreIndex: 1, weight: tf.tensor1d([1, 2, 3]) }]) {
        const target = tf.tensor1d([1, 1], 'int32');
        const loss = crossEntropy(logits, target, options);
        expect((await loss.data())[0]).toBeNaN();
        const g = tf.grad((x: tf.Tensor) => crossEntropy(x, target, options))(logits);
        await assertClose(g, [0, 0, 0, 0, 0, 0], { atol: 0, rtol: 0 }, 'gradient');
        tf.dispose([target, loss, g, ...('weight' in options ? [options.weight] : [])]);
      }
      logits.dispose();
    });
  });

  it('crossEntropy with a single class is 0 with zero gradient (tf.oneHot refuses depth 1)', async () => {
    await assertNoLeaks(async () => {
      const logits = tf.tensor2d([[2.5], [-1]]);
      const target = tf.tensor1d([0, 0], 'int32');
      const loss = crossEntropy(logits, target, { labelSmoothing: 0.1 });
      await assertClose(loss, [0]);
      const g = tf.grad((x: tf.Tensor) => crossEntropy(x, target))(logits);
      await assertClose(g, [0, 0]);
      tf.dispose([logits, target, loss, g]);
    });
  });

  it('an Embedding with one row gets the sum of the upstream gradients', async () => {
    await assertNoLeaks(async () => {
      const emb = new Embedding(1, 2);
      const ids = tf.tensor1d([0, 0, 0], 'int32');
      const up = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
      const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(emb.forward(ids), up)) as tf.Scalar, [emb.weight]);
      await assertClose(grads[emb.weight.name], [9, 12]);
      tf.dispose([ids, up, value, ...Object.values(grads)]);
      emb.dispose();
    });
  });
});
