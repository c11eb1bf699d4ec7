/**
 * LeNet-5 (@dl/cnn) on MNIST, in a worker: trains on mini-batches of the digits in mnist.bin (written
 * at build time by scripts/prepare-assets.mjs), or loads a safetensors checkpoint of its state dict;
 * between steps it classifies the page's drawing and returns the feature maps of both convolutions.
 */
import * as tf from '@tensorflow/tfjs-core';
import { crossEntropy, loadIntoModule, manualSeed, saveCheckpoint } from '@dl/core';
import { LeNet5 } from '@dl/cnn';
import { Adam } from '@dl/optim';
import { serveTrainer } from '../../worker/serve';

export interface CnnConfig {
  mode: 'train' | 'load';
  dataUrl: string;
  steps: number;
  batch: number;
  lr: number;
  /** A safetensors file of LeNet5's state dict (mode 'load'). */
  checkpoint?: ArrayBuffer;
}

export interface CnnProgress {
  step: number;
  loss?: number;
  /** Accuracy on the held-out digits, every few steps. */
  accuracy?: number;
  loaded?: boolean;
  done: boolean;
}

/** A feature map: `c` channels of h × w, channel-last as the network computes them. */
export interface FeatureMap {
  h: number;
  w: number;
  c: number;
  data: Float32Array;
}

export interface Classification {
  probs: number[];
  conv1: FeatureMap;
  conv2: FeatureMap;
}

const EVAL_EVERY = 25;
const EVAL_DIGITS = 500;
const EVAL_BATCH = 50;

interface Digits {
  nTrain: number;
  nTest: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

let net: LeNet5;
let opt: Adam | null = null;
let data: Digits;
let config: CnnConfig;
let step = 0;
let cursor = 0;

async function loadDigits(url: string): Promise<Digits> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not fetch ${url}: HTTP ${res.status} (run \`pnpm --filter web build\`, which writes it)`);
  const bytes = new Uint8Array(await res.arrayBuffer());
  const view = new DataView(bytes.buffer);
  if (String.fromCharCode(...bytes.subarray(0, 4)) !== 'MNST') throw new Error(`${url} is not an MNIST subset written by prepare-assets.mjs`);
  const nTrain = view.getUint32(4, true);
  const nTest = view.getUint32(8, true);
  const n = nTrain + nTest;
  return { nTrain, nTest, labels: bytes.subarray(16, 16 + n), pixels: bytes.subarray(16 + n) };
}

/** Digits [from, from + n) as an NHWC batch in [0, 1] and their labels. */
function batchOf(from: number, n: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const x = new Float32Array(n * 784);
  const y = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    y[k] = data.labels[from + k];
    const src = (from + k) * 784;
    for (let p = 0; p < 784; p++) x[k * 784 + p] = data.pixels[src + p] / 255;
  }
  return { x: tf.tensor4d(x, [n, 28, 28, 1]), y: tf.tensor1d(y, 'int32') };
}

/** Accuracy on the first EVAL_DIGITS held-out digits, in batches (one 500-image batch stalled SwiftShader's WebGPU). */
async function accuracy(): Promise<number> {
  const n = Math.min(EVAL_DIGITS, data.nTest);
  let c = 0;
  for (let from = 0; from < n; from += EVAL_BATCH) {
    const m = Math.min(EVAL_BATCH, n - from);
    const { x, y } = batchOf(data.nTrain + from, m);
    const correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(net.forward(x), 1), y), 'float32')));
    c += (await correct.data())[0];
    tf.dispose([x, y, correct]);
  }
  return c / n;
}

serveTrainer({
  async init(raw) {
    config = raw as CnnConfig;
    manualSeed(0);
    net = new LeNet5();
    data = await loadDigits(config.dataUrl);
    if (config.mode === 'load') {
      if (!config.checkpoint) throw new Error('no checkpoint file given');
      await loadIntoModule(net, config.checkpoint);
    } else {
      opt = new Adam(net.parameters(), { lr: config.lr });
    }
  },
  async step() {
    if (config.mode === 'load') return { step: 0, loaded: true, accuracy: await accuracy(), done: true } satisfies CnnProgress;
    if (cursor + config.batch > data.nTrain) cursor = 0;
    const { x, y } = batchOf(cursor, config.batch);
    cursor += config.batch;
    const lossT = await opt!.minimize(() => crossEntropy(net.forward(x), y) as tf.Scalar);
    const loss = (await lossT!.data())[0];
    tf.dispose([x, y, lossT!]);
    step++;
    const done = step >= config.steps;
    const progress: CnnProgress = { step, loss, done };
    if (step % EVAL_EVERY === 0 || done) progress.accuracy = await accuracy();
    return { ...progress };
  },
  async request(payload) {
    const req = payload as { type: 'classify'; pixels: Float32Array } | { type: 'save' };
    if (req.type === 'save') return saveCheckpoint(net, undefined, { model: 'LeNet5', dataset: 'MNIST', steps: String(step) });
    if (req.type !== 'classify') throw new Error(`unknown request ${(req as { type: string }).type}`);
    const x = tf.tensor4d(req.pixels, [1, 28, 28, 1]);
    // The forward pass of LeNet5 spelled out, to keep the convolutions' outputs (ReLU is fused into them).
    const [c1, c2, p] = tf.tidy(() => {
      const a1 = net.conv1.forward(x);
      const a2 = net.conv2.forward(net.pool1.forward(a1));
      return [a1, a2, tf.softmax(net.forward(x))];
    });
    const map = async (t: tf.Tensor): Promise<FeatureMap> => ({ h: t.shape[1]!, w: t.shape[2]!, c: t.shape[3]!, data: (await t.data()) as Float32Array });
    const result: Classification = { probs: Array.from(await p.data()), conv1: await map(c1), conv2: await map(c2) };
    tf.dispose([x, c1, c2, p]);
    return result;
  },
});
