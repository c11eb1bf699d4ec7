// The main demo: an MLP built from @dl/core layers learns the real MNIST digits, trained with @dl/optim's
// AdamW (no weight decay on biases) and a linear-warmup + cosine learning-rate schedule.
import * as tf from '@tensorflow/tfjs-core';
import { manualSeed, Sequential, Linear, ReLU, Dropout, crossEntropy, Rng } from '@dl/core';
import { AdamW, decayGroups, warmupCosine } from '@dl/optim';
import { loadMnist } from '../lib/mnist.mjs';
import { progressBar } from '../lib/progress.mjs';

/** @param {{ quick?: boolean, epochs?: number }} options */
export async function run({ quick = false, epochs } = {}) {
  const data = loadMnist();
  const nTrain = quick ? 2000 : data.train.n;
  const E = epochs ?? (quick ? 2 : 12);
  const batch = 64;
  console.log(`MNIST: ${nTrain} training digits (shifted ±2 px), ${data.test.n} held out; MLP 784-256-128-10, ${E} epochs, batch ${batch}`);

  manualSeed(0);
  const model = new Sequential(new Linear(784, 256), new ReLU(), new Dropout(0.2), new Linear(256, 128), new ReLU(), new Dropout(0.2), new Linear(128, 10));
  console.log(`parameters: ${model.numParameters().toLocaleString('en')}`);
  const yAll = tf.tensor1d(data.train.y.subarray(0, nTrain), 'int32'); // [n]
  const rng = new Rng(0);
  const shifted = new Float32Array(batch * 784);
  const steps = Math.floor(nTrain / batch);
  const lr = warmupCosine({ peak: 2e-3, warmupSteps: steps, totalSteps: E * steps, end: 2e-5 }); // one warmup epoch
  const opt = new AdamW(decayGroups(model, 1e-4), { lr });
  console.log(`optimizer: AdamW (weight decay 1e-4 on weights only), lr: warmup 1 epoch to 2e-3, cosine to 2e-5`);
  let images = 0;
  let trainSeconds = 0;
  let startTensors = -1; // taken after the first step, once AdamW has made its moment estimates
  for (let epoch = 0; epoch < E; epoch++) {
    const bar = progressBar(steps, `epoch ${epoch + 1}/${E}`);
    let lossSum = 0;
    let correct = 0;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) {
      // 8,000 digits overfit an MLP: each epoch sees them shifted by up to 2 pixels (seeded).
      shiftBatch(data.train.x, s * batch, batch, shifted, rng);
      const x = tf.tensor2d(shifted, [batch, 784]); // [batch, 784]
      const y = tf.slice(yAll, [s * batch], [batch]); // [batch]
      let hits;
      const stepLr = opt.currentLr(0);
      const loss = await opt.minimize(() => {
        const logits = model.forward(x); // [batch, 10]
        hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'int32')));
        return crossEntropy(logits, y);
      });
      // Reading the loss every step keeps the bar live; it is one small sync per batch.
      const [l, h] = await Promise.all([loss.data(), hits.data()]);
      lossSum += l[0];
      correct += h[0];
      tf.dispose([x, y, loss, hits]);
      images += batch;
      if (startTensors < 0) startTensors = tf.memory().numTensors;
      if (s % 5 === 0 || s === steps - 1) bar.update(s + 1, { lr: stepLr.toExponential(2), loss: (lossSum / (s + 1)).toFixed(4), acc: `${((100 * correct) / ((s + 1) * batch)).toFixed(1)}%` });
    }
    trainSeconds += (performance.now() - t0) / 1000;
    bar.done();
  }
  if (tf.memory().numTensors !== startTensors) throw new Error(`training leaked ${tf.memory().numTensors - startTensors} tensors`);
  model.eval();
  const accuracy = await evaluate(model, data.test);
  const report = { backend: tf.getBackend(), heldOutAccuracy: accuracy, imagesPerSecond: images / trainSeconds, trainSeconds };
  console.log(`held-out accuracy: ${(100 * accuracy).toFixed(2)}% on ${data.test.n} digits`);
  console.log(`backend: ${report.backend}, training throughput: ${Math.round(report.imagesPerSecond)} images/s (${trainSeconds.toFixed(1)} s)`);
  yAll.dispose();
  opt.dispose();
  model.dispose();
  return report;
}

async function evaluate(model, test) {
  let correct = 0;
  for (let i = 0; i < test.n; i += 500) {
    const n = Math.min(500, test.n - i);
    const hits = tf.tidy(() => {
      const x = tf.tensor2d(test.x.subarray(i * 784, (i + n) * 784), [n, 784]);
      const y = tf.tensor1d(test.y.subarray(i, i + n), 'int32');
      return tf.sum(tf.cast(tf.equal(tf.argMax(model.forward(x), -1), y), 'int32'));
    });
    correct += (await hits.data())[0];
    hits.dispose();
  }
  return correct / test.n;
}

/** Copies `n` digits starting at `start` into `out`, each moved by a random offset in [−2, 2]². */
function shiftBatch(x, start, n, out, rng) {
  out.fill(0);
  for (let k = 0; k < n; k++) {
    const dx = Math.floor(rng.uniform() * 5) - 2;
    const dy = Math.floor(rng.uniform() * 5) - 2;
    const src = (start + k) * 784;
    for (let r = 0; r < 28; r++) {
      const rr = r - dy;
      if (rr < 0 || rr >= 28) continue;
      for (let c = 0; c < 28; c++) {
        const cc = c - dx;
        if (cc >= 0 && cc < 28) out[k * 784 + r * 28 + c] = x[src + rr * 28 + cc];
      }
    }
  }
}
