// An empty batch (batch 0) gives empty outputs of the right shapes on every backend, never a wasm trap
// ("divide by zero", "remainder by zero") or a wrong shape.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import {
  AdditiveAttention,
  blockSparseAttention,
  cachedAttention,
  checkQKV,
  clusteredAttention,
  DenseSynthesizer,
  globalAttention,
  KMeansRouting,
  KVCache,
  LinearAttentionState,
  linearAttention,
  linearAttentionQuadratic,
  Linformer,
  localAttention,
  lshAttention,
  MultiHeadAttention,
  patternLayout,
  perHead,
  RandomSynthesizer,
  scaledDotProductAttention,
  sparseAttention,
  stridedAttention,
  type AttentionFn,
  type AttentionResult,
} from '../src/index.js';

const H = 2;
const L = 4;
const D = 3;

describe('batch 0', () => {
  const modules = {
    additive: () => new AdditiveAttention(D, 5),
    linformer: () => new Linformer(8, 2),
    random: () => new RandomSynthesizer(H, 8),
    dense: () => new DenseSynthesizer(D, 8, 5),
    kmeans: () => new KMeansRouting(H, D, 2, { chunkSize: 2 }),
  };
  const variants: [string, () => { attend: AttentionFn; dispose?: () => void }][] = [
    ['full', () => ({ attend: scaledDotProductAttention })],
    ['local', () => ({ attend: localAttention({ window: 1 }) })],
    ['causal local', () => ({ attend: localAttention({ lookBack: 2, causal: true }) })],
    ['strided', () => ({ attend: stridedAttention({ stride: 2, lookBack: 1, lookForward: 1 }) })],
    ['global', () => ({ attend: globalAttention({ count: 1 }) })],
    ['sparse', () => ({ attend: sparseAttention({ local: { lookBack: 1, lookForward: 1 }, global: { count: 1 } }) })],
    ['LSH', () => ({ attend: lshAttention({ nBuckets: 2, chunkSize: 2 }) })],
    ['LSH, one bucket', () => ({ attend: lshAttention({ nBuckets: 1, chunkSize: 2 }) })],
    ['linear', () => ({ attend: linearAttention() })],
    ['causal linear', () => ({ attend: linearAttention({ causal: true, chunkSize: 2 }) })],
    ['linear quadratic', () => ({ attend: (q, k, v, o) => linearAttentionQuadratic(q, k, v, {}, o) })],
    ['per head', () => ({ attend: perHead([localAttention({ window: 1 }), scaledDotProductAttention]) })],
    ['clustered', () => ({ attend: (q, k, v, o) => tf.tidy(() => clusteredAttention('clustered', q, k, v, checkQKV('clustered', q, k, v, o), tf.zeros([0, H, L], 'int32'), tf.zeros([0, H, L], 'int32'), 1, { chunkSize: 2, lookBack: 1, lookForward: 1 }, 1, o ?? {})) })],
    ['block sparse', () => ({ attend: (q, k, v, o) => blockSparseAttention('blockSparse', q, k, v, checkQKV('blockSparse', q, k, v, o), patternLayout({ local: { lookBack: 1, lookForward: 1 } }, L, L), 1, o ?? {}) })],
    ...Object.entries(modules).map(([name, make]) => [name, () => make()] as [string, () => { attend: AttentionFn; dispose: () => void }]),
  ];
  for (const [name, make] of variants) {
    it(`${name}: empty output and weights`, async () => {
      await assertNoLeaks(async () => {
        const m = make();
        const q = tf.zeros([0, H, L, D]);
        const check = async (r: AttentionResult, weights: boolean) => {
          expect(r.output.shape).toEqual([0, H, L, D]);
          expect((await r.output.data()).length).toBe(0);
          if (weights) expect(r.weights?.shape.slice(0, 3)).toEqual([0, H, L]); // [0, H, Lq, Lk] (Linformer: kProj)
          tf.dispose([r.output, r.weights ?? []].flat());
        };
        await check(m.attend(q, q, q), false);
        await check(m.attend(q, q, q, { returnWeights: true }), true);
        q.dispose();
        m.dispose?.();
      });
    });
  }

  it('MultiHeadAttention: empty output and weights, with and without a cache', async () => {
    await assertNoLeaks(async () => {
      // (linear attention decodes with LinearAttentionState, not a KV cache)
      for (const [attention, withCache] of [
        [undefined, true],
        [lshAttention({ nBuckets: 2, chunkSize: 2 }), true],
        [linearAttention(), false],
      ] as const) {
        const mha = new MultiHeadAttention(4, 2, { attention });
        const x = tf.zeros([0, 3, 4]);
        const r = mha.forward(x, x, x, { returnWeights: attention !== undefined ? false : true });
        expect(r.output.shape).toEqual([0, 3, 4]);
        expect((await r.output.data()).length).toBe(0);
        if (r.weights) expect(r.weights.shape).toEqual([0, 3, 3]);
        tf.dispose([r.output, r.weights ?? []].flat());
        const perHeadWeights = mha.forward(x, x, x, { returnWeights: true, averageAttnWeights: false });
        expect(perHeadWeights.weights?.shape).toEqual([0, 2, 3, 3]);
        tf.dispose([perHeadWeights.output, perHeadWeights.weights ?? []].flat());
        if (withCache) {
          const cache = new KVCache();
          for (let step = 0; step < 2; step++) {
            const out = mha.forward(x, x, x, { cache }).output;
            expect(out.shape).toEqual([0, 3, 4]);
            expect((await out.data()).length).toBe(0);
            out.dispose();
          }
          expect([cache.length, cache.held]).toEqual([6, 6]);
          cache.dispose();
        }
        x.dispose();
        mha.dispose();
      }
    });
  });

  it('caches: cachedAttention and LinearAttentionState', async () => {
    await assertNoLeaks(async () => {
      const x = tf.zeros([0, H, 1, D]);
      const cache = new KVCache({ window: 2 });
      const state = new LinearAttentionState();
      for (let step = 0; step < 3; step++) {
        const a = cachedAttention(x, x, x, cache).output;
        const b = state.step(x, x, x);
        expect([a.shape, b.shape]).toEqual([
          [0, H, 1, D],
          [0, H, 1, D],
        ]);
        expect((await a.data()).length + (await b.data()).length).toBe(0);
        tf.dispose([a, b]);
      }
      expect([cache.length, cache.held]).toEqual([3, 2]);
      cache.dispose();
      state.dispose();
      x.dispose();
    });
  });
});
