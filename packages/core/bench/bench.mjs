#!/usr/bin/env node
// @dl/core against tfjs-layers in the same run, per backend: one training step of an MNIST-sized MLP
// (784-256-128-10, batch 64, Adam) and cross-entropy forward+backward. Prints medians and ratios
// (@dl time / peer time: < 1 means @dl is faster).
// `node bench/bench.mjs [backends]` (default cpu,wasm; add webgpu for Dawn — SwiftShader without a GPU).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend, manualSeed, Sequential, Linear, ReLU, crossEntropy } from '@dl/core';

const backends = (process.argv[2] ?? 'cpu,wasm').split(',');
if (backends.includes('webgpu') && !process.env.VK_ICD_FILENAMES && !process.env.DL_WEBGPU_NATIVE) {
  process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
}

async function median(fn, reps, warmup = 3) {
  for (let i = 0; i < warmup; i++) await fn();
  const times = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const rows = [];
for (const name of backends) {
  await useBackend(name);
  const reps = name === 'cpu' ? 7 : 15;
  const B = 64;
  const x = tf.randomUniform([B, 784]);
  const y = tf.tensor1d(Array.from({ length: B }, (_, i) => i % 10), 'int32');
  const yHot = tf.oneHot(y, 10);

  // The same MLP twice: @dl/core layers with tf.train.adam, and tfjs-layers with trainOnBatch.
  manualSeed(0);
  const ours = new Sequential(new Linear(784, 256), new ReLU(), new Linear(256, 128), new ReLU(), new Linear(128, 10));
  const oursOpt = tf.train.adam(1e-3);
  const oursStep = async () => {
    const loss = oursOpt.minimize(() => crossEntropy(ours.forward(x), y), true, ours.parameters());
    await loss.data(); // wait for the device
    loss.dispose();
  };
  const peer = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [784], units: 256, activation: 'relu' }),
      tfl.layers.dense({ units: 128, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
  peer.compile({ optimizer: tf.train.adam(1e-3), loss: (t, p) => tf.losses.softmaxCrossEntropy(t, p) });
  const peerStep = async () => {
    await peer.trainOnBatch(x, yHot); // resolves after reading the loss
  };
  const tOurs = await median(oursStep, reps);
  const tPeer = await median(peerStep, reps);
  rows.push({ backend: name, task: 'MLP train step (784-256-128-10, batch 64, Adam)', ours: tOurs, peer: tPeer, peerName: 'tfjs-layers trainOnBatch' });

  const logits = tf.randomNormal([512, 1000]);
  const t512 = tf.tensor1d(Array.from({ length: 512 }, (_, i) => (i * 7) % 1000), 'int32');
  const t512Hot = tf.oneHot(t512, 1000);
  const gOurs = async () => {
    const g = tf.grad((l) => crossEntropy(l, t512))(logits);
    await g.data();
    g.dispose();
  };
  const gPeer = async () => {
    const g = tf.grad((l) => tf.losses.softmaxCrossEntropy(t512Hot, l))(logits);
    await g.data();
    g.dispose();
  };
  rows.push({ backend: name, task: 'cross-entropy fwd+bwd (512 × 1000)', ours: await median(gOurs, reps), peer: await median(gPeer, reps), peerName: 'tf.losses.softmaxCrossEntropy' });
  tf.dispose([x, y, yHot, logits, t512, t512Hot]);
  ours.dispose();
  oursOpt.dispose();
  peer.dispose();
}

console.log(`\n@dl/core bench, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
console.log('| backend | task | @dl/core median (ms) | peer | peer median (ms) | ratio @dl/peer |');
console.log('| --- | --- | ---: | --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.backend} | ${r.task} | ${r.ours.toFixed(2)} | ${r.peerName} | ${r.peer.toFixed(2)} | ${(r.ours / r.peer).toFixed(2)} |`);
process.exit(0);
