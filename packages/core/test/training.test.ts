// Training works on every backend, wasm included (its missing gradient kernels run through cpu
// fallbacks), and long loops hold the tensor count flat.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, crossEntropy, Embedding, GELU, LayerNorm, Linear, manualSeed, ReLU, Sequential, Dropout, Rng } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

/** Two Gaussian blobs per class in 8-D; linearly separable enough for a small MLP. */
function blobs(n: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * 8);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < 8; j++) x[i * 8 + j] = rng.normal() * 0.5 + (j % 3 === y[i] ? 2 : 0);
  }
  return { x: tf.tensor2d(x, [n, 8]), y: tf.tensor1d(y, 'int32') };
}

describe('training', () => {
  it('an MLP with batch norm, layer norm and dropout learns, with a flat tensor count', async () => {
    await assertNoLeaks(async () => {
      manualSeed(1);
      const model = new Sequential(new Linear(8, 16), new BatchNorm1d(16), new ReLU(), new Dropout(0.1), new Linear(16, 16), new LayerNorm(16), new GELU(), new Linear(16, 3));
      const { x, y } = blobs(48, 2);
      const opt = tf.train.adam(0.05);
      const losses: number[] = [];
      let count = -1;
      for (let step = 0; step < 30; step++) {
        const loss = opt.minimize(() => crossEntropy(model.forward(x), y), true, model.parameters(true))!;
        losses.push((await loss.data())[0]);
        loss.dispose();
        if (step === 2) count = tf.memory().numTensors;
        if (step > 2) expect(tf.memory().numTensors, `step ${step}`).toBe(count);
      }
      expect(losses[29]).toBeLessThan(losses[0] * 0.3);
      model.eval();
      const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(model.forward(x), -1), y), 'float32')));
      expect((await acc.data())[0]).toBeGreaterThan(0.9);
      tf.dispose([x, y, acc]);
      opt.dispose();
      model.dispose();
    });
  });

  it('embeddings train (gather gradient = UnsortedSegmentSum, a cpu fallback on wasm)', async () => {
    await assertNoLeaks(async () => {
      manualSeed(3);
      const emb = new Embedding(5, 4, { paddingIdx: 0 });
      const head = new Linear(4, 5);
      const ids = tf.tensor1d([1, 2, 3, 4, 0, 2], 'int32');
      const target = tf.tensor1d([1, 2, 3, 4, 0, 2], 'int32'); // learn the identity map
      const opt = tf.train.adam(0.1);
      const firstLoss = tf.tidy(() => crossEntropy(head.forward(emb.forward(ids)), target));
      const first = (await firstLoss.data())[0];
      firstLoss.dispose();
      for (let i = 0; i < 40; i++) tf.dispose(opt.minimize(() => crossEntropy(head.forward(emb.forward(ids)), target), true)!);
      const last = tf.tidy(() => crossEntropy(head.forward(emb.forward(ids)), target));
      expect((await last.data())[0]).toBeLessThan(first * 0.5);
      // The padding row never moves: it stays zero.
      const pad = tf.tidy(() => tf.slice(emb.weight, [0, 0], [1, 4]));
      expect(Array.from(await pad.data()).map((v) => v + 0)).toEqual([0, 0, 0, 0]); // +0 folds −0
      tf.dispose([ids, target, last, pad]);
      opt.dispose();
      emb.dispose();
      head.dispose();
    });
  });

  it('conv2d filter gradients (Conv2DBackpropFilter, a cpu fallback on wasm) are right', async () => {
    await assertNoLeaks(async () => {
      // x: 1×3×3×1 of 1..9, filter 2×2×1×1; L = Σ conv(x, w) ('valid'); dL/dw[i,j] = Σ of the 2×2 window sums.
      const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
      const w = tf.tensor4d([0.5, -1, 2, 0.25], [2, 2, 1, 1]);
      const g = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid')))(w);
      // dL/dw[0,0] = 1+2+4+5 = 12, [0,1] = 2+3+5+6 = 16, [1,0] = 4+5+7+8 = 24, [1,1] = 5+6+8+9 = 28
      await assertClose(g, [12, 16, 24, 28], { atol: 1e-4, rtol: 1e-4 }, 'dL/dw');
      tf.dispose([x, w, g]);
    });
  });

  it('holds tensors flat over 200 steps of a Linear + crossEntropy loop', async () => {
    await assertNoLeaks(async () => {
      manualSeed(4);
      const fc = new Linear(8, 3);
      const { x, y } = blobs(12, 5);
      const opt = tf.train.sgd(0.1);
      const start = tf.memory().numTensors;
      for (let i = 0; i < 200; i++) tf.dispose(opt.minimize(() => crossEntropy(fc.forward(x), y, { labelSmoothing: 0.1 }), true)!);
      expect(tf.memory().numTensors).toBe(start);
      tf.dispose([x, y]);
      opt.dispose();
      fc.dispose();
    });
  });
});
