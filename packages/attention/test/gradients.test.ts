// Every variant has gradients: analytic (tf.grad) against central differences on tiny inputs.
import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { assertClose, assertNoLeaks, numericalGradient } from '@dl/core/testing';
import {
  AdditiveAttention,
  DenseSynthesizer,
  favorFeatureMap,
  globalAttention,
  KMeansRouting,
  linearAttention,
  Linformer,
  localAttention,
  lshAttention,
  MultiHeadAttention,
  RandomSynthesizer,
  scaledDotProductAttention,
  sparseAttention,
  stridedAttention,
  type AttentionFn,
} from '../src/index.js';
import { randn } from './helpers.js';

const B = 1;
const H = 1;
const L = 5;
const D = 2;
const tol = { atol: 2e-2, rtol: 2e-2 };

/**
 * Analytic gradient against central differences: per element (core's numericalGradient) on cpu and wasm;
 * on WebGPU (SwiftShader, far too slow for 2 evaluations per element) along one random direction u,
 * (f(x + εu) − f(x − εu)) / 2ε against ⟨∇f, u⟩.
 */
async function compareGrad(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, analytic: tf.Tensor, label: string) {
  if (tf.getBackend() !== 'webgpu') {
    await assertClose(analytic, await numericalGradient(f, x), tol, label);
    return;
  }
  const eps = 1e-2;
  const u = randn(x.shape, 99);
  const [fp, fm, dot] = tf.tidy(() => [f(tf.add(x, tf.mul(u, eps))), f(tf.sub(x, tf.mul(u, eps))), tf.sum(tf.mul(analytic, u))]);
  const numeric = ((await fp.data())[0] - (await fm.data())[0]) / (2 * eps);
  await assertClose(dot, [numeric], tol, `${label} (directional)`);
  tf.dispose([u, fp, fm, dot]);
}

/** d/dx of Σ attend(…)·up for x each of q, k, v in turn (the others fixed). */
async function checkGrads(label: string, attend: AttentionFn, which: ('q' | 'k' | 'v')[] = ['q', 'k', 'v']) {
  const base = { q: randn([B, H, L, D], 1), k: randn([B, H, L, D], 2), v: randn([B, H, L, D], 3) };
  const up = randn([B, H, L, D], 4);
  for (const name of which) {
    const f = (x: tf.Tensor) => {
      const args = { ...base, [name]: x };
      return tf.sum(tf.mul(attend(args.q, args.k, args.v).output, up));
    };
    const analytic = tf.grad(f)(base[name]);
    await compareGrad(f, base[name], analytic, `${label} d${name}`);
    analytic.dispose();
  }
  tf.dispose([...Object.values(base), up]);
}

describe('gradients match central differences', () => {
  const fns: [string, () => { attend: AttentionFn; dispose?: () => void }][] = [
    ['full (causal)', () => ({ attend: (q, k, v) => scaledDotProductAttention(q, k, v, { causal: true }) })],
    ['local', () => ({ attend: localAttention({ lookBack: 1, lookForward: 1 }) })],
    ['strided', () => ({ attend: stridedAttention({ stride: 2, lookBack: 1, lookForward: 1 }) })],
    ['global + local', () => ({ attend: globalAttention({ count: 1, local: { lookBack: 1, lookForward: 0 } }) })],
    ['sparse with weights requested', () => ({ attend: (q, k, v) => sparseAttention({ local: { lookBack: 2, lookForward: 0 } })(q, k, v, { returnWeights: true }) })],
    ['LSH', () => ({ attend: lshAttention({ nBuckets: 2, chunkSize: 4 }) })],
    ['linear elu causal', () => ({ attend: linearAttention({ causal: true, chunkSize: 2 }) })],
    ['linear FAVOR+', () => ({ attend: linearAttention({ featureMap: favorFeatureMap(D, 4) }) })],
  ];
  for (const [label, make] of fns) {
    it(label, async () => {
      await assertNoLeaks(async () => {
        const { attend } = make();
        await checkGrads(label, attend);
      });
    });
  }

  // the synthesizers ignore k (and the random one q too): their scores are learned
  const modules: [string, () => { attend: AttentionFn; dispose: () => void; eval?: () => unknown }, ('q' | 'k' | 'v')[]][] = [
    ['k-means routing', () => new KMeansRouting(H, D, 2, { chunkSize: 4 }), ['q', 'k', 'v']],
    ['additive', () => new AdditiveAttention(D, 3), ['q', 'k', 'v']],
    ['Linformer', () => new Linformer(L, 3), ['q', 'k', 'v']],
    ['random synthesizer', () => new RandomSynthesizer(H, L), ['v']],
    ['dense synthesizer', () => new DenseSynthesizer(D, L, 3), ['q', 'v']],
  ];
  for (const [label, make, which] of modules) {
    it(label, async () => {
      await assertNoLeaks(async () => {
        const m = make();
        m.eval?.();
        await checkGrads(label, m.attend, which);
        m.dispose();
      });
    });
  }

  it('multi-head attention (input and parameters)', async () => {
    await assertNoLeaks(async () => {
      const mha = new MultiHeadAttention(4, 2, { attention: [localAttention({ window: 1 }), linearAttention()] });
      const x = randn([1, 4, 4], 5);
      const f = (t: tf.Tensor) => tf.sum(tf.square(mha.forward(t, t, t).output));
      const analytic = tf.grad(f)(x);
      await compareGrad(f, x, analytic, 'mha dx');
      const w = mha.inProjWeight!;
      const { value, grads } = tf.variableGrads(() => f(x) as tf.Scalar, [w]);
      value.dispose();
      const g = (x: tf.Tensor) => {
        const keep = tf.clone(w);
        w.assign(x);
        const y = f(randn([1, 4, 4], 5));
        w.assign(keep);
        keep.dispose();
        return y;
      };
      await compareGrad(g, w, grads[w.name], 'mha d in_proj_weight');
      tf.dispose([analytic, x, ...Object.values(grads)]);
      mha.dispose();
    });
  });
});
