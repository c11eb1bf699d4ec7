// Forward and backward against PyTorch (fixtures/*.json) on the active backend with its tolerance
// (cpu 1e-5, wasm 1e-4, webgpu 1e-3).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { AdditiveAttention, invertMask, linearAttention, linformerAttention, MultiHeadAttention, scaledDotProductAttention } from '../src/index.js';
import { fixture, toTensor, type FixtureTensor } from './helpers.js';

type Grads = Record<string, FixtureTensor>;
interface QKVCase {
  name: string;
  q: FixtureTensor;
  k: FixtureTensor;
  v: FixtureTensor;
  mask?: FixtureTensor;
  keyPaddingMask?: FixtureTensor;
  causal?: boolean;
  scale?: number;
  featureMap?: 'elu' | 'relu';
  state?: Record<string, FixtureTensor>;
  output: FixtureTensor;
  weights?: FixtureTensor;
  upstream: FixtureTensor;
  inputGrads: Grads;
  paramGrads?: Grads;
}

/** Runs f on variables made from `inputs`, checks output (and weights) and the gradients of Σ out·upstream. */
async function checkCase(
  label: string,
  inputs: Record<string, FixtureTensor>,
  params: Map<string, tf.Variable>,
  f: (x: Record<string, tf.Tensor>) => { output: tf.Tensor; weights?: tf.Tensor },
  c: { output: FixtureTensor; weights?: FixtureTensor; upstream: FixtureTensor; inputGrads: Grads; paramGrads?: Grads },
  tolScale = 1,
): Promise<void> {
  const base = backendTolerance();
  const tol = { atol: base.atol * tolScale, rtol: base.rtol * tolScale };
  const vars = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => {
      const init = toTensor(v);
      const variable = tf.variable(init);
      init.dispose();
      return [k, variable];
    }),
  );
  const up = toTensor(c.upstream);
  let out: tf.Tensor | null = null;
  let w: tf.Tensor | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const r = f(vars);
    out = tf.keep(r.output);
    if (r.weights) w = tf.keep(r.weights);
    return tf.sum(tf.mul(r.output, up)) as tf.Scalar;
  }, [...Object.values(vars), ...params.values()]);
  await assertClose(out!, c.output.data, tol, `${label} output`, c.output.shape);
  if (c.weights) {
    expect(w).toBeDefined();
    await assertClose(w!, c.weights.data, tol, `${label} weights`, c.weights.shape);
  }
  for (const [name, g] of Object.entries(c.inputGrads)) await assertClose(grads[vars[name].name], g.data, tol, `${label} d${name}`, g.shape);
  for (const [name, g] of Object.entries(c.paramGrads ?? {})) await assertClose(grads[params.get(name)!.name], g.data, tol, `${label} d${name}`, g.shape);
  tf.dispose([value, up, out!, ...(w ? [w] : []), ...Object.values(grads), ...Object.values(vars)]);
}

function maskOpts(c: { mask?: FixtureTensor; keyPaddingMask?: FixtureTensor; causal?: boolean }) {
  return { mask: c.mask ? toTensor(c.mask) : undefined, keyPaddingMask: c.keyPaddingMask ? toTensor(c.keyPaddingMask) : undefined, causal: c.causal };
}

describe('full scaled dot-product attention matches PyTorch', () => {
  for (const c of fixture<QKVCase[]>('full.json').cases) {
    it(c.name, async () => {
      await assertNoLeaks(async () => {
        const m = maskOpts(c);
        await checkCase(c.name, { q: c.q, k: c.k, v: c.v }, new Map(), (x) => scaledDotProductAttention(x.q, x.k, x.v, { ...m, scale: c.scale, returnWeights: true }), c);
        tf.dispose([m.mask!, m.keyPaddingMask!].filter(Boolean));
      });
    });
  }
});

interface MHACase {
  name: string;
  E: number;
  H: number;
  options: { kdim?: number; vdim?: number; bias?: boolean; add_bias_kv?: boolean };
  selfAttention: boolean;
  query: FixtureTensor;
  key: FixtureTensor;
  value: FixtureTensor;
  attnMask?: FixtureTensor; // PyTorch's attn_mask, as stored by the generator
  keyPaddingMask?: FixtureTensor;
  average: boolean;
  state: Record<string, FixtureTensor>;
  output: FixtureTensor;
  weights: FixtureTensor;
  upstream: FixtureTensor;
  inputGrads: Grads;
  paramGrads: Grads;
}

describe('MultiHeadAttention matches torch.nn.MultiheadAttention', () => {
  for (const c of fixture<MHACase[]>('mha.json').cases) {
    it(c.name, async () => {
      await assertNoLeaks(async () => {
        const mha = new MultiHeadAttention(c.E, c.H, { kdim: c.options.kdim, vdim: c.options.vdim, bias: c.options.bias, addBiasKV: c.options.add_bias_kv });
        expect([...mha.stateDict().keys()]).toEqual(Object.keys(c.state));
        const state = new Map(Object.entries(c.state).map(([k, v]) => [k, toTensor(v)]));
        mha.loadStateDict(state);
        tf.dispose([...state.values()]);
        mha.eval();
        // The fixture stores PyTorch's attn_mask: boolean true = blocked (the inverse of `mask`), or float scores.
        const torchMask = c.attnMask ? toTensor(c.attnMask) : undefined;
        const mask = torchMask?.dtype === 'bool' ? invertMask(torchMask) : undefined;
        const scoreBias = torchMask?.dtype === 'float32' ? torchMask : undefined;
        const keyPaddingMask = c.keyPaddingMask ? toTensor(c.keyPaddingMask) : undefined;
        const inputs: Record<string, FixtureTensor> = c.selfAttention ? { query: c.query } : { query: c.query, key: c.key, value: c.value };
        const params = new Map(mha.namedParameters());
        await checkCase(
          c.name,
          inputs,
          params,
          (x) => mha.forward(x.query, x.key ?? x.query, x.value ?? x.query, { mask, scoreBias, keyPaddingMask, returnWeights: true, averageAttnWeights: c.average }),
          c,
        );
        tf.dispose([torchMask!, mask!, keyPaddingMask!].filter(Boolean));
        mha.dispose();
      });
    });
  }
});

describe('other variants match PyTorch', () => {
  const add = fixture<(QKVCase & { dim: number; hidden: number })[]>('additive.json').cases[0];
  it('additive (Bahdanau) attention', async () => {
    await assertNoLeaks(async () => {
      const m = new AdditiveAttention(add.dim, add.hidden);
      const state = new Map(Object.entries(add.state!).map(([k, v]) => [k, toTensor(v)]));
      m.loadStateDict(state);
      tf.dispose([...state.values()]);
      const o = maskOpts(add);
      await checkCase('additive', { q: add.q, k: add.k, v: add.v }, new Map(m.namedParameters()), (x) => m.forward(x.q, x.k, x.v, { ...o, returnWeights: true }), add);
      tf.dispose(o.keyPaddingMask!);
      m.dispose();
    });
  });

  for (const c of fixture<QKVCase[]>('linear.json').cases) {
    it(c.name, async () => {
      await assertNoLeaks(async () => {
        const attend = linearAttention({ featureMap: c.featureMap, causal: c.causal, chunkSize: 4 });
        await checkCase(c.name, { q: c.q, k: c.k, v: c.v }, new Map(), (x) => attend(x.q, x.k, x.v), c, 3);
      });
    });
  }

  const lin = fixture<QKVCase[]>('linformer.json').cases[0];
  it('linformer', async () => {
    await assertNoLeaks(async () => {
      await checkCase('linformer', { q: lin.q, k: lin.k, v: lin.v, E: lin.state!.E, F: lin.state!.F }, new Map(), (x) => linformerAttention(x.q, x.k, x.v, x.E, x.F, { returnWeights: true }), {
        ...lin,
        inputGrads: { ...lin.inputGrads, E: lin.paramGrads!.E, F: lin.paramGrads!.F },
        paramGrads: {},
      });
    });
  });
});
