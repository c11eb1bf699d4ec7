// The efficient variants against full attention with the equivalent dense mask (the definition of each
// pattern), the prefix-sum form against the quadratic form, and incremental decoding against recompute.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import {
  cachedAttention,
  favorFeatureMap,
  globalAttention,
  KMeansRouting,
  KVCache,
  linearAttention,
  linearAttentionQuadratic,
  LinearAttentionState,
  localAttention,
  lshAttention,
  lshBuckets,
  lshRotations,
  MultiHeadAttention,
  patternMask,
  perHead,
  scaledDotProductAttention,
  sparseAttention,
  stridedAttention,
  type AttentionFn,
  type SparsePatternOptions,
} from '../src/index.js';
import { qkv, randn } from './helpers.js';

const tol = () => backendTolerance();

/** Output (and weights) of `attend` equal full attention with `mask`. */
async function expectLikeFull(attend: AttentionFn, mask: tf.Tensor | null, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, label: string, extra = {}) {
  const got = attend(q, k, v, { ...extra, returnWeights: true });
  const plain = attend(q, k, v, extra);
  const want = scaledDotProductAttention(q, k, v, { ...extra, mask: mask ?? undefined, returnWeights: true });
  const wantOut = await want.output.data();
  await assertClose(got.output, wantOut, tol(), `${label} output`, want.output.shape);
  await assertClose(plain.output, wantOut, tol(), `${label} output without weights`, want.output.shape);
  await assertClose(got.weights!, await want.weights!.data(), tol(), `${label} weights`, want.weights!.shape);
  tf.dispose([got.output, got.weights!, plain.output, want.output, want.weights!]);
}

describe('sparse patterns equal full attention with their mask', () => {
  it('local with a window ≥ N equals full (bidirectional and causal)', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(2, 2, 7, 3);
      await expectLikeFull(localAttention({ window: 7 }), null, q, k, v, 'local ≥ N');
      const causal = tf.tidy(() => tf.greater(tf.linalg.bandPart(tf.ones([7, 7]), -1, 0), 0));
      await expectLikeFull(localAttention({ window: 9, causal: true }), causal, q, k, v, 'causal local ≥ N');
      tf.dispose([q, k, v, causal]);
    });
  });

  const patterns: [string, SparsePatternOptions][] = [
    ['local 2/1', { local: { lookBack: 2, lookForward: 1 } }],
    ['causal local', { local: { lookBack: 3, lookForward: 3 }, causal: true }],
    ['strided 3', { strided: { stride: 3, lookBack: 2, lookForward: 1 } }],
    ['global positions', { global: { positions: [4, 0] } }],
    ['global + local', { global: { count: 2 }, local: { lookBack: 1, lookForward: 1 } }],
    ['global + local + strided, causal', { global: { positions: [5] }, local: { lookBack: 1, lookForward: 1 }, strided: { stride: 4, lookBack: 2, lookForward: 2 }, causal: true }],
    ['local, tiny blocks', { local: { lookBack: 2, lookForward: 2 }, blockSize: 3 }],
  ];
  for (const [label, p] of patterns) {
    it(label, async () => {
      await assertNoLeaks(async () => {
        const [q, k, v] = qkv(1, 2, 11, 4, 3);
        const mask = patternMask(p, 11);
        await expectLikeFull(sparseAttention(p), mask, q, k, v, label);
        tf.dispose([q, k, v, mask]);
      });
    });
  }

  it('with key padding and a graph mask on top', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(2, 1, 9, 3, 5);
      const p: SparsePatternOptions = { local: { lookBack: 2, lookForward: 2 }, global: { count: 1 } };
      const pad = tf.tensor2d([[0, 0, 0, 0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0]], undefined, 'bool');
      const graph = tf.tidy(() => tf.greater(randn([9, 9], 9), -0.5));
      const dense = tf.tidy(() => tf.logicalAnd(tf.reshape(patternMask(p, 9), [1, 1, 9, 9]), tf.reshape(graph, [1, 1, 9, 9])));
      await expectLikeFull(sparseAttention(p), dense, q, k, v, 'padding + graph', { keyPaddingMask: pad, mask: graph });
      tf.dispose([q, k, v, pad, graph, dense]);
    });
  });

  it('different heads use different patterns', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 3, 10, 2, 7);
      const fns = [localAttention({ window: 1 }), stridedAttention({ stride: 3, lookBack: 2, lookForward: 2 }), globalAttention({ count: 1 })];
      const masks = [patternMask({ local: { lookBack: 1, lookForward: 1 } }, 10), patternMask({ strided: { stride: 3, lookBack: 2, lookForward: 2 } }, 10), patternMask({ global: { count: 1 } }, 10)];
      const mask = tf.tidy(() => tf.reshape(tf.stack(masks), [1, 3, 10, 10]));
      await expectLikeFull(perHead(fns), mask, q, k, v, 'per head');
      tf.dispose([q, k, v, mask, ...masks]);
    });
  });

  it('a fully masked query gets zeros, not NaN', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 1, 5, 2, 11);
      const pad = tf.tensor2d([[1, 1, 1, 0, 0]], undefined, 'bool');
      const r = localAttention({ lookBack: 1, lookForward: 0 })(q, k, v, { keyPaddingMask: pad });
      const out = await r.output.data();
      expect(Array.from(out.slice(0, 4))).toEqual([0, 0, 0, 0]); // queries 0, 1 see only padding
      expect(out.every((x) => Number.isFinite(x))).toBe(true);
      tf.dispose([q, k, v, pad, r.output]);
    });
  });
});

describe('clustering', () => {
  it('one cluster equals full attention (LSH and k-means)', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 2, 8, 3, 13);
      await expectLikeFull(lshAttention({ nBuckets: 1, chunkSize: 16 }), null, q, k, v, 'lsh 1 bucket');
      const causal = tf.tidy(() => tf.greater(tf.linalg.bandPart(tf.ones([8, 8]), -1, 0), 0));
      await expectLikeFull(lshAttention({ nBuckets: 1, chunkSize: 16, causal: true }), causal, q, k, v, 'lsh 1 bucket causal');
      const km = new KMeansRouting(2, 3, 1, { chunkSize: 16 }).eval();
      await expectLikeFull(km.attend, null, q, k, v, 'k-means 1 cluster');
      km.dispose();
      tf.dispose([q, k, v, causal]);
    });
  });

  it('LSH with big chunks equals full attention masked to same-bucket pairs', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 2, 12, 4, 17);
      const mask = tf.tidy(() => {
        const R = lshRotations(4, 4, 3);
        const qb = tf.expandDims(lshBuckets(q, R), 3); // [1, 2, 12, 1]
        const kb = tf.expandDims(lshBuckets(k, R), 2); // [1, 2, 1, 12]
        return tf.equal(qb, kb);
      });
      const pairs = tf.tidy(() => tf.sum(tf.cast(mask, 'int32')));
      const n = (await pairs.data())[0];
      pairs.dispose();
      expect(n).toBeGreaterThan(0); // some pairs share a bucket…
      expect(n).toBeLessThan(2 * 12 * 12); // …and some do not
      await expectLikeFull(lshAttention({ nBuckets: 4, chunkSize: 24, seed: 3 }), mask, q, k, v, 'lsh 4 buckets');
      tf.dispose([q, k, v, mask]);
    });
  });

  it('k-means routing only scores pairs of the same cluster and moves centroids in training', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 1, 10, 3, 19);
      const km = new KMeansRouting(1, 3, 3, { chunkSize: 32, decay: 0.5 });
      const before = await km.centroids.data();
      km.eval();
      const mask = tf.tidy(() => tf.equal(tf.expandDims(km.assign(q), 3), tf.expandDims(km.assign(k), 2)));
      await expectLikeFull(km.attend, mask, q, k, v, 'k-means 3 clusters');
      km.train();
      tf.dispose(km.forward(q, k, v).output);
      const after = await km.centroids.data();
      expect(Array.from(after)).not.toEqual(Array.from(before));
      km.dispose();
      tf.dispose([q, k, v, mask]);
    });
  });
});

describe('linear attention', () => {
  for (const chunkSize of [1, 3, 64]) {
    it(`causal prefix sums (chunk ${chunkSize}) equal the quadratic form`, async () => {
      await assertNoLeaks(async () => {
        const [q, k, v] = qkv(2, 2, 7, 3, 23, 7, 2);
        for (const featureMap of ['elu', 'relu'] as const) {
          const got = linearAttention({ featureMap, causal: true, chunkSize })(q, k, v);
          const want = linearAttentionQuadratic(q, k, v, { featureMap, causal: true });
          await assertClose(got.output, await want.output.data(), { atol: 3 * tol().atol, rtol: 3 * tol().rtol }, `${featureMap} chunk ${chunkSize}`);
          tf.dispose([got.output, want.output]);
        }
        tf.dispose([q, k, v]);
      });
    });
  }

  it('non-causal φ(K)ᵀV-first form equals the quadratic form, with padding', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(2, 1, 6, 3, 29);
      const pad = tf.tensor2d([[0, 0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0]], undefined, 'bool');
      const got = linearAttention()(q, k, v, { keyPaddingMask: pad });
      const want = linearAttentionQuadratic(q, k, v, {}, { keyPaddingMask: pad });
      await assertClose(got.output, await want.output.data(), { atol: 3 * tol().atol, rtol: 3 * tol().rtol }, 'non-causal');
      tf.dispose([q, k, v, pad, got.output, want.output]);
    });
  });

  it('FAVOR+ approximates softmax attention', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 1, 16, 4, 31);
      const qs = tf.mul(q, 0.5);
      const ks = tf.mul(k, 0.5);
      const got = linearAttention({ featureMap: favorFeatureMap(4, 256, { seed: 2 }) })(qs, ks, v);
      const want = scaledDotProductAttention(qs, ks, v);
      const [a, b] = [await got.output.data(), await want.output.data()];
      const err = Math.max(...a.map((x, i) => Math.abs(x - b[i])));
      expect(err).toBeLessThan(0.1);
      const mean = tf.mean(v, 2);
      const uniform = await mean.data(); // a trivial baseline (uniform weights) is much worse
      mean.dispose();
      expect(err).toBeLessThan(Math.max(...b.map((x, i) => Math.abs(x - uniform[i % 4]))) / 2);
      tf.dispose([q, k, v, qs, ks, got.output, want.output]);
    });
  });
});

describe('incremental decoding with a cache equals full causal recompute', () => {
  const L = 6;
  async function decode(label: string, step: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor, full: tf.Tensor, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, t0 = 2) {
    // first a prompt of t0 positions at once, then one position per step
    const outs: tf.Tensor[] = [];
    const sl = (x: tf.Tensor, s: number, n: number) => tf.slice(x, [0, 0, s, 0], [-1, -1, n, -1]);
    let counts: number[] = [];
    for (let s = 0; s < L; ) {
      const n = s === 0 ? t0 : 1;
      const [qs, ks, vs] = [sl(q, s, n), sl(k, s, n), sl(v, s, n)];
      outs.push(step(qs, ks, vs));
      tf.dispose([qs, ks, vs]);
      counts.push(tf.memory().numTensors - outs.length);
      s += n;
    }
    counts = counts.slice(1);
    expect(new Set(counts).size, `${label}: tensor count flat across steps (${counts})`).toBe(1);
    const got = tf.concat(outs, 2);
    await assertClose(got, await full.data(), { atol: 3 * tol().atol, rtol: 3 * tol().rtol }, label, full.shape);
    tf.dispose([got, ...outs]);
  }

  it('full attention', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 2, L, 3, 37);
      const full = scaledDotProductAttention(q, k, v, { causal: true }).output;
      const cache = new KVCache();
      await decode('full', (a, b, c) => cachedAttention(a, b, c, cache).output, full, q, k, v);
      expect(cache.length).toBe(L);
      cache.dispose();
      tf.dispose([q, k, v, full]);
    });
  });

  it('local attention with a sliding-window cache', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(1, 1, L, 3, 41);
      const attend = localAttention({ lookBack: 2, causal: true });
      const full = attend(q, k, v).output;
      const cache = new KVCache({ window: 3 });
      await decode('local', (a, b, c) => cachedAttention(a, b, c, cache, attend).output, full, q, k, v);
      expect(cache.held).toBe(3);
      cache.dispose();
      tf.dispose([q, k, v, full]);
    });
  });

  it('linear attention with its recurrent state', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(2, 1, L, 3, 43);
      for (const featureMap of ['elu', favorFeatureMap(3, 8)] as const) {
        const full = linearAttention({ featureMap, causal: true, chunkSize: 4 })(q, k, v).output;
        const state = new LinearAttentionState({ featureMap });
        await decode('linear', (a, b, c) => state.step(a, b, c), full, q, k, v);
        state.dispose();
        full.dispose();
      }
      tf.dispose([q, k, v]);
    });
  });

  it('MultiHeadAttention with a cache', async () => {
    await assertNoLeaks(async () => {
      const x = randn([1, L, 8], 47);
      const mha = new MultiHeadAttention(8, 2, { attention: [localAttention({ lookBack: 10, causal: true }), scaledDotProductAttention] });
      const full = mha.forward(x, x, x, { causal: true }).output;
      const cache = new KVCache();
      const outs: tf.Tensor[] = [];
      for (let s = 0; s < L; s++) {
        const xs = tf.slice(x, [0, s, 0], [1, 1, 8]);
        outs.push(mha.forward(xs, xs, xs, { cache }).output);
        xs.dispose();
      }
      const got = tf.concat(outs, 1);
      await assertClose(got, await full.data(), { atol: 3 * tol().atol, rtol: 3 * tol().rtol }, 'mha cache');
      tf.dispose([x, full, got, ...outs]);
      cache.dispose();
      mha.dispose();
    });
  });
});
