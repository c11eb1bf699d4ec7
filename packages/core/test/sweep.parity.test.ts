// The randomised sweep against PyTorch (fixtures/sweep.json, written by scripts/generate_fixtures.py's
// sweep()): Linear, LayerNorm, RMSNorm (against a hand-written torch reference), Embedding with
// padding_idx, BatchNorm1d/2d in training and evaluation, every activation along a random dim, and
// cross-entropy with weights, ignoreIndex and label smoothing. Forward and backward on the active backend
// with its tolerance (cpu 1e-5, wasm 1e-4, webgpu 1e-3). Cases run in batches of a dozen per test (all
// 334 take about 4 s on cpu and wasm and 10 s on webgpu through SwiftShader).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import * as dl from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { fixture } from './helpers.js';

/** A fixture tensor; non-finite floats are stored as the strings "NaN", "Infinity", "-Infinity". */
interface SweepTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: (number | string)[];
}
interface SweepCase {
  name: string;
  kind: 'linear' | 'layernorm' | 'rmsnorm' | 'embedding' | 'batchnorm1d' | 'batchnorm2d' | 'activation' | 'crossEntropy';
  args?: unknown[];
  options?: Record<string, unknown>;
  fn?: 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'tanh' | 'sigmoid' | 'softmax' | 'log_softmax';
  dim?: number;
  input: SweepTensor;
  target?: SweepTensor;
  state?: Record<string, SweepTensor>;
  initialState?: Record<string, SweepTensor>;
  warmup?: SweepTensor[];
  output: SweepTensor;
  evalOutput?: SweepTensor;
  upstream: SweepTensor;
  inputGrad: SweepTensor | null;
  paramGrads?: Record<string, SweepTensor>;
}

const { cases } = fixture<SweepCase[]>('sweep.json');
const values = (t: SweepTensor) => t.data.map(Number);
const tensor = (t: SweepTensor) => tf.tensor(values(t), t.shape, t.dtype);
const BATCH = 12;

/** assertClose, where expected NaN must be NaN. */
async function close(actual: tf.Tensor, expected: SweepTensor, label: string): Promise<void> {
  expect(actual.shape, `${label} shape`).toEqual(expected.shape);
  const want = values(expected);
  const nan = want.map((v) => Number.isNaN(v));
  if (nan.some(Boolean)) {
    const got = Array.from(await actual.data());
    nan.forEach((isNaN, i) => {
      if (isNaN) expect(got[i], `${label}[${i}]`).toBeNaN();
    });
    await assertClose(got.filter((_, i) => !nan[i]), want.filter((_, i) => !nan[i]), backendTolerance(), label);
  } else {
    await assertClose(actual, want, backendTolerance(), label);
  }
}

type Layer = dl.Module & { forward(x: tf.Tensor): tf.Tensor };

function build(c: SweepCase): Layer {
  const a = c.args ?? [];
  const o = c.options ?? {};
  switch (c.kind) {
    case 'linear': return new dl.Linear(a[0] as number, a[1] as number, o);
    case 'layernorm': return new dl.LayerNorm(a[0] as number[], o);
    case 'rmsnorm': return new dl.RMSNorm(a[0] as number, o);
    case 'embedding': return new dl.Embedding(a[0] as number, a[1] as number, o);
    case 'batchnorm1d': return new dl.BatchNorm1d(a[0] as number, o);
    case 'batchnorm2d': return new dl.BatchNorm2d(a[0] as number, o);
    default: throw new Error(`not a layer: ${c.kind}`);
  }
}

const activation = (c: SweepCase) => (x: tf.Tensor): tf.Tensor => {
  switch (c.fn) {
    case 'relu': return new dl.ReLU().forward(x);
    case 'gelu': return new dl.GELU().forward(x);
    case 'gelu_tanh': return dl.gelu(x, 'tanh');
    case 'silu': return dl.silu(x);
    case 'tanh': return new dl.Tanh().forward(x);
    case 'sigmoid': return new dl.Sigmoid().forward(x);
    case 'softmax': return new dl.Softmax(c.dim).forward(x);
    case 'log_softmax': return dl.logSoftmax(x, c.dim);
    default: throw new Error(`unknown activation ${c.fn}`);
  }
};

function lossOptions(c: SweepCase): dl.CrossEntropyOptions {
  const o = c.options ?? {};
  return {
    reduction: o.reduction as dl.Reduction,
    labelSmoothing: o.labelSmoothing as number | undefined,
    ignoreIndex: o.ignoreIndex as number | undefined,
    weight: o.weight ? tensor(o.weight as SweepTensor) : undefined,
  };
}

async function checkLayer(c: SweepCase): Promise<void> {
  const m = build(c);
  const start = new Map(Object.entries(c.initialState ?? c.state ?? {}).map(([k, v]) => [k, tensor(v)]));
  expect(m.loadStateDict(start), `${c.name} state names`).toEqual({ missing: [], unexpected: [] });
  start.forEach((t) => t.dispose());
  for (const w of c.warmup ?? []) tf.tidy(() => void m.forward(tensor(w)));
  const x = tensor(c.input);
  const xVar = x.dtype === 'float32' ? tf.variable(x) : null;
  const up = tensor(c.upstream);
  let out: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    out = tf.keep(m.forward(xVar ?? x));
    return tf.sum(tf.mul(out, up)) as tf.Scalar;
  }, [...m.parameters(), ...(xVar ? [xVar] : [])]);
  await close(out!, c.output, `${c.name} output`);
  for (const [name, p] of m.namedParameters()) await close(grads[p.name], c.paramGrads![name], `${c.name} d${name}`);
  if (xVar) await close(grads[xVar.name], c.inputGrad!, `${c.name} dinput`);
  if (c.initialState) for (const [name, b] of m.namedBuffers()) await close(b, c.state![name], `${c.name} ${name} after training`);
  if (c.evalOutput) {
    m.eval();
    const y = m.forward(x);
    await close(y, c.evalOutput, `${c.name} eval output`);
    y.dispose();
  }
  tf.dispose([x, up, value, out!, ...Object.values(grads)]);
  xVar?.dispose();
  m.dispose();
}

async function checkFunction(c: SweepCase): Promise<void> {
  const x = tensor(c.input);
  const up = tensor(c.upstream);
  const o = c.kind === 'crossEntropy' ? lossOptions(c) : null;
  const target = c.target ? tensor(c.target) : null;
  const f = c.kind === 'crossEntropy' ? (v: tf.Tensor) => dl.crossEntropy(v, target!, o!) : activation(c);
  const y = f(x);
  const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), up)))(x);
  await close(y, c.output, `${c.name} output`);
  await close(g, c.inputGrad!, `${c.name} dinput`);
  tf.dispose([x, up, y, g, ...(target ? [target] : []), ...(o?.weight ? [o.weight] : [])]);
}

describe('randomised sweep against PyTorch', () => {
  it('covers every kind with a few hundred cases', () => {
    const kinds = new Set(cases.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['activation', 'batchnorm1d', 'batchnorm2d', 'crossEntropy', 'embedding', 'layernorm', 'linear', 'rmsnorm']);
    expect(cases.length).toBeGreaterThanOrEqual(300);
  });

  for (let b = 0; b < cases.length; b += BATCH) {
    const batch = cases.slice(b, b + BATCH);
    it(`${batch[0].name} … ${batch[batch.length - 1].name}`, async () => {
      for (const c of batch) {
        await assertNoLeaks(() => (c.kind === 'activation' || c.kind === 'crossEntropy' ? checkFunction(c) : checkLayer(c)), c.name);
      }
    });
  }
});
