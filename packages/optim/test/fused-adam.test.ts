// On wasm, scaleByAdam runs each parameter's step in one pass of @dl/core's adamStep. It must give the
// same parameters as the eleven tfjs operations it replaces: the same float32 numbers, step after step.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { useWasmKernels } from '@dl/core';
import { assertNoLeaks } from '@dl/core/testing';
import { AdamW } from '../src/index.js';

async function train(fused: boolean): Promise<Float32Array[]> {
  const previous = useWasmKernels(fused);
  try {
    const [w, b] = tf.tidy(() => [tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 1)), tf.variable(tf.randomNormal([5], 0, 1, 'float32', 2))]);
    const x = tf.randomNormal([9, 7], 0, 1, 'float32', 3);
    const opt = new AdamW([w, b], { lr: 1e-2, weightDecay: 0.1, betas: [0.8, 0.95] });
    for (let i = 0; i < 12; i++) (await opt.minimize(() => tf.mean(tf.square(tf.add(tf.matMul(x, w), b))) as tf.Scalar))?.dispose();
    const out = [(await w.data()) as Float32Array, (await b.data()) as Float32Array];
    opt.dispose();
    tf.dispose([w, b, x]);
    return out;
  } finally {
    useWasmKernels(previous);
  }
}

describe('Adam on wasm', () => {
  it.runIf(tf.getBackend() === 'wasm')("gives the same parameters with @dl/core's fused step as with tfjs's ops (12 AdamW steps)", async () => {
    await assertNoLeaks(async () => {
      const [fused, ops] = [await train(true), await train(false)];
      expect(Array.from(fused[0])).toEqual(Array.from(ops[0]));
      expect(Array.from(fused[1])).toEqual(Array.from(ops[1]));
    });
  });
});
