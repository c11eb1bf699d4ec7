#!/usr/bin/env node
// `pnpm bench`: LeNet-5 training throughput (images/s) of @dl/cnn against the same network built with
// tfjs-layers (tf.sequential + trainOnBatch, Adam) on the same backend in the same run, as a ratio
// (target ≥ 1.0); and ResNet-18 forward latency (batch 1, 224×224) per backend. Prints medians.
// BENCH_BACKENDS=cpu,wasm,webgpu (default) picks backends; BENCH_STEPS the timed steps per trial.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { useBackend, crossEntropy, manualSeed } from '@dl/core';
import { LeNet5, resnet18 } from '../dist/index.js';

const backends = (process.env.BENCH_BACKENDS ?? 'cpu,wasm,webgpu').split(',');
const steps = Number(process.env.BENCH_STEPS ?? 5);
const batch = 64;
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function data() {
  const x = tf.randomUniform([batch, 28, 28, 1], 0, 1, 'float32', 1);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  return { x, labels, onehot: tf.oneHot(labels, 10) };
}

async function timeSteps(step) {
  await step(); // warm-up (kernels, shaders, optimizer slots)
  const trials = [];
  for (let t = 0; t < 3; t++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await step();
    trials.push((steps * batch) / ((performance.now() - t0) / 1000));
  }
  return median(trials);
}

async function ours({ x, labels }) {
  manualSeed(0);
  const net = new LeNet5();
  const opt = tf.train.adam(1e-3);
  const ips = await timeSteps(async () => {
    const loss = opt.minimize(() => crossEntropy(net.forward(x), labels), true, net.parameters(true));
    await loss.data();
    loss.dispose();
  });
  opt.dispose();
  net.dispose();
  return ips;
}

async function layers({ x, onehot }) {
  const model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      tfl.layers.maxPooling2d({ poolSize: 2 }),
      tfl.layers.flatten(),
      tfl.layers.dense({ units: 120, activation: 'relu' }),
      tfl.layers.dense({ units: 84, activation: 'relu' }),
      tfl.layers.dense({ units: 10 }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: (y, logits) => tf.losses.softmaxCrossEntropy(y, logits) });
  const ips = await timeSteps(async () => {
    await model.trainOnBatch(x, onehot);
  });
  model.dispose();
  return ips;
}

async function resnetLatency() {
  manualSeed(0);
  const net = resnet18().eval();
  const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 2);
  const run = async () => {
    const y = net.forward(x);
    await y.data();
    y.dispose();
  };
  await run();
  const ms = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    await run();
    ms.push(performance.now() - t0);
  }
  tf.dispose(x);
  net.dispose();
  return median(ms);
}

const rows = [];
for (const name of backends) {
  if (name === 'webgpu') {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  let report;
  try {
    report = await useBackend(name);
  } catch (e) {
    console.log(`${name}: unavailable (${e.message.split('\n')[0]})`);
    continue;
  }
  const d = data();
  const a = await ours(d);
  const b = await layers(d);
  const r = await resnetLatency();
  tf.dispose([d.x, d.labels, d.onehot]);
  rows.push({ backend: report.name, ours: a, layers: b, ratio: a / b, resnet: r });
  console.log(`${report.name}: LeNet @dl/cnn ${a.toFixed(0)} img/s, tfjs-layers ${b.toFixed(0)} img/s, ratio ${(a / b).toFixed(2)}; ResNet-18 forward ${r.toFixed(0)} ms`);
}
console.log(`\nLeNet-5 training, batch ${batch}, Adam; median of 3 × ${steps} steps. ResNet-18 forward, batch 1, 224×224, median of 3.`);
console.log('| backend | @dl/cnn LeNet (img/s) | tfjs-layers LeNet (img/s) | ratio | ResNet-18 forward (ms) |');
console.log('| --- | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.backend} | ${r.ours.toFixed(0)} | ${r.layers.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.resnet.toFixed(0)} |`);
process.exit(0);
