// The randomised mask sweep against PyTorch (fixtures/mask-sweep.json, scripts/generate_fixtures.py's
// mask_sweep_cases): scaledDotProductAttention with causal masks, key padding masks (whole rows padded
// too), arbitrary boolean masks of every accepted shape, any combination, Lq ≠ Lk and custom scales.
// Fully masked query rows must give zero weights, zero output and zero (finite) gradients. Forward
// (output and weights) and backward (q, k, v) on the active backend with its tolerance; 240 cases in
// batches of 20 per test. On webgpu every third case: each new shape compiles new shaders, which takes
// SwiftShader about 0.2 s a case (all 240: 45 s; cpu and wasm: 5 s).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { scaledDotProductAttention } from '../src/index.js';
import { fixture, toTensor, type FixtureTensor } from './helpers.js';

interface MaskCase {
  name: string;
  q: FixtureTensor;
  k: FixtureTensor;
  v: FixtureTensor;
  causal?: boolean;
  keyPaddingMask?: FixtureTensor;
  mask?: FixtureTensor;
  scale?: number;
  fullyMaskedRows: number;
  output: FixtureTensor;
  weights: FixtureTensor;
  upstream: FixtureTensor;
  inputGrads: Record<'q' | 'k' | 'v', FixtureTensor>;
}

const { cases } = fixture<MaskCase[]>('mask-sweep.json');
const BATCH = 20;
const STRIDE = tf.getBackend() === 'webgpu' ? 3 : 1;

async function check(c: MaskCase): Promise<void> {
  const tol = backendTolerance();
  const [q, k, v] = [c.q, c.k, c.v].map((f) => {
    const init = toTensor(f);
    const variable = tf.variable(init);
    init.dispose();
    return variable;
  });
  const mask = c.mask ? toTensor(c.mask) : undefined;
  const keyPaddingMask = c.keyPaddingMask ? toTensor(c.keyPaddingMask) : undefined;
  const up = toTensor(c.upstream);
  let out: tf.Tensor | null = null;
  let weights: tf.Tensor | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const r = scaledDotProductAttention(q, k, v, { causal: c.causal, mask, keyPaddingMask, scale: c.scale, returnWeights: true });
    out = tf.keep(r.output);
    weights = tf.keep(r.weights!);
    return tf.sum(tf.mul(r.output, up)) as tf.Scalar;
  }, [q, k, v]);
  // One read per case (each read is a round trip through SwiftShader on webgpu), then compare on the host.
  const checked: [string, tf.Tensor, FixtureTensor][] = [
    ['output', out!, c.output],
    ['weights', weights!, c.weights],
    ['dq', grads[q.name], c.inputGrads.q],
    ['dk', grads[k.name], c.inputGrads.k],
    ['dv', grads[v.name], c.inputGrads.v],
  ];
  for (const [label, t, want] of checked) expect(t.shape, `${c.name} ${label} shape`).toEqual(want.shape);
  const all = tf.tidy(() => tf.concat(checked.map(([, t]) => tf.reshape(t, [-1]))));
  const data = await all.data();
  let at = 0;
  for (const [label, t, want] of checked) {
    await assertClose(data.subarray(at, at + t.size), want.data, tol, `${c.name} ${label}`);
    at += t.size;
  }
  tf.dispose([all, value, up, out!, weights!, ...Object.values(grads), q, k, v, ...(mask ? [mask] : []), ...(keyPaddingMask ? [keyPaddingMask] : [])]);
}

describe('attention masks match PyTorch over a randomised sweep', () => {
  it('the sweep covers Lq ≠ Lk, every mask kind and fully masked rows', () => {
    expect(cases.length).toBeGreaterThanOrEqual(200);
    expect(cases.filter((c) => c.q.shape[2] !== c.k.shape[2]).length).toBeGreaterThan(50);
    expect(cases.filter((c) => c.fullyMaskedRows > 0).length).toBeGreaterThan(30);
    expect(cases.filter((c) => c.causal).length).toBeGreaterThan(50);
    expect(cases.filter((c) => c.keyPaddingMask).length).toBeGreaterThan(50);
    expect(new Set(cases.filter((c) => c.mask).map((c) => c.mask!.shape.length)).size).toBe(2);
  });

  const picked = cases.filter((_, i) => i % STRIDE === 0);
  for (let b = 0; b < picked.length; b += BATCH) {
    const batch = picked.slice(b, b + BATCH);
    it(`${batch[0].name} … ${batch[batch.length - 1].name}`, async () => {
      for (const c of batch) await assertNoLeaks(() => check(c), c.name);
    });
  }
});
