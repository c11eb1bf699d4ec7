// The browser demo. Normal mode: train an MLP on two spirals and draw its decision regions.
// `?selftest=1&backend=X`: run the browser self-tests on backend X and publish window.__selftest.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { useBackend, manualSeed, Sequential, Linear, Tanh, crossEntropy, Rng } from '@dl/core';
import { runSelfTests } from './selftest.mjs';

setWasmPaths(new URL('./', import.meta.url).href);
const params = new URLSearchParams(location.search);
const log = (line) => {
  const el = document.getElementById('log');
  el.textContent += `${line}\n`;
};

if (params.has('selftest')) {
  const backend = params.get('backend') ?? 'auto';
  window.__selftest = runSelfTests(backend).catch((e) => ({ backend, error: String(e && e.stack ? e.stack : e), results: [] }));
  window.__selftest.then((r) => log(JSON.stringify(r, null, 1)));
} else {
  document.getElementById('train').addEventListener('click', () => train(document.getElementById('backend').value).catch((e) => log(String(e))));
}

function spirals(n, rng) {
  const x = new Float32Array(n * 2);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const r = (i / n) * 4 + 0.3;
    const a = r * 1.8 + c * Math.PI + rng.normal() * 0.12;
    x[2 * i] = (r * Math.cos(a)) / 4.5;
    x[2 * i + 1] = (r * Math.sin(a)) / 4.5;
    y[i] = c;
  }
  return { x, y };
}

async function train(name) {
  document.getElementById('log').textContent = '';
  const report = await useBackend(name);
  log(`backend: ${report.summary}`);
  manualSeed(0);
  const model = new Sequential(new Linear(2, 32), new Tanh(), new Linear(32, 32), new Tanh(), new Linear(32, 2));
  const data = spirals(400, new Rng(1));
  const x = tf.tensor2d(data.x, [400, 2]);
  const y = tf.tensor1d(data.y, 'int32');
  const opt = tf.train.adam(0.02);
  const t0 = performance.now();
  for (let step = 0; step <= 400; step++) {
    const loss = opt.minimize(() => crossEntropy(model.forward(x), y), true, model.parameters());
    if (step % 50 === 0) {
      log(`step ${step}  loss ${(await loss.data())[0].toFixed(4)}`);
      await draw(model, data);
    }
    loss.dispose();
  }
  log(`${((performance.now() - t0) / 1000).toFixed(1)} s on ${tf.getBackend()}`);
  tf.dispose([x, y]);
  opt.dispose();
  model.dispose();
}

async function draw(model, data) {
  const canvas = document.getElementById('plot');
  const ctx = canvas.getContext('2d');
  const W = canvas.width;
  const grid = tf.tidy(() => {
    const lin = tf.linspace(-1, 1, W);
    const gx = tf.tile(tf.reshape(lin, [1, W]), [W, 1]);
    const gy = tf.tile(tf.reshape(tf.reverse(lin), [W, 1]), [1, W]);
    const pts = tf.stack([tf.reshape(gx, [-1]), tf.reshape(gy, [-1])], 1); // [W·W, 2]
    return tf.slice(tf.softmax(model.forward(pts)), [0, 1], [W * W, 1]); // P(class 1)
  });
  const p = await grid.data();
  grid.dispose();
  const img = ctx.createImageData(W, W);
  for (let i = 0; i < W * W; i++) {
    img.data[4 * i] = 255 * p[i];
    img.data[4 * i + 1] = 180;
    img.data[4 * i + 2] = 255 * (1 - p[i]);
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  for (let i = 0; i < data.y.length; i++) {
    ctx.fillStyle = data.y[i] ? '#800' : '#008';
    ctx.fillRect(((data.x[2 * i] + 1) / 2) * W - 1, ((1 - data.x[2 * i + 1]) / 2) * W - 1, 2, 2);
  }
}
