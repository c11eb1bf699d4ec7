// CNNs from @dl/cnn on real and generated data:
//   1. LeNet-5 on the real MNIST digits (progress bar, held-out accuracy, confusion matrix, a PNG of
//      the misclassified digits);
//   2. FCN-8s on generated shapes on noisy backgrounds (mean IoU, a PNG of image | truth | prediction);
//   3. YOLOv1 on generated shapes (mAP@0.5, a PNG of the detected boxes).
// Images go to apps/node-demo/out/cnn/.
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { crossEntropy, encodePng, manualSeed, Rng } from '@dl/core';
import {
  FCN, LeNet5, VGGBackbone, YoloV1, confusionMatrix, decodeYolo, encodeYoloTargets, makeShapes, meanAveragePrecision, meanIoU, yoloLoss, SHAPE_NAMES,
} from '@dl/cnn';
import { loadMnist } from '../lib/mnist.mjs';
import { progressBar } from '../lib/progress.mjs';
import { saveModel } from '../lib/save.mjs';

const OUT = fileURLToPath(new URL('../../out/cnn/', import.meta.url));

/**
 * AdamW from @dl/optim when it is built (weight decay on weights only, via `decayGroups`, and a linear-warmup
 * cosine learning rate when `totalSteps` is given), else tfjs's Adam; `step` returns the loss.
 */
async function makeOptimizer(module, lr, { weightDecay = 1e-4, totalSteps, warmupSteps } = {}) {
  try {
    const { AdamW, decayGroups, warmupCosine } = await import('@dl/optim');
    const schedule = totalSteps ? warmupCosine({ peak: lr, warmupSteps: warmupSteps ?? Math.max(1, Math.round(totalSteps / 20)), totalSteps, end: lr / 100 }) : lr;
    const opt = new AdamW(decayGroups(module, weightDecay), { lr: schedule, weightDecay });
    return {
      name: `@dl/optim AdamW (lr ${lr}${totalSteps ? `, warmup + cosine over ${totalSteps} steps` : ''}, weight decay ${weightDecay} on weights)`,
      async step(lossFn) {
        const loss = await opt.minimize(lossFn);
        const v = (await loss.data())[0];
        loss.dispose();
        return v;
      },
      dispose: () => opt.dispose?.(),
    };
  } catch (e) {
    if (!(e?.code === 'ERR_MODULE_NOT_FOUND' || /Cannot find/.test(String(e?.message)))) throw e;
    const params = module.parameters(true);
    const opt = tf.train.adam(lr);
    return {
      name: `tf.train.adam (lr ${lr}; @dl/optim not built)`,
      async step(lossFn) {
        const loss = opt.minimize(lossFn, true, params);
        const v = (await loss.data())[0];
        loss.dispose();
        return v;
      },
      dispose: () => opt.dispose(),
    };
  }
}

/** Copies digits order[start … start + n) into `out` (NHWC 28×28×1), each moved by a seeded offset in [−2, 2]². */
function shiftDigits(x, order, start, n, out, rng) {
  out.fill(0);
  for (let k = 0; k < n; k++) {
    const dx = Math.floor(rng.uniform() * 5) - 2;
    const dy = Math.floor(rng.uniform() * 5) - 2;
    const src = order[start + k] * 784;
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

async function predictBatches(n, batch, makeInput, forward) {
  const out = [];
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const t = tf.tidy(() => forward(makeInput(i, m)));
    out.push(await t.data());
    t.dispose();
  }
  return out;
}

async function lenetOnMnist({ quick, epochs, save }) {
  const data = loadMnist();
  const nTrain = quick ? 2000 : data.train.n;
  const E = epochs ?? (quick ? 1 : 12);
  const batch = 32;
  const steps = Math.floor(nTrain / batch);
  manualSeed(0);
  const net = new LeNet5();
  const opt = await makeOptimizer(net, 3e-3, { weightDecay: 5e-4, totalSteps: E * steps });
  console.log(`LeNet-5 (${net.numParameters().toLocaleString('en')} parameters) on ${nTrain} real MNIST digits (shifted ±2 px, reshuffled each epoch), ${data.test.n} held out; ${E} epochs, batch ${batch}, ${opt.name}`);
  const rng = new Rng(0);
  const buf = new Float32Array(batch * 784);
  const ybuf = new Int32Array(batch);
  const order = Int32Array.from({ length: nTrain }, (_, i) => i);
  let seconds = 0;
  let flat = -1;
  for (let epoch = 0; epoch < E; epoch++) {
    const bar = progressBar(steps, `epoch ${epoch + 1}/${E}`);
    let lossSum = 0;
    const t0 = performance.now();
    for (let i = nTrain - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s < steps; s++) {
      shiftDigits(data.train.x, order, s * batch, batch, buf, rng);
      for (let k = 0; k < batch; k++) ybuf[k] = data.train.y[order[s * batch + k]];
      const x = tf.tensor4d(buf, [batch, 28, 28, 1]); // [B, 28, 28, 1]
      const y = tf.tensor1d(ybuf, 'int32'); // [B]
      lossSum += await opt.step(() => crossEntropy(net.forward(x), y));
      tf.dispose([x, y]);
      if (s === 1 && epoch === 0) flat = tf.memory().numTensors;
      if (s % 10 === 0 || s === steps - 1) bar.update(s + 1, { loss: (lossSum / (s + 1)).toFixed(4) });
    }
    seconds += (performance.now() - t0) / 1000;
    bar.done();
  }
  if (tf.memory().numTensors !== flat) throw new Error(`LeNet training leaked ${tf.memory().numTensors - flat} tensors`);
  net.eval();
  const logits = await predictBatches(data.test.n, 500, (i, m) => tf.tensor4d(data.test.x.subarray(i * 784, (i + m) * 784), [m, 28, 28, 1]), (x) => tf.argMax(net.forward(x), -1));
  const predicted = Int32Array.from(logits.flatMap((a) => Array.from(a)));
  const cm = confusionMatrix(predicted, data.test.y, 10);
  const correct = cm.reduce((a, row, i) => a + row[i], 0);
  const accuracy = correct / data.test.n;
  console.log(`held-out accuracy: ${(100 * accuracy).toFixed(2)}% (${correct}/${data.test.n}); training ${seconds.toFixed(1)} s, ${Math.round((E * steps * batch) / seconds)} images/s on ${tf.getBackend()}`);
  console.log('confusion matrix (rows: true digit, columns: predicted):');
  console.log(`      ${[...Array(10).keys()].map((d) => String(d).padStart(4)).join('')}`);
  cm.forEach((row, d) => console.log(`  ${d}:  ${row.map((v) => String(v).padStart(4)).join('')}`));
  // The misclassified digits, 16 per row, each with a red bar (true) and a green bar (predicted) of length digit+1.
  const wrong = [];
  predicted.forEach((p, i) => p !== data.test.y[i] && wrong.push(i));
  const cols = 16;
  const rows = Math.max(1, Math.ceil(Math.min(wrong.length, 128) / cols));
  const cell = 34;
  const W = cols * cell;
  const H = rows * cell;
  const px = new Uint8Array(W * H * 3).fill(40);
  wrong.slice(0, 128).forEach((idx, k) => {
    const ox = (k % cols) * cell + 3;
    const oy = Math.floor(k / cols) * cell + 1;
    for (let r = 0; r < 28; r++) for (let c = 0; c < 28; c++) px.fill(Math.round(255 * data.test.x[idx * 784 + r * 28 + c]), ((oy + r) * W + ox + c) * 3, ((oy + r) * W + ox + c) * 3 + 3);
    for (let b = 0; b < 2; b++) {
      const len = 2 + 2.6 * (b === 0 ? data.test.y[idx] : predicted[idx]);
      for (let c = 0; c < len; c++) px.set(b === 0 ? [230, 60, 60] : [60, 220, 90], ((oy + 29 + 2 * b) * W + ox + c) * 3);
    }
  });
  writeFileSync(`${OUT}lenet-misclassified.png`, encodePng(px, W, H, 3));
  console.log(`wrote out/cnn/lenet-misclassified.png (${wrong.length} misclassified; red bar = true digit, green = predicted, length ∝ digit)`);
  if (save) await saveModel(save, 'lenet-mnist', net, { model: 'LeNet5', input: '[B, 28, 28, 1] grey levels in [0, 1], white digit on black', classes: '0-9', accuracy: accuracy.toFixed(4) });
  opt.dispose();
  net.dispose();
  return { accuracy, seconds };
}

const PALETTE = [[30, 30, 30], [230, 80, 80], [80, 200, 90], [80, 130, 240]];

async function fcnOnShapes({ quick, epochs }) {
  const size = 64;
  const nTrain = quick ? 96 : 800;
  const nTest = quick ? 32 : 96;
  const E = epochs ?? (quick ? 2 : 10);
  const batch = 8;
  const steps = Math.floor(nTrain / batch);
  const train = makeShapes(nTrain, { size, seed: 1 });
  const test = makeShapes(nTest, { size, seed: 2 });
  manualSeed(1);
  const fcn = new FCN({ numClasses: 4, variant: '8s', backbone: new VGGBackbone({ widths: [16, 32, 64, 64, 64], depths: [1, 1, 1, 1, 1] }), headChannels: 64 });
  // As in the FCN paper, the final ×8 up-sampling stays fixed bilinear (also: its filter gradient has no fast kernel on cpu/wasm).
  fcn.freeze('upscore8');
  const opt = await makeOptimizer(fcn, 5e-3, { totalSteps: E * steps });
  console.log(`FCN-8s (${fcn.numParameters().toLocaleString('en')} parameters, upscore8 fixed bilinear) on ${nTrain} generated ${size}×${size} shape images (background + ${SHAPE_NAMES.join(', ')}), ${nTest} held out; ${E} epochs, batch ${batch}, ${opt.name}`);
  const t0 = performance.now();
  for (let epoch = 0; epoch < E; epoch++) {
    const bar = progressBar(steps, `epoch ${epoch + 1}/${E}`);
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const x = tf.tensor4d(train.images.subarray(s * batch * size * size * 3, (s + 1) * batch * size * size * 3), [batch, size, size, 3]);
      const y = tf.tensor3d(train.masks.subarray(s * batch * size * size, (s + 1) * batch * size * size), [batch, size, size], 'int32');
      lossSum += await opt.step(() => crossEntropy(fcn.forward(x), y));
      tf.dispose([x, y]);
      if (s % 5 === 0 || s === steps - 1) bar.update(s + 1, { loss: (lossSum / (s + 1)).toFixed(4) });
    }
    bar.done();
  }
  const seconds = (performance.now() - t0) / 1000;
  fcn.eval();
  const preds = await predictBatches(nTest, 16, (i, m) => tf.tensor4d(test.images.subarray(i * size * size * 3, (i + m) * size * size * 3), [m, size, size, 3]), (x) => tf.argMax(fcn.forward(x), -1));
  const predicted = Int32Array.from(preds.flatMap((a) => Array.from(a)));
  const iou = meanIoU(predicted, test.masks, 4);
  console.log(`held-out mean IoU: ${iou.meanIoU.toFixed(3)} (per class: ${['background', ...SHAPE_NAMES].map((n, i) => `${n} ${iou.perClass[i].toFixed(3)}`).join(', ')}); pixel accuracy ${(100 * iou.pixelAccuracy).toFixed(1)}%; training ${seconds.toFixed(1)} s`);
  // image | truth | prediction for 6 held-out images.
  const show = 6;
  const W = 3 * size + 8;
  const H = show * (size + 4);
  const px = new Uint8Array(W * H * 3).fill(255);
  for (let k = 0; k < show; k++) {
    for (let yy = 0; yy < size; yy++) {
      for (let xx = 0; xx < size; xx++) {
        const at = (k * size + yy) * size + xx;
        const o = ((k * (size + 4) + yy) * W + xx) * 3;
        for (let c = 0; c < 3; c++) px[o + c] = Math.round(255 * test.images[at * 3 + c]);
        px.set(PALETTE[test.masks[at]], o + (size + 4) * 3);
        px.set(PALETTE[predicted[at]], o + 2 * (size + 4) * 3);
      }
    }
  }
  writeFileSync(`${OUT}fcn-predictions.png`, encodePng(px, W, H, 3));
  console.log('wrote out/cnn/fcn-predictions.png (image | truth | prediction; red circle, green square, blue triangle)');
  opt.dispose();
  fcn.dispose();
  return { meanIoU: iou.meanIoU, seconds };
}

async function yoloOnShapes({ quick, epochs }) {
  const size = 64;
  const S = 4;
  const B = 2;
  const C = 3;
  const nTrain = quick ? 128 : 1280;
  const nTest = quick ? 32 : 200;
  const E = epochs ?? (quick ? 2 : 16);
  const evalEvery = quick ? E : 4;
  const batch = 16;
  const steps = Math.floor(nTrain / batch);
  const test = makeShapes(nTest, { size, seed: 12 });
  manualSeed(2);
  const yolo = new YoloV1({ S, B, C, inputSize: size, widths: [16, 32, 64, 64, 128], hidden: 512, dropout: 0.1 });
  const opt = await makeOptimizer(yolo, 2e-3, { totalSteps: E * steps });
  console.log(`YOLOv1 (S=${S}, B=${B}, C=${C}; ${yolo.numParameters().toLocaleString('en')} parameters) on ${nTrain} freshly generated shape images per epoch, ${nTest} held out; ${E} epochs, batch ${batch}, ${opt.name}`);
  // Held-out detections for every test image (eval mode: no dropout).
  const detect = async () => {
    yolo.eval();
    const found = [];
    for (let i = 0; i < nTest; i += 25) {
      const m = Math.min(25, nTest - i);
      const raw = tf.tidy(() => yolo.forward(tf.tensor4d(test.images.subarray(i * size * size * 3, (i + m) * size * size * 3), [m, size, size, 3])));
      found.push(...(await decodeYolo(raw, { B, C, scoreThreshold: 0.05, iouThreshold: 0.5 })));
      raw.dispose();
    }
    yolo.train();
    return found;
  };
  let seconds = 0;
  let detections = [];
  let result = { mAP: 0, perClass: [] };
  for (let epoch = 0; epoch < E; epoch++) {
    // The generator is unlimited, so every epoch sees new images (seeds 1000 + epoch; the test set uses seed 12).
    const train = makeShapes(nTrain, { size, seed: 1000 + epoch });
    const targets = encodeYoloTargets(train.objects, { S, C }); // [n, S, S, 5 + C]
    const t0 = performance.now();
    const bar = progressBar(steps, `epoch ${epoch + 1}/${E}`);
    let lossSum = 0;
    for (let s = 0; s < steps; s++) {
      const x = tf.tensor4d(train.images.subarray(s * batch * size * size * 3, (s + 1) * batch * size * size * 3), [batch, size, size, 3]); // [batch, 64, 64, 3]
      const t = tf.slice(targets, [s * batch, 0, 0, 0], [batch, S, S, 5 + C]); // [batch, S, S, 5 + C]
      lossSum += await opt.step(() => yoloLoss(yolo.forward(x), t, { B, C }));
      tf.dispose([x, t]);
      if (s % 5 === 0 || s === steps - 1) bar.update(s + 1, { loss: (lossSum / (s + 1)).toFixed(4) });
    }
    bar.done();
    targets.dispose();
    seconds += (performance.now() - t0) / 1000;
    if ((epoch + 1) % evalEvery === 0 || epoch === E - 1) {
      detections = await detect();
      result = meanAveragePrecision(detections, test.objects, { numClasses: C, iouThreshold: 0.5 });
      console.log(`after epoch ${epoch + 1}: held-out mAP@0.5 ${result.mAP.toFixed(3)} (training ${seconds.toFixed(1)} s so far)`);
    }
  }
  const { mAP, perClass } = result;
  console.log(`held-out mAP@0.5: ${mAP.toFixed(3)} (AP: ${SHAPE_NAMES.map((n, i) => `${n} ${perClass[i].toFixed(3)}`).join(', ')}); training ${seconds.toFixed(1)} s`);
  // 8 held-out images with detections scoring ≥ 0.3 (box colour = class).
  const show = 8;
  const W = show * (size + 4);
  const px = new Uint8Array(W * size * 3).fill(255);
  for (let k = 0; k < show; k++) {
    const ox = k * (size + 4);
    for (let yy = 0; yy < size; yy++) for (let xx = 0; xx < size; xx++) for (let c = 0; c < 3; c++) px[(yy * W + ox + xx) * 3 + c] = Math.round(255 * test.images[((k * size + yy) * size + xx) * 3 + c]);
    for (const d of detections[k].filter((d) => d.score >= 0.3)) {
      const [x1, y1, x2, y2] = d.box.map((v) => Math.min(size - 1, Math.max(0, Math.round(v * size))));
      const col = PALETTE[d.classId + 1];
      for (let xx = x1; xx <= x2; xx++) for (const yy of [y1, y2]) px.set(col, (yy * W + ox + xx) * 3);
      for (let yy = y1; yy <= y2; yy++) for (const xx of [x1, x2]) px.set(col, (yy * W + ox + xx) * 3);
    }
  }
  writeFileSync(`${OUT}yolo-detections.png`, encodePng(px, W, size, 3));
  console.log('wrote out/cnn/yolo-detections.png (boxes with score ≥ 0.3; red circle, green square, blue triangle)');
  opt.dispose();
  yolo.dispose();
  return { mAP, seconds };
}

/** @param {{ quick?: boolean, epochs?: number, only?: string[] }} options */
export async function run({ quick = false, epochs, only, save } = {}) {
  mkdirSync(OUT, { recursive: true });
  const report = { backend: tf.getBackend() };
  const want = (name) => !only || only.includes(name);
  if (want('lenet')) report.lenet = await lenetOnMnist({ quick, epochs, save });
  if (want('fcn')) report.fcn = await fcnOnShapes({ quick, epochs });
  if (want('yolo')) report.yolo = await yoloOnShapes({ quick, epochs });
  console.log(`summary: ${JSON.stringify(report)}`);
  return report;
}
