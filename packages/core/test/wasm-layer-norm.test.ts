import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { LayerNorm, Rng, useWasmKernels } from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

// On wasm, LayerNorm's forward pass runs in @dl/core's module and its backward is written from the row
// statistics (wasm-layer-norm.ts). Both must match the plain-ops LayerNorm (the same layer with the kernels
// off, itself checked against PyTorch in sweep.parity.test.ts): values, the input's and parameters'
// gradients, and second derivatives (a gradient penalty through the layer).
describe.runIf(tf.getBackend() === 'wasm')('LayerNorm on wasm (fused forward, backward from its statistics)', () => {
  const rng = new Rng(23);
  const int = (lo: number, hi: number) => lo + Math.floor(rng.uniform() * (hi - lo + 1));
  const cases = Array.from({ length: 24 }, (_, i) => {
    const k = i % 5 === 4 ? 2 : 1;
    const normalized = Array.from({ length: k }, () => int(1, 19));
    const lead = Array.from({ length: int(0, 2) }, () => int(1, 5));
    const affine = i % 6 !== 5;
    const bias = i % 4 !== 3;
    const eps = i % 3 === 0 ? 1e-5 : 1e-3;
    return { i, shape: [...lead, ...normalized], normalized, affine, bias, eps };
  });
  it.each(cases)('case $i: x $shape, normalised $normalized, affine $affine, bias $bias, eps $eps', async ({ shape, normalized, affine, bias, eps }) => {
    await assertNoLeaks(async () => {
      const ln = new LayerNorm(normalized, { elementwiseAffine: affine, bias, eps });
      tf.tidy(() => {
        if (ln.weight) ln.weight.assign(tf.randomNormal(normalized, 1, 0.5, 'float32', 3));
        if (ln.bias) ln.bias.assign(tf.randomNormal(normalized, 0, 0.5, 'float32', 4));
      });
      const x = tf.randomNormal(shape, 0.3, 2, 'float32', 5);
      const up = tf.randomNormal(shape, 0, 1, 'float32', 6);
      const params = ln.parameters();
      const run = () =>
        tf.tidy(() => {
          const y = ln.forward(x);
          const grads = params.length ? tf.variableGrads(() => tf.sum(tf.mul(ln.forward(x), up)), params).grads : {};
          const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(ln.forward(v), up)))(x);
          // Second order: the gradient of Σ (∂(Σ y·up)/∂x)² with respect to x (and γ through the layer).
          const penalty = (v: tf.Tensor) => tf.sum(tf.square(tf.grad((w: tf.Tensor) => tf.sum(tf.mul(ln.forward(w), up)))(v)));
          const ddx = tf.grad(penalty)(x);
          return [y, dx, ddx, ...params.map((p) => grads[p.name])];
        });
      const fused = run();
      const previous = useWasmKernels(false);
      let plain: tf.Tensor[];
      try {
        plain = run();
      } finally {
        useWasmKernels(previous);
      }
      const names = ['values', 'input gradient', 'second derivative', 'weight gradient', 'bias gradient'];
      for (let j = 0; j < fused.length; j++) {
        const tol = j === 2 ? 2e-3 : 2e-5;
        await assertClose(fused[j], await plain[j].data(), { atol: tol, rtol: tol }, names[j]);
      }
      tf.dispose([x, up, ...fused, ...plain]);
      ln.dispose();
    });
  });

  it("runs DLLayerNorm, with far fewer kernels than autodiff through tf.moments", async () => {
    await assertNoLeaks(async () => {
      const ln = new LayerNorm(128);
      const x = tf.randomNormal([64, 128], 0, 1, 'float32', 1);
      const step = () => {
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(ln.forward(x))), ln.parameters());
        tf.dispose([value, ...Object.values(grads)]);
      };
      // tf.profile returns the same object every time: keep what is needed before profiling again.
      const fused = (await tf.profile(step)).kernels.map((k) => k.name);
      const previous = useWasmKernels(false);
      let plain: string[];
      try {
        plain = (await tf.profile(step)).kernels.map((k) => k.name);
      } finally {
        useWasmKernels(previous);
      }
      expect(fused).toContain('DLLayerNorm');
      expect(plain).not.toContain('DLLayerNorm');
      expect(fused.length).toBeLessThan(plain.length * 0.6);
      x.dispose();
      ln.dispose();
    });
  });
});
