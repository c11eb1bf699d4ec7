// The tf.Optimizer adapter with a real tfjs-layers model: compile({ optimizer }) + fit trains, and Adam
// through the adapter follows tf.train.adam's trajectory on the same model.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { assertClose, backendTolerance } from '@dl/core/testing';
import { Adam, AdamW, asTfjsOptimizer, TfjsOptimizerAdapter } from '../src/index.js';

function data() {
  // y = x·[1, −2, 0.5] + 0.3, 32 samples.
  const xs = tf.tidy(() => tf.sub(tf.mul(tf.randomUniform([32, 3], 0, 1, 'float32', 7), 2), 1));
  const ys = tf.tidy(() => tf.add(tf.matMul(xs, tf.tensor2d([[1], [-2], [0.5]])), 0.3));
  return { xs, ys };
}

function model(weights?: tf.Tensor[]) {
  const m = tfl.sequential({ layers: [tfl.layers.dense({ units: 4, inputShape: [3], activation: 'tanh' }), tfl.layers.dense({ units: 1 })] });
  if (weights) m.setWeights(weights);
  return m;
}

// tfjs-layers' fit on WebGPU/SwiftShader costs ~1 s a batch here, so fewer epochs there.
const webgpu = tf.getBackend() === 'webgpu';

describe('tfjs adapter', () => {
  it('is a tf.Optimizer that tfjs-layers compile() accepts and fit() trains with', async () => {
    const { xs, ys } = data();
    const m = model();
    const opt = asTfjsOptimizer(new AdamW([], { lr: 0.05, weightDecay: 1e-4 }));
    expect(opt).toBeInstanceOf(tf.Optimizer);
    m.compile({ optimizer: opt, loss: 'meanSquaredError' });
    const before = tf.tidy(() => m.evaluate(xs, ys) as tf.Scalar);
    const start = tf.memory().numTensors;
    const epochs = webgpu ? 8 : 40;
    const h = await m.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });
    const after = tf.tidy(() => m.evaluate(xs, ys) as tf.Scalar);
    const [b, a] = [(await before.data())[0], (await after.data())[0]];
    expect(a).toBeLessThan(webgpu ? b / 2 : b / 5);
    expect(h.history.loss.length).toBe(epochs);
    expect(opt.iterations).toBe(2 * epochs);
    expect(opt.optimizer.params.length).toBe(4); // both dense layers' kernels and biases were bound
    // New since `start`: AdamW's two slots for each of the 4 variables, and `after`; nothing leaked per batch.
    expect(tf.memory().numTensors - start).toBe(2 * 4 + 1);
    expect(opt.getConfig()).toMatchObject({ name: 'AdamW' });
    tf.dispose([xs, ys, before, after]);
    opt.dispose();
    m.dispose();
  });

  it('Adam through the adapter follows tf.train.adam on the same model', async () => {
    const { xs, ys } = data();
    const ref = model();
    const init = ref.getWeights().map((w) => tf.clone(w));
    const ours = model(init);
    ref.compile({ optimizer: tf.train.adam(0.02, 0.9, 0.999, 1e-7), loss: 'meanSquaredError' });
    const adapter = new TfjsOptimizerAdapter(new Adam([], { lr: 0.02, eps: 1e-7 }));
    ours.compile({ optimizer: adapter, loss: 'meanSquaredError' });
    const epochs = webgpu ? 2 : 10;
    await ref.fit(xs, ys, { epochs, batchSize: 8, shuffle: false, verbose: 0 });
    await ours.fit(xs, ys, { epochs, batchSize: 8, shuffle: false, verbose: 0 });
    const tol = backendTolerance();
    const [rw, ow] = [ref.getWeights(), ours.getWeights()];
    for (let i = 0; i < rw.length; i++) await assertClose(ow[i], Array.from(await rw[i].data()), { atol: tol.atol * 10, rtol: tol.rtol * 10 }, `weight ${i}`);
    // getWeights/setWeights round trip (what model.save with the optimizer uses).
    const weights = await adapter.getWeights();
    expect(weights[0].name).toBe('iter');
    const copy = new TfjsOptimizerAdapter(new Adam([...adapter.optimizer.params], { lr: 0.02, eps: 1e-7 }));
    await copy.setWeights(weights);
    expect(copy.optimizer.iterations).toBe(adapter.optimizer.iterations);
    tf.dispose([xs, ys, ...init, ...weights.map((w) => w.tensor)]);
    copy.dispose();
    adapter.dispose();
    ref.dispose();
    ours.dispose();
  });

  it('rejects an optimizer with the non-finite guard (tfjs applies gradients synchronously)', () => {
    expect(() => asTfjsOptimizer(new Adam([], { nonFinite: 'skip' }))).toThrow(/TfjsOptimizerAdapter: optimizer.nonFinite must be 'none'/);
  });
});
