// Browser self-tests of the built @dl/core: gradients registered in a browser bundle, the PyTorch parity
// fixtures (layers, activations, losses), a checkpoint written by PyTorch, and training with a flat
// tensor count. Run by apps/web/test/selftest.test.mjs in headless Chromium for cpu, wasm, webgl and webgpu.
import * as tf from '@tensorflow/tfjs-core';
import * as dl from '@dl/core';
import * as testing from '@dl/core/testing';
import { checkActivationCase, checkLayerCase, checkLossCase, toTensor } from '../../../../packages/core/test/parity-cases.ts';
import layers from '../../../../packages/core/fixtures/layers.json';
import activations from '../../../../packages/core/fixtures/activations.json';
import losses from '../../../../packages/core/fixtures/losses.json';
import checkpoints from '../../../../packages/core/fixtures/checkpoints.json';
import mlpBytes from '../../../../packages/core/fixtures/mlp.safetensors';

export async function runSelfTests(backend) {
  const report = await dl.useBackend(backend);
  const results = [];
  const check = async (name, fn) => {
    const t0 = performance.now();
    try {
      await fn();
      results.push({ name, ok: true, ms: Math.round(performance.now() - t0) });
    } catch (e) {
      results.push({ name, ok: false, error: String(e && e.message ? e.message : e) });
    }
  };
  await check('gradients registered by the bundle', () => {
    for (const k of ['BatchMatMul', 'Conv2D', 'GatherV2', 'Softmax', 'LogSoftmax']) if (!dl.hasGradient(k)) throw new Error(`no gradient for ${k}`);
  });
  for (const c of layers.cases) await check(`layer ${c.name}`, () => checkLayerCase(dl, testing, c));
  for (const c of activations.cases) await check(`activation ${c.name}`, () => checkActivationCase(dl, testing, c));
  for (const c of losses.cases) await check(`loss ${c.name}`, () => checkLossCase(dl, testing, c));
  await check("matMul and gelu equal tfjs's own kernels (on wasm: @dl/core's SIMD kernels run them)", () =>
    testing.assertNoLeaks(async () => {
      if (backend === 'wasm' && !dl.wasmKernelsActive()) throw new Error("@dl/core's wasm SIMD kernels are not active in this browser");
      const a = tf.randomNormal([3, 13, 9], 0, 1, 'float32', 1);
      const b = tf.randomNormal([3, 7, 13], 0, 1, 'float32', 2);
      const x = tf.randomNormal([5, 11], 0, 2, 'float32', 3);
      const ours = [dl.matMul(a, b, true, true), dl.gelu(x)];
      const grads = tf.grads((p, q) => tf.sum(dl.matMul(p, q, true, true)))([a, b]);
      const previous = dl.useWasmKernels(false);
      const theirs = [tf.matMul(a, b, true, true), dl.gelu(x)];
      const ref = tf.grads((p, q) => tf.sum(tf.matMul(p, q, true, true)))([a, b]);
      dl.useWasmKernels(previous);
      const tol = testing.backendTolerance();
      for (const [i, label] of ['matMul', 'gelu', 'da', 'db'].entries()) {
        const [o, t] = i < 2 ? [ours[i], theirs[i]] : [grads[i - 2], ref[i - 2]];
        await testing.assertClose(o, await t.data(), { atol: 10 * tol.atol, rtol: 10 * tol.rtol }, label);
      }
      tf.dispose([a, b, x, ...ours, ...theirs, ...grads, ...ref]);
    }),
  );
  await check('PyTorch safetensors checkpoint reproduces logits', () =>
    testing.assertNoLeaks(async () => {
      const mlp = new dl.Sequential(new dl.Linear(6, 8), new dl.ReLU(), new dl.LayerNorm(8), new dl.Linear(8, 3), new dl.BatchNorm1d(3));
      await dl.loadIntoModule(mlp, mlpBytes);
      mlp.eval();
      const x = toTensor(checkpoints.cases.mlp.input);
      const y = mlp.forward(x);
      await testing.assertClose(y, checkpoints.cases.mlp.output.data, testing.backendTolerance(), 'logits');
      tf.dispose([x, y]);
      mlp.dispose();
    }),
  );
  await check('training lowers the loss with a flat tensor count', () =>
    testing.assertNoLeaks(async () => {
      dl.manualSeed(0);
      const model = new dl.Sequential(new dl.Linear(4, 16), new dl.ReLU(), new dl.Linear(16, 2));
      const x = tf.tensor2d([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]]);
      const y = tf.tensor1d([0, 1, 0, 1], 'int32');
      const opt = tf.train.adam(0.05);
      const losses = [];
      let count = -1;
      for (let i = 0; i < 40; i++) {
        const loss = opt.minimize(() => dl.crossEntropy(model.forward(x), y), true, model.parameters());
        losses.push((await loss.data())[0]);
        loss.dispose();
        if (i === 1) count = tf.memory().numTensors;
        if (i > 1 && tf.memory().numTensors !== count) throw new Error(`tensor count grew at step ${i}`);
      }
      if (!(losses[39] < losses[0] * 0.2)) throw new Error(`loss ${losses[0]} → ${losses[39]}`);
      tf.dispose([x, y]);
      opt.dispose();
      model.dispose();
    }),
  );
  return { backend: report.name, summary: report.summary, results };
}
