import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, mseLoss, type Reduction } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { fixture, toTensor, type FixtureTensor } from './helpers.js';

interface LossCase {
  name: string;
  options: { reduction?: Reduction; weight?: FixtureTensor; posWeight?: FixtureTensor; ignoreIndex?: number; labelSmoothing?: number };
  input: FixtureTensor;
  target: FixtureTensor;
  output: FixtureTensor;
  upstream: FixtureTensor;
  inputGrad: FixtureTensor;
}
const { cases } = fixture<LossCase[]>('losses.json');

function lossFn(c: LossCase, weight?: tf.Tensor, posWeight?: tf.Tensor) {
  const o = { reduction: c.options.reduction, weight, ignoreIndex: c.options.ignoreIndex, labelSmoothing: c.options.labelSmoothing };
  if (c.name.startsWith('ce')) return (x: tf.Tensor, y: tf.Tensor) => crossEntropy(x, y, o);
  if (c.name.startsWith('bcel')) return (x: tf.Tensor, y: tf.Tensor) => binaryCrossEntropyWithLogits(x, y, { ...o, posWeight });
  if (c.name.startsWith('bce')) return (x: tf.Tensor, y: tf.Tensor) => binaryCrossEntropy(x, y, o);
  return (x: tf.Tensor, y: tf.Tensor) => mseLoss(x, y, { reduction: o.reduction });
}

describe('losses match PyTorch', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const x = toTensor(c.input);
        const y = toTensor(c.target);
        const up = toTensor(c.upstream);
        const w = c.options.weight ? toTensor(c.options.weight) : undefined;
        const pw = c.options.posWeight ? toTensor(c.options.posWeight) : undefined;
        const f = lossFn(c, w, pw);
        const loss = f(x, y);
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v, y), up)))(x);
        await assertClose(loss, c.output.data, tol, `${c.name} loss`, c.output.shape);
        await assertClose(g, c.inputGrad.data, tol, `${c.name} grad`);
        tf.dispose([x, y, up, loss, g, w!, pw!].filter(Boolean));
      }, c.name);
    });
  }
});
