// Bad input: every check names the argument, what was expected and what was given, and throws early.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  BatchNorm1d, BatchNorm2d, binaryCrossEntropy, crossEntropy, DLArgumentError, Dropout, Embedding, encodeSafetensors, GELU, LayerNorm, Linear,
  logSoftmax, manualSeed, mseLoss, Sequential, softmax, uniform, useBackend, calculateGain,
} from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

type Case = [string, () => unknown, RegExp];

/** Runs `f` on a fresh module and frees the module's parameters whatever happens. */
function using<M extends { dispose(): void }>(m: () => M, f: (m: M) => unknown): () => unknown {
  return () => {
    const mod = m();
    try {
      return f(mod);
    } finally {
      mod.dispose();
    }
  };
}

describe('bad input gets a clear error', () => {
  const cases: Case[] = [
    ['Linear inFeatures', () => new Linear(0, 2), /Linear: inFeatures must be a positive integer, got 0/],
    ['Linear outFeatures', () => new Linear(2, 1.5), /Linear: outFeatures must be a positive integer, got 1.5/],
    ['Linear input width', using(() => new Linear(4, 2), (m) => m.forward(tf.zeros([3, 5]))), /Linear: input must be of shape \[\.\.\., 4\], got Tensor float32 \[3,5\]/],
    ['Linear input not a tensor', using(() => new Linear(4, 2), (m) => m.forward([1, 2] as never)), /Linear: input must be a tf.Tensor, got \[1,2\]/],
    ['Embedding float ids', using(() => new Embedding(5, 2), (m) => m.forward(tf.zeros([2]))), /Embedding: ids must be of dtype int32, got Tensor float32 \[2\]/],
    ['Embedding paddingIdx', () => new Embedding(5, 2, { paddingIdx: 5 }), /Embedding: paddingIdx must be an integer in \[-5, 5\), got 5/],
    ['LayerNorm shape', using(() => new LayerNorm([4, 3]), (m) => m.forward(tf.zeros([2, 3, 4]))), /LayerNorm: input must be of shape \[\.\.\., 4, 3\], got Tensor float32 \[2,3,4\]/],
    ['LayerNorm eps', () => new LayerNorm(4, { eps: 0 }), /LayerNorm: eps must be a number in \(0, Infinity\], got 0/],
    ['BatchNorm1d channels', using(() => new BatchNorm1d(3), (m) => m.forward(tf.zeros([4, 5]))), /BatchNorm1d: input must be of rank 2 or 3 with 3 channels last, got Tensor float32 \[4,5\]/],
    ['BatchNorm2d rank', using(() => new BatchNorm2d(3), (m) => m.forward(tf.zeros([4, 3]))), /BatchNorm2d: input must be of rank 4 with 3 channels last/],
    ['BatchNorm one value per channel', using(() => new BatchNorm1d(3), (m) => m.forward(tf.zeros([1, 3]))), /BatchNorm1d: input must be more than 1 value per channel in training/],
    ['BatchNorm momentum', () => new BatchNorm1d(3, { momentum: 2 }), /BatchNorm1d: momentum must be a number in \[0, 1\], got 2/],
    ['Dropout p', () => new Dropout(1), /Dropout: p must be a number in \[0, 1\), got 1/],
    ['GELU approximate', () => new GELU('fast' as never), /GELU: approximate must be 'none' or 'tanh', got "fast"/],
    ['softmax dim', () => softmax(tf.zeros([2, 2]), 2), /softmax: dim must be an axis of a rank-2 tensor, got 2/],
    ['logSoftmax dim', () => logSoftmax(tf.zeros([2]), -2), /logSoftmax: dim must be an axis of a rank-1 tensor, got -2/],
    ['Sequential empty', () => new Sequential(), /Sequential: layers must be at least one module/],
    ['crossEntropy target shape', () => crossEntropy(tf.zeros([2, 3]), tf.zeros([3], 'int32')), /crossEntropy: target must be int32 class indices of shape \[2\]/],
    ['crossEntropy probs shape', () => crossEntropy(tf.zeros([2, 3]), tf.zeros([2, 4])), /crossEntropy: target must be class probabilities of shape \[2,3\]/],
    ['crossEntropy weight shape', () => crossEntropy(tf.zeros([2, 3]), tf.zeros([2], 'int32'), { weight: tf.ones([4]) }), /crossEntropy: weight must be of size 3 on axis 0/],
    ['crossEntropy smoothing', () => crossEntropy(tf.zeros([2, 3]), tf.zeros([2], 'int32'), { labelSmoothing: 1.5 }), /crossEntropy: labelSmoothing must be a number in \[0, 1\], got 1.5/],
    ['crossEntropy reduction', () => crossEntropy(tf.zeros([2, 3]), tf.zeros([2], 'int32'), { reduction: 'avg' as never }), /crossEntropy: reduction must be 'mean', 'sum' or 'none', got "avg"/],
    ['crossEntropy int logits', () => crossEntropy(tf.zeros([2, 3], 'int32'), tf.zeros([2], 'int32')), /crossEntropy: logits must be of dtype float32/],
    ['binaryCrossEntropy shapes', () => binaryCrossEntropy(tf.zeros([2]), tf.zeros([3])), /binaryCrossEntropy: target must be of the input's shape \[2\], got Tensor float32 \[3\]/],
    ['mseLoss dtype', () => mseLoss(tf.zeros([2]), tf.zeros([2], 'int32')), /mseLoss: target must be of dtype float32/],
    ['uniform bounds', () => uniform(1, 0), /uniform: high must be greater than low \(1\), got 0/],
    ['calculateGain', () => calculateGain('swish' as never), /calculateGain: nonlinearity must be one of/],
    ['manualSeed', () => manualSeed(-1), /manualSeed: seed must be an integer ≥ 0, got -1/],
  ];
  for (const [name, fn, message] of cases) {
    it(name, async () => {
      await assertNoLeaks(() => {
        tf.tidy(() => {
          let error: unknown;
          try {
            fn();
          } catch (e) {
            error = e;
          }
          expect(error, `${name} should throw`).toBeInstanceOf(DLArgumentError);
          expect((error as Error).message).toMatch(message);
        });
      }, name);
    });
  }

  it('crossEntropy rejects class indices out of range (on backends that read synchronously)', async () => {
    if (!['cpu', 'wasm'].includes(tf.getBackend())) return; // GPU backends skip this check by design (documented)
    await assertNoLeaks(() => {
      tf.tidy(() => {
        expect(() => crossEntropy(tf.zeros([2, 3]), tf.tensor1d([0, 3], 'int32'))).toThrow(/target must be class indices in \[0, 3\) or ignoreIndex -100, got 3 at flat position 1/);
      });
    });
  });

  it('rejects an unknown backend and a bad order', async () => {
    await expect(useBackend('gpu' as never)).rejects.toThrow(/useBackend: name must be one of 'auto', 'webgpu'/);
    await expect(useBackend('auto', { order: ['cpu', 'tpu' as never] })).rejects.toThrow(/useBackend: options.order must be a list of/);
  });

  it('rejects tensors safetensors cannot hold', async () => {
    // A stand-in: not every backend can make complex64 tensors (wasm cannot). It has the methods by which
    // tfjs-core recognises a tensor (Tensor[Symbol.hasInstance]), so isTensor accepts it.
    const c = { dtype: 'complex64', shape: [1], dataId: {}, id: -1, data: async () => new Float32Array(2), dataSync: () => new Float32Array(2), throwIfDisposed: () => {} } as unknown as tf.Tensor;
    await expect(encodeSafetensors({ c })).rejects.toThrow(/encodeSafetensors: tensor 'c' must be float32, int32 or bool, got complex64/);
  });
});
