import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { BatchNorm1d, Dropout, Embedding, LayerNorm, Linear, manualSeed, Module, ModuleList, ReLU, Sequential } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';
import { fixture } from './helpers.js';

class Block extends Module {
  attn = this.registerModule('attn', new Linear(4, 4));
  norm = this.registerModule('norm', new LayerNorm(4));
  drop = this.registerModule('drop', new Dropout(0.5));
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.norm.forward(this.drop.forward(this.attn.forward(x))));
  }
}
class Encoder extends Module {
  embed = this.registerModule('embed', new Embedding(10, 4));
  layers = this.registerModule('layers', new ModuleList([new Block(), new Block()]));
  forward(ids: tf.Tensor): tf.Tensor {
    return tf.tidy(() => {
      let h = this.embed.forward(ids); // [batch, len, 4]
      for (const b of this.layers) h = b.forward(h);
      return h;
    });
  }
}

describe('Module', () => {
  it('names parameters like PyTorch state_dict, in registration order', async () => {
    await assertNoLeaks(() => {
      const enc = new Encoder();
      expect([...enc.stateDict().keys()]).toEqual([
        'embed.weight',
        'layers.0.attn.weight', 'layers.0.attn.bias', 'layers.0.norm.weight', 'layers.0.norm.bias',
        'layers.1.attn.weight', 'layers.1.attn.bias', 'layers.1.norm.weight', 'layers.1.norm.bias',
      ]);
      // 10·4 + 2·(4·4 + 4 + 4 + 4)
      expect(enc.numParameters()).toBe(40 + 2 * 28);
      enc.dispose();
    });
  });

  it('matches the keys PyTorch writes for the same Sequential (buffers included)', async () => {
    const { cases } = fixture<{ mlp: { keys: string[] } }>('checkpoints.json');
    await assertNoLeaks(() => {
      const mlp = new Sequential(new Linear(6, 8), new ReLU(), new LayerNorm(8), new Linear(8, 3), new BatchNorm1d(3));
      expect([...mlp.stateDict().keys()]).toEqual(cases.mlp.keys);
      mlp.dispose();
    });
  });

  it('freezes by prefix and excludes frozen parameters from gradients', async () => {
    await assertNoLeaks(() => {
      const enc = new Encoder();
      enc.freeze('layers.0');
      expect(enc.numParameters(true)).toBe(40 + 28);
      const { value, grads } = tf.variableGrads(() => tf.sum(enc.forward(tf.tensor2d([[1, 2]], [1, 2], 'int32'))) as tf.Scalar);
      const names = new Set(Object.keys(grads));
      for (const [n, p] of enc.namedParameters()) expect(names.has(p.name)).toBe(!n.startsWith('layers.0.'));
      enc.unfreeze();
      expect(enc.numParameters(true)).toBe(enc.numParameters());
      expect(() => enc.freeze('nope')).toThrow(/prefix must be a prefix of some parameter name, got "nope"/);
      tf.dispose([value, ...Object.values(grads)]);
      enc.dispose();
    });
  });

  it('propagates train/eval to every child', async () => {
    await assertNoLeaks(async () => {
      const enc = new Encoder().eval();
      expect(enc.namedModules().every(([, m]) => !m.training)).toBe(true);
      const ids = tf.tensor2d([[1, 2, 3]], [1, 3], 'int32');
      const a = enc.forward(ids);
      const b = enc.forward(ids); // dropout off: deterministic
      expect(Array.from(await a.data())).toEqual(Array.from(await b.data()));
      enc.train();
      expect(enc.namedModules().every(([, m]) => m.training)).toBe(true);
      tf.dispose([ids, a, b]);
      enc.dispose();
    });
  });

  it('is seeded: the same seed gives the same weights, another seed other weights', async () => {
    await assertNoLeaks(async () => {
      manualSeed(7);
      const a = new Linear(5, 3);
      manualSeed(7);
      const b = new Linear(5, 3);
      manualSeed(8);
      const c = new Linear(5, 3);
      const [wa, wb, wc] = await Promise.all([a.weight.data(), b.weight.data(), c.weight.data()]);
      expect(Array.from(wa)).toEqual(Array.from(wb));
      expect(Array.from(wa)).not.toEqual(Array.from(wc));
      // PyTorch's default: U(−1/√in, 1/√in) for weight and bias.
      const bound = 1 / Math.sqrt(5);
      expect(Math.max(...Array.from(wa).map(Math.abs))).toBeLessThanOrEqual(bound);
      [a, b, c].forEach((m) => m.dispose());
    });
  });

  it('loadStateDict checks names and shapes and casts dtypes', async () => {
    await assertNoLeaks(async () => {
      const fc = new Linear(2, 2);
      const w = tf.tensor2d([[1, 2], [3, 4]]);
      const bInt = tf.tensor1d([5, 6], 'int32');
      expect(() => fc.loadStateDict({ weight: w })).toThrow(/missing \[bias\]/);
      expect(() => fc.loadStateDict({ weight: w, bias: bInt, extra: w })).toThrow(/unexpected \[extra\]/);
      const wrong = tf.zeros([3, 2]);
      expect(() => fc.loadStateDict({ weight: wrong, bias: bInt })).toThrow(/'weight' must be of shape \[2,2\], got Tensor float32 \[3,2\]/);
      expect(fc.loadStateDict({ weight: w }, { strict: false })).toEqual({ missing: ['bias'], unexpected: [] });
      fc.loadStateDict({ weight: w, bias: bInt });
      expect(Array.from(await fc.bias!.data())).toEqual([5, 6]);
      expect(fc.bias!.dtype).toBe('float32');
      tf.dispose([w, bInt, wrong]);
      fc.dispose();
    });
  });

  it('dispose frees every parameter and buffer', async () => {
    const before = tf.memory().numTensors;
    const m = new Sequential(new Linear(3, 3), new BatchNorm1d(3), new Embedding(4, 3));
    expect(tf.memory().numTensors).toBe(before + 2 + 5 + 1);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('prints a summary', async () => {
    await assertNoLeaks(() => {
      const m = new Sequential(new Linear(3, 2));
      expect(m.toString()).toContain('0: Linear (8 params)');
      m.dispose();
    });
  });
});
