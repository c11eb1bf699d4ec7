// Forward and backward of every core layer against PyTorch (fixtures/layers.json), on the active backend
// with its stated tolerance (cpu 1e-5, wasm 1e-4, webgpu 1e-3).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, BatchNorm2d, Embedding, LayerNorm, Linear, type Module } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { disposeMap, fixture, toState, toTensor, type FixtureTensor } from './helpers.js';

interface LayerCase {
  name: string;
  inputs: FixtureTensor[];
  state: Record<string, FixtureTensor>;
  initialState?: Record<string, FixtureTensor>;
  warmup?: FixtureTensor[];
  output: FixtureTensor;
  evalOutput?: FixtureTensor;
  upstream: FixtureTensor;
  inputGrads: (FixtureTensor | null)[];
  paramGrads: Record<string, FixtureTensor>;
}

const { cases } = fixture<LayerCase[]>('layers.json');
const build: Record<string, () => Module & { forward(x: tf.Tensor): tf.Tensor }> = {
  linear_3d: () => new Linear(7, 5),
  linear_nobias: () => new Linear(1, 9, { bias: false }),
  linear_1d: () => new Linear(3, 2),
  embedding: () => new Embedding(6, 5),
  embedding_pad: () => new Embedding(6, 5, { paddingIdx: 4 }),
  layernorm: () => new LayerNorm(6),
  layernorm_2d: () => new LayerNorm([3, 5], { eps: 1e-3 }),
  layernorm_noaffine: () => new LayerNorm(4, { elementwiseAffine: false }),
  batchnorm1d: () => new BatchNorm1d(3),
  batchnorm1d_seq: () => new BatchNorm1d(4, { momentum: 0.3 }),
  batchnorm1d_cumulative: () => new BatchNorm1d(2, { momentum: null }),
  batchnorm2d: () => new BatchNorm2d(3),
  batchnorm2d_noaffine: () => new BatchNorm2d(2, { affine: false, eps: 1e-3 }),
};

describe('layers match PyTorch', () => {
  it('covers every fixture case', () => {
    expect(Object.keys(build).sort()).toEqual(cases.map((c) => c.name).sort());
  });

  for (const c of cases) {
    it(c.name, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const m = build[c.name]();
        const start = toState(c.initialState ?? c.state);
        m.loadStateDict(start);
        disposeMap(start);
        for (const w of c.warmup ?? []) tf.dispose([tf.tidy(() => m.forward(toTensor(w)))]);
        const x = toTensor(c.inputs[0]);
        const xVar = x.dtype === 'float32' ? tf.variable(x) : null;
        const upstream = toTensor(c.upstream);
        const vars = [...m.parameters(), ...(xVar ? [xVar] : [])];
        let out: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          out = tf.keep(m.forward(xVar ?? x));
          return tf.sum(tf.mul(out, upstream)) as tf.Scalar;
        }, vars);
        await assertClose(out!, c.output.data, tol, `${c.name} output`, c.output.shape);
        for (const [name, p] of m.namedParameters()) {
          await assertClose(grads[p.name], c.paramGrads[name].data, tol, `${c.name} grad ${name}`);
        }
        if (xVar) await assertClose(grads[xVar.name], c.inputGrads[0]!.data, tol, `${c.name} input grad`);
        // Buffers (running statistics) after the training forwards.
        for (const [name, b] of m.namedBuffers()) await assertClose(b, c.state[name].data, tol, `${c.name} buffer ${name}`);
        if (c.evalOutput) {
          m.eval();
          const y = m.forward(x);
          await assertClose(y, c.evalOutput.data, tol, `${c.name} eval output`);
          y.dispose();
        }
        tf.dispose([x, xVar!, upstream, value, out!, ...Object.values(grads)].filter(Boolean));
        m.dispose();
      }, c.name);
    });
  }
});
