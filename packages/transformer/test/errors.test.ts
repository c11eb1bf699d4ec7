// Bad input: each error names the argument, what was expected and what was given, and a failed call
// changes nothing (caches, models).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { EncoderDecoder, GPT, TransformerDecoder, TransformerEncoder } from '../src/index.js';

const gptConfig = { vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, seed: 0 };

describe('configuration errors', () => {
  const cases: [string, () => unknown, RegExp][] = [
    ['width not divisible by heads', () => new TransformerEncoder({ dModel: 10, nHeads: 4, numLayers: 1 }), /TransformerEncoder: nHeads must be a divisor of dModel \(10\), got 4/],
    ['kv heads not dividing heads', () => new GPT({ ...gptConfig, nHead: 4, nKVHead: 3 }), /GPT: nKVHead must be a divisor of nHead \(4\), got 3/],
    ['unknown GPT key', () => new GPT({ ...gptConfig, n_layer: 2 } as never), /GPT: options\.n_layer must be one of the known options \(vocabSize, blockSize, nLayer/],
    ['unknown stack key', () => new TransformerEncoder({ dModel: 8, nHeads: 2, numLayers: 1, heads: 2 } as never), /TransformerEncoder: options\.heads must be one of the known options/],
    ['unknown encoder-decoder key', () => new EncoderDecoder({ srcVocabSize: 5, tgtVocabSize: 5, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropoutRate: 0.1 } as never), /EncoderDecoder: options\.dropoutRate must be one of the known options/],
    ['bad activation', () => new TransformerEncoder({ dModel: 8, nHeads: 2, numLayers: 1, activation: 'tanh' as never }), /TransformerEncoder: activation must be one of 'relu', 'gelu', 'gelu_tanh', 'silu', 'swiglu', 'geglu', got "tanh"/],
    ['odd head size with rotary positions', () => new TransformerEncoder({ dModel: 6, nHeads: 2, numLayers: 1, position: 'rope' }), /TransformerEncoder: dModel \/ nHeads must be even for rotary positions, got 3/],
    ['per-head specs of the wrong count', () => new GPT({ ...gptConfig, attention: ['full'] }), /GPT layer 0: attention must be one spec per head \(2\), got "1 specs"/],
    ['unknown attention kind', () => new GPT({ ...gptConfig, attention: { kind: 'sparse' } as never }), /GPT layer 0: attention must be 'full' or \{ kind: 'full' \| 'local'/],
    ['a misspelt attention option', () => new GPT({ ...gptConfig, attention: { kind: 'local', window: 3 } as never }), /GPT layer 0 \(local attention\): options\.window must be one of the known options \(kind, lookBack, lookForward\)/],
    ['tying the source with a different vocabulary', () => new EncoderDecoder({ srcVocabSize: 5, tgtVocabSize: 6, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, tieWeights: ['source', 'target'] }), /EncoderDecoder: tieWeights must be without 'source' when the vocabularies differ \(5 and 6\)/],
    ['tying one matrix', () => new EncoderDecoder({ srcVocabSize: 5, tgtVocabSize: 5, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, tieWeights: ['output'] }), /EncoderDecoder: tieWeights must be \[\] or two or three distinct names/],
    ['layerAttention of the wrong length', () => new TransformerEncoder({ dModel: 8, nHeads: 2, numLayers: 2, layerAttention: ['full'] }), /TransformerEncoder: layerAttention must be one entry per layer \(2\)/],
  ];
  it.each(cases)('%s', async (_, make, message) => {
    await assertNoLeaks(() => {
      expect(make).toThrow(message);
    });
  });
});

describe('call errors', () => {
  it('token ids outside the vocabulary, sequences past the learned positions, wrong masks, a foreign cache', async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT(gptConfig);
      const other = new GPT(gptConfig);
      const ids = tf.tensor2d([[1, 12]], [1, 2], 'int32');
      expect(() => gpt.forward([[1, 12]])).toThrow(/GPT\.forward: idx must be token ids in \[0, 10\) \(the vocabulary\), got 12 at flat position 1/);
      expect(() => gpt.forward([[1, -1]])).toThrow(/GPT\.forward: idx must be token ids in \[0, 10\)/);
      if (['cpu', 'wasm'].includes(tf.getBackend())) expect(() => gpt.forward(ids)).toThrow(/got 12 at flat position 1/);
      expect(() => gpt.forward([[1, 2], [3]])).toThrow(/GPT\.forward: idx must be an int32 tensor \[B, L\] or B arrays of equal length/);
      expect(() => gpt.forward([Array(9).fill(1)])).toThrow(/LearnedPositions: sequence length must be ≤ 8 positions \(the model's maxLength\), got 9 positions/);
      const cache = other.createCache(1);
      expect(() => gpt.forward([[1]], { cache })).toThrow(/GPT: cache must be a StackCache made by this model \(createCache\)/);
      const mine = gpt.createCache(2);
      expect(() => gpt.forward([[1]], { cache: mine })).toThrow(/GPT: cache must be a cache of 1 rows \(the batch\), got "a cache of 2 rows"/);
      const enc = new TransformerEncoder({ dModel: 8, nHeads: 2, numLayers: 1, dropout: 0 });
      const x = tf.zeros([2, 3, 8]);
      const badMask = tf.ones([3, 4], 'bool');
      expect(() => enc.forward(x, { mask: badMask })).toThrow(/TransformerEncoder: mask must be of shape \[3, 3\] or \[2\|1, 2\|1, 3, 3\] \(true = may attend\), got Tensor bool \[3,4\]/);
      expect(() => enc.forward(x, { lengths: [3, 4] })).toThrow(/TransformerEncoder: lengths must be 2 integers in \[1, 3\], got \[3,4\]/);
      const pad = tf.zeros([2, 3], 'float32');
      expect(() => enc.forward(x, { keyPaddingMask: pad })).toThrow(/TransformerEncoder: keyPaddingMask must be of dtype bool, got Tensor float32 \[2,3\]/);
      const narrow = tf.zeros([2, 3, 6]);
      expect(() => enc.forward(narrow)).toThrow(/TransformerEncoder: x must be of shape \[\.\.\., 8\], got Tensor float32 \[2,3,6\]/);
      const dec = new TransformerDecoder({ dModel: 8, nHeads: 2, numLayers: 1, dropout: 0 });
      expect(() => dec.forward(x)).toThrow(/TransformerDecoder: memory must be the encoder output \[B, Ls, E\], got undefined/);
      const memory = tf.zeros([2, 4, 8]);
      const badMemoryMask = tf.ones([3, 5], 'bool');
      expect(() => dec.forward(x, { memory, memoryMask: badMemoryMask })).toThrow(/TransformerDecoder: memoryMask must be of shape \[3, 4\] or \[2\|1, 2\|1, 3, 4\] \(true = may attend\), got Tensor bool \[3,5\]/);
      const longPad = tf.zeros([2, 4], 'bool');
      expect(() => enc.forward(x, { keyPaddingMask: longPad })).toThrow(/TransformerEncoder: keyPaddingMask must be .*got Tensor bool \[2,4\]/);
      const shortMemPad = tf.zeros([2, 3], 'bool');
      expect(() => dec.forward(x, { memory, memoryKeyPaddingMask: shortMemPad })).toThrow(/TransformerDecoder: memoryKeyPaddingMask must be .*got Tensor bool \[2,3\]/);
      tf.dispose([ids, x, narrow, badMask, pad, memory, badMemoryMask, longPad, shortMemPad]);
      [cache, mine].forEach((c) => c.dispose());
      [gpt, other, enc, dec].forEach((m) => m.dispose());
    });
  });

  it('the old option name needWeights is refused, saying returnWeights replaces it (never silently ignored)', async () => {
    await assertNoLeaks(async () => {
      const old = { needWeights: true } as never;
      const renamed = (where: string) => new RegExp(`^${where.replace('.', '\\.')}: options\\.needWeights must be passed as \`returnWeights\` \\(the same meaning\\), got needWeights, an old option name$`);
      const gpt = new GPT(gptConfig);
      const ed = new EncoderDecoder({ srcVocabSize: 5, tgtVocabSize: 5, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dimFeedforward: 8, dropout: 0, seed: 0 });
      const enc = new TransformerEncoder({ dModel: 8, nHeads: 2, numLayers: 1, dimFeedforward: 8, dropout: 0, seed: 0 });
      const x = tf.zeros([1, 2, 8]);
      expect(() => gpt.forward([[1, 2]], old)).toThrow(renamed('GPT.forward'));
      expect(() => ed.forward([[1, 2]], [[1]], old)).toThrow(renamed('EncoderDecoder.forward'));
      expect(() => ed.encode([[1, 2]], old)).toThrow(renamed('EncoderDecoder.encode'));
      expect(() => ed.decode([[1]], x, old)).toThrow(renamed('EncoderDecoder.decode'));
      expect(() => enc.forward(x, old)).toThrow(renamed('TransformerEncoder'));
      expect(() => enc.layers.get(0).forward(x, old)).toThrow(renamed('TransformerLayer'));
      expect(() => enc.layers.get(0).selfAttn.forward(x, old)).toThrow(renamed('Attention'));
      // The new name works: per-layer weights [B, H, L, L].
      const r = enc.forward(x, { returnWeights: true });
      expect(r.selfWeights?.[0]?.shape).toEqual([1, 2, 2, 2]);
      tf.dispose([x, r.output, ...(r.selfWeights ?? [])]);
      [gpt, ed, enc].forEach((m) => m.dispose());
    });
  });

  it('an encoder-decoder refuses a cache or a decoding state of another model, changing neither', async () => {
    await assertNoLeaks(async () => {
      const cfg = { srcVocabSize: 9, tgtVocabSize: 9, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, seed: 0 };
      const a = new EncoderDecoder(cfg);
      const b = new EncoderDecoder({ ...cfg, seed: 1 });
      const da = a.decoding([[3, 4, 5]]);
      const db = b.decoding([[3, 4, 5]]);
      const info = { step: 0, batchIndex: [0], promptLength: [1], elapsedMs: 0 };
      await expect(async () => da.step([[1]], db.state, info)).rejects.toThrow(/TransformerDecoder: cache must be a StackCache made by this model \(createCache\)/);
      const foreign = b.transformer.decoder.createCache(1);
      expect(() => a.decode([[1]], undefined, { cache: foreign })).toThrow(/TransformerDecoder: cache must be a StackCache made by this model/);
      expect([da.state.length, db.state.length, foreign.length]).toEqual([0, 0, 0]);
      expect(db.state.cross).toBeNull(); // the failed step computed no cross-attention keys into it
      // Its own state still decodes.
      const { logits } = await da.step([[1]], da.state, info);
      expect(logits.shape).toEqual([1, 9]);
      logits.dispose();
      [da.state, db.state, foreign].forEach((s) => s.dispose());
      [a, b].forEach((m) => m.dispose());
    });
  });

  it('a failed cached call leaves the cache as it was', async () => {
    await assertNoLeaks(async () => {
      const gpt = new GPT(gptConfig);
      const cache = gpt.createCache(1);
      const a = gpt.forward([[1, 2, 3]], { cache }).logits;
      expect(() => gpt.forward([[4, 99]], { cache })).toThrow(/token ids in \[0, 10\)/);
      expect(() => gpt.forward([Array(6).fill(1)], { cache })).toThrow(/got 9 positions \(offset 3 \+ length 6\)/);
      expect(cache.length).toBe(3);
      // Continuing gives what an uninterrupted run gives.
      const b = gpt.forward([[4]], { cache }).logits;
      const full = gpt.forward([[1, 2, 3, 4]]).logits;
      const lastFull = tf.slice(full, [0, 3, 0], [1, 1, -1]);
      expect(Array.from(await b.data()).map((v) => v.toFixed(4))).toEqual(Array.from(await lastFull.data()).map((v) => v.toFixed(4)));
      tf.dispose([a, b, full, lastFull]);
      cache.dispose();
      gpt.dispose();
    });
  });
});
