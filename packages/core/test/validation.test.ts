// Input that used to be accepted silently (or failed deep inside tfjs) now gets a clear DLArgumentError:
// probabilities outside [0, 1], embedding ids outside the table, state dicts of plain arrays, and unknown
// option keys in every @dl/core options object.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d, BatchNorm2d, binaryCrossEntropy, binaryCrossEntropyWithLogits, checkShape, crossEntropy, DLArgumentError, Embedding,
  encodeSafetensors, kaimingNormal, kaimingUniform, LayerNorm, Linear, loadIntoModule, mseLoss, Sequential,
} from '../src/index.js';
import { assertClose, assertNoLeaks } from '../src/testing.js';

/** Backends whose tensors can be read synchronously: the value checks run there (see the README). */
const syncRead = () => ['cpu', 'wasm', 'tensorflow'].includes(tf.getBackend());

function thrown(f: () => unknown): Error {
  try {
    tf.tidy(() => {
      f();
    });
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('binaryCrossEntropy checks that p is a probability', () => {
  const bad: [string, number[], RegExp][] = [
    ['above 1', [0.5, 1.5], /binaryCrossEntropy: input must be probabilities in \[0, 1\], got 1\.5 at flat position 1/],
    ['below 0', [-0.25, 0.5], /binaryCrossEntropy: input must be probabilities in \[0, 1\], got -0\.25 at flat position 0/],
    ['NaN', [0.5, 0.5, NaN], /binaryCrossEntropy: input must be probabilities in \[0, 1\], got NaN at flat position 2/],
  ];
  for (const [name, p, message] of bad) {
    it(`p ${name}: throws where tensors read synchronously, is not checked on GPU backends`, async () => {
      await assertNoLeaks(async () => {
        const pt = tf.tensor1d(p);
        const y = tf.onesLike(pt);
        if (syncRead()) {
          const e = thrown(() => binaryCrossEntropy(pt, y));
          expect(e).toBeInstanceOf(DLArgumentError);
          expect(e.message).toMatch(message);
          // Inside a gradient too (the check runs before the tape records anything).
          expect(() => tf.grad((q: tf.Tensor) => binaryCrossEntropy(q, y))(pt)).toThrow(message);
        } else {
          const l = binaryCrossEntropy(pt, y); // documented: no check on GPU backends (it would need a synchronous read)
          l.dispose();
        }
        tf.dispose([pt, y]);
      });
    });
  }

  it('0 and 1 themselves are fine (the log is clamped at -100, as PyTorch)', async () => {
    await assertNoLeaks(async () => {
      const l = tf.tidy(() => binaryCrossEntropy(tf.tensor1d([0, 1]), tf.tensor1d([1, 1]), { reduction: 'none' }));
      await assertClose(l, [100, 0], { atol: 1e-4, rtol: 0 });
      l.dispose();
    });
  });
});

describe('Embedding checks its ids', () => {
  const bad: [string, number[], RegExp][] = [
    ['past the table', [0, 2, 5], /Embedding: ids must be indices in \[0, 5\), got 5 at flat position 2/],
    ['negative', [-1, 0], /Embedding: ids must be indices in \[0, 5\), got -1 at flat position 0/],
  ];
  for (const [name, ids, message] of bad) {
    for (const pad of [null, 0]) {
      it(`an id ${name}${pad === null ? '' : ' (with paddingIdx)'}: a DLArgumentError, not tfjs's GatherV2 message`, async () => {
        if (!syncRead()) return; // GPU backends skip this check by design (documented)
        await assertNoLeaks(() => {
          const emb = new Embedding(5, 3, pad === null ? {} : { paddingIdx: pad });
          const e = thrown(() => emb.forward(tf.tensor2d([ids], [1, ids.length], 'int32')));
          expect(e).toBeInstanceOf(DLArgumentError);
          expect(e.message).toMatch(message);
          emb.dispose();
        });
      });
    }
  }

  it('ids inside the table still look up their rows', async () => {
    await assertNoLeaks(async () => {
      const emb = new Embedding(5, 2);
      const ids = tf.tensor1d([4, 0], 'int32');
      const y = emb.forward(ids);
      const w = await emb.weight.data();
      await assertClose(y, [w[8], w[9], w[0], w[1]], { atol: 0, rtol: 0 });
      tf.dispose([ids, y]);
      emb.dispose();
    });
  });
});

describe('loadStateDict needs tensors', () => {
  it('plain arrays get an error naming the entry and how to convert it; nothing is changed', async () => {
    await assertNoLeaks(async () => {
      const fc = new Linear(2, 2);
      const before = Array.from(await fc.bias!.data());
      const bias = tf.tensor1d([7, 8]);
      const e = thrown(() => fc.loadStateDict({ bias, weight: [[1, 2], [3, 4]] as never }));
      expect(e).toBeInstanceOf(DLArgumentError);
      expect(e.message).toMatch(/Linear\.loadStateDict: 'weight' must be a tf\.Tensor \(convert arrays with tf\.tensor\(values, shape\)\), got \[\[1,2\],\[3,4\]\]/);
      expect(Array.from(await fc.bias!.data())).toEqual(before); // the valid bias was not loaded either
      const m = new Map<string, tf.Tensor>([['weight', new Float32Array(4) as never], ['bias', bias]]);
      expect(() => fc.loadStateDict(m)).toThrow(/'weight' must be a tf\.Tensor/);
      bias.dispose();
      fc.dispose();
    });
  });

  it('a disposed tensor and a dict that is not one are named', async () => {
    await assertNoLeaks(() => {
      const fc = new Linear(2, 2);
      const w = tf.zeros([2, 2]);
      w.dispose();
      expect(() => fc.loadStateDict({ weight: w, bias: fc.bias! })).toThrow(/Linear\.loadStateDict: 'weight' must be a live tensor, got a disposed tensor/);
      expect(() => fc.loadStateDict(null as never)).toThrow(/Linear\.loadStateDict: dict must be a Map or an object of tensors, got null/);
      expect(() => fc.loadStateDict([] as never)).toThrow(/Linear\.loadStateDict: dict must be a Map or an object of tensors/);
      fc.dispose();
    });
  });
});

describe('unknown option keys are rejected, naming the valid ones', () => {
  const x = () => tf.zeros([2, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['Linear', () => new Linear(4, 2, { useBias: false } as never), /Linear: options\.useBias must be one of the known options \(bias, weightInit, biasInit, rng\)/],
    ['Embedding', () => new Embedding(4, 2, { padding_idx: 0 } as never), /Embedding: options\.padding_idx must be one of the known options \(paddingIdx, init, rng\)/],
    ['LayerNorm', () => new LayerNorm(4, { epsilon: 1e-3 } as never), /LayerNorm: options\.epsilon must be one of the known options \(eps, elementwiseAffine, bias\)/],
    ['BatchNorm1d', () => new BatchNorm1d(4, { track_running_stats: false } as never), /BatchNorm1d: options\.track_running_stats must be one of the known options \(eps, momentum, affine, trackRunningStats\)/],
    ['BatchNorm2d', () => new BatchNorm2d(4, { epsilon: 1e-3 } as never), /BatchNorm2d: options\.epsilon must be one of the known options/],
    ['crossEntropy', () => crossEntropy(x(), tf.zeros([2], 'int32'), { label_smoothing: 0.1 } as never), /crossEntropy: options\.label_smoothing must be one of the known options \(weight, ignoreIndex, reduction, labelSmoothing\)/],
    ['binaryCrossEntropy', () => binaryCrossEntropy(x(), x(), { posWeight: tf.ones([3]) } as never), /binaryCrossEntropy: options\.posWeight must be one of the known options \(weight, reduction\)/],
    ['binaryCrossEntropyWithLogits', () => binaryCrossEntropyWithLogits(x(), x(), { pos_weight: tf.ones([3]) } as never), /binaryCrossEntropyWithLogits: options\.pos_weight must be one of the known options \(weight, posWeight, reduction\)/],
    ['mseLoss', () => mseLoss(x(), x(), { reduce: false } as never), /mseLoss: options\.reduce must be one of the known options \(reduction\)/],
    ['options not an object', () => mseLoss(x(), x(), 'sum' as never), /mseLoss: options must be an object, got "sum"/],
    ['kaimingUniform', () => kaimingUniform({ gain: 2 } as never), /kaimingUniform: options\.gain must be one of the known options \(a, mode, nonlinearity, fans\)/],
    ['kaimingNormal', () => kaimingNormal({ fan_mode: 'fanIn' } as never), /kaimingNormal: options\.fan_mode must be one of the known options/],
    ['checkShape', () => checkShape('f', 'x', x(), { ranks: 2 } as never), /checkShape: options\.ranks must be one of the known options \(rank, minRank, last, dims, dtype\)/],
  ];
  for (const [name, f, message] of cases) {
    it(name, async () => {
      const before = tf.memory().numTensors;
      const e = thrown(f);
      expect(e).toBeInstanceOf(DLArgumentError);
      expect(e.message).toMatch(message);
      expect(tf.memory().numTensors, 'constructors fail before registering anything').toBe(before);
    });
  }

  it('loadStateDict, loadIntoModule and encodeSafetensors', async () => {
    await assertNoLeaks(async () => {
      const fc = new Linear(2, 2);
      expect(() => fc.loadStateDict(fc.stateDict(), { strict_: false } as never)).toThrow(/Linear\.loadStateDict: options\.strict_ must be one of the known options \(strict\)/);
      const bytes = await encodeSafetensors(fc.stateDict());
      await expect(loadIntoModule(fc, bytes, { strictness: true } as never)).rejects.toThrow(/loadIntoModule: options\.strictness must be one of the known options \(strict\)/);
      await expect(encodeSafetensors(fc.stateDict(), 'v1' as never)).rejects.toThrow(/encodeSafetensors: metadata must be an object of strings, got "v1"/);
      await expect(encodeSafetensors(null as never)).rejects.toThrow(/encodeSafetensors: tensors must be a Map or an object of tensors, got null/);
      await expect(encodeSafetensors({ w: [1, 2] } as never)).rejects.toThrow(/encodeSafetensors: tensor 'w' must be a tf\.Tensor, got \[1,2\]/);
      fc.dispose();
    });
  });

  it('assertClose rejects a misspelt tolerance', async () => {
    await assertNoLeaks(() => expect(assertClose([1], [1], { atl: 1e-3 } as never)).rejects.toThrow(/assertClose: options\.atl must be one of the known options \(atol, rtol\)/));
  });

  it('Sequential of valid layers still builds (no false positives on the defaults)', async () => {
    await assertNoLeaks(() => {
      const m = new Sequential(new Linear(3, 4, { bias: false }), new LayerNorm(4, { eps: 1e-3, elementwiseAffine: true, bias: false }), new BatchNorm1d(4, { momentum: null }));
      m.dispose();
    });
  });
});
