#!/usr/bin/env node
// @dl/core's LSTM against tfjs-layers' LSTM in the same run, per backend: one training step (forward,
// backward through time, SGD update) and one forward pass over a [32 steps, 16 sequences, 32 features]
// batch with 64 hidden units, the two timed in alternation. Prints medians and ratios (@dl time / peer
// time: < 1 means @dl is faster).
// `node bench/rnn.mjs [backends]` (default cpu,wasm; add webgpu for Dawn — SwiftShader without a GPU).
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend, manualSeed, LSTM } from '@dl/core';

const backends = (process.argv[2] ?? 'cpu,wasm').split(',');
if (backends.includes('webgpu') && !process.env.VK_ICD_FILENAMES && !process.env.DL_WEBGPU_NATIVE) {
  process.env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
}

/** Medians of `a` and `b`, timed in alternation so that load changes on a shared machine hit both alike. */
async function medians(a, b, reps, warmup = 2) {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const ta = [];
  const tb = [];
  for (let i = 0; i < reps; i++) {
    for (const [fn, out] of i % 2 ? [[b, tb], [a, ta]] : [[a, ta], [b, tb]]) {
      const t0 = performance.now();
      await fn();
      out.push(performance.now() - t0);
    }
  }
  const mid = (t) => t.sort((x, y) => x - y)[Math.floor(t.length / 2)];
  return [mid(ta), mid(tb)];
}

const L = 32;
const B = 16;
const I = 32;
const H = 64;
const rows = [];
for (const name of backends) {
  await useBackend(name);
  const reps = name === 'wasm' ? 15 : 7;
  const x = tf.randomNormal([L, B, I]); // ours: time-major, PyTorch's default
  const xPeer = tf.transpose(x, [1, 0, 2]); // tfjs-layers: batch-major
  const target = tf.randomNormal([L, B, H]);
  const targetPeer = tf.transpose(target, [1, 0, 2]);

  manualSeed(0);
  const ours = new LSTM(I, H);
  const oursOpt = tf.train.sgd(1e-3);
  const oursStep = async () => {
    const loss = oursOpt.minimize(() => tf.mean(tf.square(tf.sub(ours.forward(x).output, target))), true, ours.parameters());
    await loss.data(); // wait for the device
    loss.dispose();
  };
  const oursForward = async () => {
    const y = tf.tidy(() => ours.forward(x).output);
    await y.data();
    y.dispose();
  };
  // The orthogonal recurrent initialiser needs tfjs's chained ops (absent with tfjs-core alone); it does not change the timing.
  const peer = tfl.sequential({ layers: [tfl.layers.lstm({ inputShape: [L, I], units: H, returnSequences: true, recurrentInitializer: 'glorotUniform' })] });
  peer.compile({ optimizer: tf.train.sgd(1e-3), loss: 'meanSquaredError' });
  const peerStep = async () => {
    await peer.trainOnBatch(xPeer, targetPeer); // resolves after reading the loss
  };
  const peerForward = async () => {
    const y = peer.predict(xPeer);
    await y.data();
    y.dispose();
  };
  const shape = `${L} steps × ${B} × ${I} → ${H}`;
  const [stepOurs, stepPeer] = await medians(oursStep, peerStep, reps);
  rows.push({ backend: name, task: `LSTM train step (${shape}, SGD)`, ours: stepOurs, peer: stepPeer, peerName: 'tfjs-layers lstm trainOnBatch' });
  const [fwdOurs, fwdPeer] = await medians(oursForward, peerForward, reps);
  rows.push({ backend: name, task: `LSTM forward (${shape})`, ours: fwdOurs, peer: fwdPeer, peerName: 'tfjs-layers lstm predict' });
  tf.dispose([x, xPeer, target, targetPeer]);
  ours.dispose();
  oursOpt.dispose();
  peer.dispose();
}

console.log(`\n@dl/core LSTM bench, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`);
console.log('| backend | task | @dl/core median (ms) | peer | peer median (ms) | ratio @dl/peer |');
console.log('| --- | --- | ---: | --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.backend} | ${r.task} | ${r.ours.toFixed(2)} | ${r.peerName} | ${r.peer.toFixed(2)} | ${(r.ours / r.peer).toFixed(2)} |`);
process.exit(0);
