import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { gelu, logSoftmax, silu, softmax, GELU, LogSoftmax, ReLU, Sigmoid, SiLU, Softmax, Tanh } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { fixture, toTensor, type FixtureTensor } from './helpers.js';

interface ActCase { name: string; input: FixtureTensor; output: FixtureTensor; upstream: FixtureTensor; inputGrad: FixtureTensor }
const { cases } = fixture<ActCase[]>('activations.json');

const fns: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  relu: (x) => new ReLU().forward(x),
  gelu: (x) => gelu(x),
  gelu_tanh: (x) => new GELU('tanh').forward(x),
  silu: (x) => new SiLU().forward(x),
  tanh: (x) => new Tanh().forward(x),
  sigmoid: (x) => new Sigmoid().forward(x),
  softmax_last: (x) => new Softmax().forward(x),
  softmax_0: (x) => softmax(x, 0),
  log_softmax_last: (x) => new LogSoftmax(-1).forward(x),
  log_softmax_0: (x) => logSoftmax(x, 0),
};
void silu;

describe('activations match PyTorch', () => {
  for (const c of cases) {
    it(c.name, async () => {
      // GPU transcendental functions (erf, exp) are less exact: the backend's tolerance covers them.
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const x = toTensor(c.input);
        const up = toTensor(c.upstream);
        const y = fns[c.name](x);
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(fns[c.name](v), up)))(x);
        await assertClose(y, c.output.data, tol, `${c.name} output`, c.output.shape);
        await assertClose(g, c.inputGrad.data, tol, `${c.name} grad`);
        tf.dispose([x, up, y, g]);
      }, c.name);
    });
  }
});
