// The PyTorch parity checks, written once and run twice: by vitest against src/ (Node: cpu, wasm,
// webgpu) and by the browser self-test against the built package (Chromium: cpu, wasm, webgl, webgpu).
// `dl` is the @dl/core API and `testing` its test helpers, so each runner passes its own build.
import * as tf from '@tensorflow/tfjs-core';
import type * as DL from '../src/index.js';
import type * as Testing from '../src/testing.js';

/** A tensor as the fixture generator stores it. */
export interface FixtureTensor {
  shape: number[];
  dtype: 'float32' | 'int32';
  data: number[];
}

export interface LayerCase {
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

export interface ActivationCase { name: string; input: FixtureTensor; output: FixtureTensor; upstream: FixtureTensor; inputGrad: FixtureTensor }

export interface LossCase {
  name: string;
  options: { reduction?: DL.Reduction; weight?: FixtureTensor; posWeight?: FixtureTensor; ignoreIndex?: number; labelSmoothing?: number };
  input: FixtureTensor;
  target: FixtureTensor;
  output: FixtureTensor;
  upstream: FixtureTensor;
  inputGrad: FixtureTensor;
}

export const toTensor = (f: FixtureTensor): tf.Tensor => tf.tensor(f.data, f.shape, f.dtype);
const toState = (s: Record<string, FixtureTensor>) => new Map(Object.entries(s).map(([k, v]) => [k, toTensor(v)]));
const disposeMap = (m: Map<string, tf.Tensor>) => m.forEach((t) => t.dispose());

type Layer = DL.Module & { forward(x: tf.Tensor): tf.Tensor };

/** How to build the module of each fixture case. */
export function layerBuilders(dl: typeof DL): Record<string, () => Layer> {
  return {
    linear_3d: () => new dl.Linear(7, 5),
    linear_nobias: () => new dl.Linear(1, 9, { bias: false }),
    linear_1d: () => new dl.Linear(3, 2),
    embedding: () => new dl.Embedding(6, 5),
    embedding_pad: () => new dl.Embedding(6, 5, { paddingIdx: 4 }),
    layernorm: () => new dl.LayerNorm(6),
    layernorm_2d: () => new dl.LayerNorm([3, 5], { eps: 1e-3 }),
    layernorm_noaffine: () => new dl.LayerNorm(4, { elementwiseAffine: false }),
    batchnorm1d: () => new dl.BatchNorm1d(3),
    batchnorm1d_seq: () => new dl.BatchNorm1d(4, { momentum: 0.3 }),
    batchnorm1d_cumulative: () => new dl.BatchNorm1d(2, { momentum: null }),
    batchnorm2d: () => new dl.BatchNorm2d(3),
    batchnorm2d_noaffine: () => new dl.BatchNorm2d(2, { affine: false, eps: 1e-3 }),
  };
}

/**
 * Loads the case's state into a fresh module, replays PyTorch's training forwards, and checks the output,
 * the gradients of Σ output·upstream for parameters and input, the buffers, and the eval-mode output.
 */
export async function checkLayerCase(dl: typeof DL, testing: typeof Testing, c: LayerCase): Promise<void> {
  const tol = testing.backendTolerance();
  await testing.assertNoLeaks(async () => {
    const m = layerBuilders(dl)[c.name]();
    const start = toState(c.initialState ?? c.state);
    m.loadStateDict(start);
    disposeMap(start);
    for (const w of c.warmup ?? []) tf.dispose(tf.tidy(() => m.forward(toTensor(w))));
    const x = toTensor(c.inputs[0]);
    const xVar = x.dtype === 'float32' ? tf.variable(x) : null;
    const upstream = toTensor(c.upstream);
    const vars = [...m.parameters(), ...(xVar ? [xVar] : [])];
    let out: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      out = tf.keep(m.forward(xVar ?? x));
      return tf.sum(tf.mul(out, upstream)) as tf.Scalar;
    }, vars);
    await testing.assertClose(out!, c.output.data, tol, `${c.name} output`, c.output.shape);
    for (const [name, p] of m.namedParameters()) await testing.assertClose(grads[p.name], c.paramGrads[name].data, tol, `${c.name} grad ${name}`);
    if (xVar) await testing.assertClose(grads[xVar.name], c.inputGrads[0]!.data, tol, `${c.name} input grad`);
    for (const [name, b] of m.namedBuffers()) await testing.assertClose(b, c.state[name].data, tol, `${c.name} buffer ${name}`);
    if (c.evalOutput) {
      m.eval();
      const y = m.forward(x);
      await testing.assertClose(y, c.evalOutput.data, tol, `${c.name} eval output`);
      y.dispose();
    }
    tf.dispose([x, upstream, value, out!, ...Object.values(grads)]);
    xVar?.dispose();
    m.dispose();
  }, c.name);
}

/** The function of each activation case. */
export function activationFns(dl: typeof DL): Record<string, (x: tf.Tensor) => tf.Tensor> {
  return {
    relu: (x) => new dl.ReLU().forward(x),
    gelu: (x) => dl.gelu(x),
    gelu_tanh: (x) => new dl.GELU('tanh').forward(x),
    silu: (x) => new dl.SiLU().forward(x),
    tanh: (x) => new dl.Tanh().forward(x),
    sigmoid: (x) => new dl.Sigmoid().forward(x),
    softmax_last: (x) => new dl.Softmax().forward(x),
    softmax_0: (x) => dl.softmax(x, 0),
    log_softmax_last: (x) => new dl.LogSoftmax(-1).forward(x),
    log_softmax_0: (x) => dl.logSoftmax(x, 0),
  };
}

/** Checks an activation's output and input gradient. */
export async function checkActivationCase(dl: typeof DL, testing: typeof Testing, c: ActivationCase): Promise<void> {
  const f = activationFns(dl)[c.name];
  await testing.assertNoLeaks(async () => {
    const x = toTensor(c.input);
    const up = toTensor(c.upstream);
    const y = f(x);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v), up)))(x);
    await testing.assertClose(y, c.output.data, testing.backendTolerance(), `${c.name} output`, c.output.shape);
    await testing.assertClose(g, c.inputGrad.data, testing.backendTolerance(), `${c.name} grad`);
    tf.dispose([x, up, y, g]);
  }, c.name);
}

function lossFn(dl: typeof DL, c: LossCase, weight?: tf.Tensor, posWeight?: tf.Tensor) {
  // Each loss gets only its own option keys (unknown keys throw).
  const reduction = c.options.reduction;
  if (c.name.startsWith('ce')) {
    const o = { reduction, weight, ignoreIndex: c.options.ignoreIndex, labelSmoothing: c.options.labelSmoothing };
    return (x: tf.Tensor, y: tf.Tensor) => dl.crossEntropy(x, y, o);
  }
  if (c.name.startsWith('bcel')) return (x: tf.Tensor, y: tf.Tensor) => dl.binaryCrossEntropyWithLogits(x, y, { reduction, weight, posWeight });
  if (c.name.startsWith('bce')) return (x: tf.Tensor, y: tf.Tensor) => dl.binaryCrossEntropy(x, y, { reduction, weight });
  return (x: tf.Tensor, y: tf.Tensor) => dl.mseLoss(x, y, { reduction });
}

/** Checks a loss value and its gradient with respect to the input. */
export async function checkLossCase(dl: typeof DL, testing: typeof Testing, c: LossCase): Promise<void> {
  await testing.assertNoLeaks(async () => {
    const x = toTensor(c.input);
    const y = toTensor(c.target);
    const up = toTensor(c.upstream);
    const w = c.options.weight ? toTensor(c.options.weight) : undefined;
    const pw = c.options.posWeight ? toTensor(c.options.posWeight) : undefined;
    const f = lossFn(dl, c, w, pw);
    const loss = f(x, y);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(f(v, y), up)))(x);
    await testing.assertClose(loss, c.output.data, testing.backendTolerance(), `${c.name} loss`, c.output.shape);
    await testing.assertClose(g, c.inputGrad.data, testing.backendTolerance(), `${c.name} grad`);
    tf.dispose([x, y, up, loss, g]);
    w?.dispose();
    pw?.dispose();
  }, c.name);
}
