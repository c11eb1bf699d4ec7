// Every model trains on the active backend (cpu, wasm through @dl/core's cpu fallbacks for the conv
// filter gradients, webgpu): a few optimizer steps on one tiny fixed batch lower the loss, and the tensor
// count stays flat across steps.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { crossEntropy, manualSeed, type Module } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { FCN, LeNet5, NiN, ResNet, VGGBackbone, YoloV1, encodeYoloTargets, makeShapes, yoloLoss } from '../src/index.js';

async function train(model: Module, lossFn: () => tf.Scalar, steps: number, opt: tf.Optimizer): Promise<number[]> {
  const losses: number[] = [];
  let count = -1;
  for (let i = 0; i < steps; i++) {
    const loss = opt.minimize(lossFn, true, model.parameters(true))!;
    losses.push((await loss.data())[0]);
    loss.dispose();
    const now = tf.memory().numTensors;
    if (i >= 1 && count >= 0) expect(now, `tensor count at step ${i}`).toBe(count);
    count = now;
  }
  return losses;
}

const N = 2;
const shapes = makeShapes(N, { size: 32, seed: 3 });

describe('training on the active backend', () => {
  it('LeNet-5 (Adam)', async () => {
    manualSeed(1);
    await assertNoLeaks(async () => {
      const net = new LeNet5();
      const x = tf.tidy(() => tf.image.resizeBilinear(tf.mean(tf.tensor4d(shapes.images, [N, 32, 32, 3]), -1, true) as tf.Tensor4D, [28, 28]));
      const y = tf.tensor1d([0, 1], 'int32');
      const opt = tf.train.adam(3e-3);
      const losses = await train(net, () => crossEntropy(net.forward(x), y), 4, opt);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      opt.dispose();
      tf.dispose([x, y]);
      net.dispose();
    });
  });

  it('CIFAR-layout ResNet with projection shortcuts (SGD momentum)', async () => {
    manualSeed(2);
    // tfjs's MomentumOptimizer.dispose() forgets its learning-rate scalar: made outside the leak check.
    const opt = tf.train.momentum(0.05, 0.9);
    await assertNoLeaks(async () => {
      const net = new ResNet({ block: 'basic', layers: [1, 1], widths: [4, 8], stem: 'cifar', numClasses: 3 });
      const x = tf.tensor4d(shapes.images, [N, 32, 32, 3]);
      const y = tf.tensor1d([2, 1], 'int32');
      const losses = await train(net, () => crossEntropy(net.forward(x), y), 4, opt);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      opt.dispose();
      tf.dispose([x, y]);
      net.dispose();
    });
  });

  it('Network-in-Network (Adam)', async () => {
    manualSeed(3);
    await assertNoLeaks(async () => {
      const net = new NiN({ numClasses: 3, dropout: 0, blocks: [{ channels: [6, 6, 6], kernel: 3, pool: 'max' }, { channels: [6, 6, 3], kernel: 3 }] });
      const x = tf.tensor4d(shapes.images, [N, 32, 32, 3]);
      const y = tf.tensor1d([2, 1], 'int32');
      const opt = tf.train.adam(1e-2);
      const losses = await train(net, () => crossEntropy(net.forward(x), y), 4, opt);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      opt.dispose();
      tf.dispose([x, y]);
      net.dispose();
    });
  });

  it('FCN-8s (Adam, per-pixel cross-entropy)', async () => {
    manualSeed(4);
    await assertNoLeaks(async () => {
      const fcn = new FCN({ numClasses: 4, backbone: new VGGBackbone({ widths: [4, 4, 8, 8, 8], depths: [1, 1, 1, 1, 1] }), headChannels: 8 });
      const x = tf.tensor4d(shapes.images, [N, 32, 32, 3]);
      const y = tf.tensor3d(shapes.masks, [N, 32, 32], 'int32');
      const opt = tf.train.adam(1e-2);
      const losses = await train(fcn, () => crossEntropy(fcn.forward(x), y), 4, opt);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      opt.dispose();
      tf.dispose([x, y]);
      fcn.dispose();
    });
  });

  it('YOLOv1 (Adam, YOLO loss)', async () => {
    manualSeed(5);
    await assertNoLeaks(async () => {
      const yolo = new YoloV1({ S: 2, B: 2, C: 3, inputSize: 32, widths: [4, 8, 8, 8, 8], hidden: 16, dropout: 0 });
      const x = tf.tensor4d(shapes.images, [N, 32, 32, 3]);
      const target = encodeYoloTargets(shapes.objects, { S: 2, C: 3 });
      const opt = tf.train.adam(1e-2);
      const losses = await train(yolo, () => yoloLoss(yolo.forward(x), target, { B: 2, C: 3 }), 4, opt);
      expect(losses[losses.length - 1]).toBeLessThan(losses[0]);
      opt.dispose();
      tf.dispose([x, target]);
      yolo.dispose();
    });
  });
});

describe('convolution gradients', () => {
  // On cpu and wasm, where convolutions are @dl/cnn's DLConv2D kernel; elsewhere tfjs's fused conv2d, a
  // customGrad, computes every input's gradient.
  it.runIf(['cpu', 'wasm'].includes(tf.getBackend()))('computes the input gradient only when something needs it (a first layer skips it)', async () => {
    const { Conv2d } = await import('../src/index.js');
    manualSeed(2);
    const conv = new Conv2d(3, 4, 3, { padding: 1 });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    const xv = tf.variable(x);
    const kernels = async (vars: tf.Variable[]) => {
      const info = await tf.profile(() => {
        const { value, grads } = tf.variableGrads(() => tf.sum(conv.forward(xv)) as tf.Scalar, vars);
        tf.dispose([value, ...Object.values(grads)]);
      });
      return info.kernels.length;
    };
    await assertNoLeaks(async () => {
      const paramsOnly = await kernels(conv.parameters());
      const withInput = await kernels([...conv.parameters(), xv]);
      // The input's gradient is a padded, flipped-kernel convolution (or a transposed one): more kernels.
      expect(withInput).toBeGreaterThan(paramsOnly);
    });
    tf.dispose([x, xv]);
  });

  // tfjs's Conv2DBackpropFilter is a scalar loop on cpu and, missing on wasm, the same loop there: a grouped
  // Conv2d (4 groups of 16 channels on 16 × 28 × 28 images) took 24 s a step on wasm through it, a
  // ConvTranspose2d 5 s. Both now compute their filter gradients as forward convolutions or products.
  it.runIf(['cpu', 'wasm'].includes(tf.getBackend()))("grouped and transposed convolutions never run tfjs's Conv2DBackpropFilter", async () => {
    const { Conv2d, ConvTranspose2d } = await import('../src/index.js');
    manualSeed(3);
    const layers = [new Conv2d(8, 8, 3, { padding: 1, groups: 2 }), new ConvTranspose2d(8, 4, 4, { stride: 2, padding: 1 }), new ConvTranspose2d(8, 4, 3, { stride: 2, groups: 2 })];
    const xv = tf.variable(tf.randomNormal([2, 6, 6, 8], 0, 1, 'float32', 1));
    await assertNoLeaks(async () => {
      for (const layer of layers) {
        const info = await tf.profile(() => {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(layer.forward(xv))) as tf.Scalar, [...layer.parameters(), xv]);
          tf.dispose([value, ...Object.values(grads)]);
        });
        const names = new Set(info.kernels.map((k) => k.name));
        expect(names.has('Conv2DBackpropFilter'), layer.describe()).toBe(false);
      }
    });
    xv.dispose();
    layers.forEach((l) => l.dispose());
  });
});
