// ResNet blocks and LeNet against PyTorch through the NCHW import path (loadPytorchStateDict), parameter
// counts against torchvision's, a small ResNet-18 state dict (safetensors written by torch) reproducing
// PyTorch's logits, and the YOLOv1 loss against a cell-by-cell PyTorch implementation.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, type Module } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import {
  BasicBlock, Bottleneck, LeNet5, cifarResNet, convertPytorchLayout, encodeYoloTargets, loadPytorchStateDict, resnet18, resnet34, resnet50,
  toPytorchStateDict, yoloLoss, type GroundTruthBox,
} from '../src/index.js';
import { disposeMap, fixture, fixtureBytes, toState, toTensor, type FixtureTensor } from './helpers.js';

interface ModelCase {
  name: string;
  config: Record<string, any>;
  state: Record<string, FixtureTensor>;
  input: FixtureTensor;
  output: FixtureTensor;
  upstream: FixtureTensor;
  inputGrad: FixtureTensor;
  paramGrads: Record<string, FixtureTensor>;
  stateAfter: Record<string, FixtureTensor>;
}
interface Models {
  cases: ModelCase[];
  paramCounts: Record<string, number>;
  resnet18_w8: { params: number; input: FixtureTensor; logits: FixtureTensor };
  yolo: { S: number; B: number; C: number; objects: GroundTruthBox[][]; target: FixtureTensor; pred: FixtureTensor; loss: number; grad: FixtureTensor };
}
const data = fixture<never>('models.json') as unknown as Models;

function build(c: Record<string, any>): Module & { forward(x: tf.Tensor): tf.Tensor } {
  if (c.kind === 'BasicBlock') return new BasicBlock(c.inplanes, c.planes, { stride: c.stride });
  if (c.kind === 'Bottleneck') return new Bottleneck(c.inplanes, c.planes, { stride: c.stride });
  if (c.kind === 'LeNet5') return new LeNet5();
  throw new Error(`unknown kind ${c.kind}`);
}

describe('models match PyTorch through the NCHW import path', () => {
  for (const c of data.cases) {
    it(`${c.name}: forward, backward and running statistics`, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const m = build(c.config);
        const state = toState(c.state);
        loadPytorchStateDict(m, state);
        disposeMap(state);
        const x0 = toTensor(c.input);
        const x = tf.variable(x0);
        x0.dispose();
        const upstream = toTensor(c.upstream);
        let out: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          out = tf.keep(m.forward(x));
          return tf.sum(tf.mul(out, upstream)) as tf.Scalar;
        }, [...m.parameters(), x]);
        await assertClose(out!, c.output.data, tol, `${c.name} output`, c.output.shape);
        await assertClose(grads[x.name], c.inputGrad.data, tol, `${c.name} input grad`);
        for (const [name, p] of m.namedParameters()) {
          const g = convertPytorchLayout(m, name, grads[p.name], 'toTorch'); // compare in PyTorch's layout
          await assertClose(g, c.paramGrads[name].data, tol, `${c.name} grad ${name}`, c.paramGrads[name].shape);
          g.dispose();
        }
        for (const [name, b] of m.namedBuffers()) {
          if (c.stateAfter[name]) await assertClose(b, c.stateAfter[name].data, tol, `${c.name} ${name}`);
        }
        tf.dispose([x, upstream, value, out!, ...Object.values(grads)]);
        m.dispose();
      }, c.name);
    });
  }

  it('exports a state dict PyTorch can load back (round trip through toPytorchStateDict)', async () => {
    await assertNoLeaks(async () => {
      const c = data.cases.find((k) => k.name === 'lenet')!;
      const m = new LeNet5();
      const state = toState(c.state);
      loadPytorchStateDict(m, state);
      const back = toPytorchStateDict(m);
      expect([...back.keys()]).toEqual(Object.keys(c.state));
      for (const [k, v] of back) await assertClose(v, c.state[k].data, { atol: 1e-7, rtol: 1e-7 }, k, c.state[k].shape);
      disposeMap(back);
      disposeMap(state);
      m.dispose();
    });
  });
});

describe('parameter counts equal torchvision', () => {
  // The 22M- and 26M-parameter networks take seconds to initialise: counted once, on cpu.
  const big = tf.getBackend() === 'cpu';
  it(`ResNet-18${big ? '/34/50' : ''}, CIFAR ResNet-20/56 and LeNet-5`, async () => {
    await assertNoLeaks(() => {
      const counts: Record<string, number> = {};
      const makers: [string, () => Module][] = [
        ['resnet18', () => resnet18()], ['resnet20_cifar', () => cifarResNet(20)], ['resnet56_cifar', () => cifarResNet(56)], ['lenet', () => new LeNet5()],
      ];
      if (big) makers.push(['resnet34', () => resnet34()], ['resnet50', () => resnet50()]);
      for (const [name, make] of makers) {
        const m = make();
        counts[name] = m.numParameters();
        m.dispose();
      }
      for (const [name, n] of Object.entries(counts)) expect([name, n]).toEqual([name, data.paramCounts[name]]);
      expect(Object.keys(counts).length).toBe(big ? 6 : 4);
      expect(counts.resnet18).toBe(11_689_512);
    });
  }, 180_000); // initialising 60M parameters takes a while on a loaded 2-core machine
});

describe('a PyTorch ResNet-18 state dict (safetensors) reproduces PyTorch logits', () => {
  it('resnet18 width 8, eval mode', async () => {
    await assertNoLeaks(async () => {
      const { tensors } = decodeSafetensors(fixtureBytes('resnet18_w8.safetensors'));
      const net = resnet18({ widths: [8, 16, 32, 64], numClasses: 10 });
      expect(net.numParameters()).toBe(data.resnet18_w8.params);
      const result = loadPytorchStateDict(net, tensors);
      expect(result).toEqual({ missing: [], unexpected: [] });
      disposeMap(tensors);
      net.eval();
      const x = toTensor(data.resnet18_w8.input);
      const logits = net.forward(x);
      // Nineteen layers of float32 accumulation: a little looser than one layer on cpu.
      const tol = tf.getBackend() === 'cpu' ? { atol: 5e-5, rtol: 5e-5 } : backendTolerance();
      await assertClose(logits, data.resnet18_w8.logits.data, tol, 'logits', data.resnet18_w8.logits.shape);
      tf.dispose([x, logits]);
      net.dispose();
    });
  });
});

describe('YOLOv1 loss matches a cell-by-cell PyTorch implementation', () => {
  it('value and gradient', async () => {
    const y = data.yolo;
    const tol = backendTolerance();
    await assertNoLeaks(async () => {
      const target = encodeYoloTargets(y.objects, { S: y.S, C: y.C });
      await assertClose(target, y.target.data, { atol: 1e-6, rtol: 1e-6 }, 'encoded targets', y.target.shape);
      const pred = toTensor(y.pred);
      const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => yoloLoss(p, target, { B: y.B, C: y.C }))(pred);
      await assertClose(value, [y.loss], tol, 'loss');
      await assertClose(grad, y.grad.data, tol, 'gradient');
      tf.dispose([target, pred, value, grad]);
    });
  });
});
