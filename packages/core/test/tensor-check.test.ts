// isTensor/isVariable: the one tensor check every @dl package uses instead of `instanceof tf.Tensor`.
import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DLArgumentError, isTensor, isVariable, Linear, TfjsCopyError, encodeSafetensors } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

const require = createRequire(import.meta.url);
/**
 * A second, separate copy of tfjs-core 4.22 (its UMD build: another module instance with its own Tensor
 * class), as an app gets when two packages resolve tfjs-core to different paths.
 */
const secondCopy = (): typeof tf => require('@tensorflow/tfjs-core/dist/tf-core.es2017.js');

describe('isTensor', () => {
  it('accepts tensors and variables, rejects other values', async () => {
    await assertNoLeaks(() => {
      const t = tf.zeros([2]);
      const z = tf.zeros([2]);
      const v = tf.variable(z);
      expect(isTensor(t)).toBe(true);
      expect(isTensor(v)).toBe(true);
      expect(isVariable(v)).toBe(true);
      expect(isVariable(t)).toBe(false);
      for (const x of [null, undefined, 3, [1, 2], new Float32Array(2), { shape: [2] }, 'x']) {
        expect(isTensor(x)).toBe(false);
        expect(isVariable(x)).toBe(false);
      }
      tf.dispose([t, z, v]);
    });
  });

  it('a second copy of tfjs-core 4.22: its tensors are tensors here and train through @dl layers', async () => {
    const other = secondCopy();
    expect(other).not.toBe(tf);
    expect(other.Tensor).not.toBe(tf.Tensor);
    await assertNoLeaks(async () => {
      // Made by the other copy's own functions and classes.
      const x = other.tensor2d([[1, 2]]);
      const z = other.zeros([2]);
      const v = other.variable(z);
      expect(isTensor(x)).toBe(true);
      expect(isVariable(v)).toBe(true);
      const layer = new Linear(2, 1, { bias: false });
      const w = layer.parameters()[0];
      const value = tf.tensor2d([[3, 4]]);
      w.assign(value);
      value.dispose();
      // d/dW Σ(x Wᵀ) = x
      const g = tf.grad((xx: tf.Tensor) => tf.sum(layer.forward(xx)))(x);
      expect(Array.from(await g.data())).toEqual([3, 4]);
      layer.dispose();
      tf.dispose([x, z, v, g]);
    });
  });

  it('a tensor copied without its class (structuredClone, postMessage) throws TfjsCopyError naming the argument and both causes', async () => {
    await assertNoLeaks(async () => {
      const t = tf.ones([2]);
      const copied: unknown = structuredClone(t);
      t.dispose();
      expect(() => isTensor(copied, 'Linear.forward', 'input')).toThrow(TfjsCopyError);
      let message = '';
      try {
        isTensor(copied, 'Linear.forward', 'input');
      } catch (e) {
        message = (e as Error).message;
        expect((e as TfjsCopyError).where).toBe('Linear.forward');
        expect((e as TfjsCopyError).argument).toBe('input');
      }
      expect(message).toMatch(/^Linear\.forward: input has a tensor's fields/);
      expect(message).toMatch(/two copies of @tensorflow\/tfjs-core are loaded/);
      expect(message).toMatch(/npm ls @tensorflow\/tfjs-core/);
      expect(message).toMatch(/structuredClone, postMessage/);
      expect(() => isVariable(copied)).toThrow(TfjsCopyError);
      // Through a public API: the error comes before anything is written.
      await expect(encodeSafetensors(new Map([['w', copied as tf.Tensor]]))).rejects.toThrow(/encodeSafetensors: tensor 'w' has a tensor's fields/);
      await expect(encodeSafetensors(new Map([['w', 3 as unknown as tf.Tensor]]))).rejects.toThrow(DLArgumentError);
    });
  });

  it('a tensor from a copy of tfjs-core that does not recognise ours (another major version) throws TfjsCopyError', async () => {
    // What such a copy hands over: an object of its own Tensor class, with the fields every tfjs version has
    // but methods tfjs-core 4.22's Symbol.hasInstance does not find (here: none).
    class ForeignTensor {
      readonly kept = false;
      readonly dataId = { id: 1 };
      readonly id = 1;
      readonly shape = [2];
      readonly dtype = 'float32';
      readonly size = 2;
    }
    const foreign = new ForeignTensor();
    expect(foreign instanceof tf.Tensor).toBe(false);
    expect(() => isTensor(foreign, 'f', 'x')).toThrow(/two copies of @tensorflow\/tfjs-core are loaded/);
  });
});
