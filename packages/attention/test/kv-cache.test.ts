// KV caches as decoding state: reorder(indices) gathers rows into a new cache (what beam search needs when
// it re-ranks beams), and a call that fails leaves the cache as it was.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { cachedAttention, favorFeatureMap, KVCache, LinearAttentionState, localAttention, MultiHeadAttention, scaledDotProductAttention, type AttentionFn } from '../src/index.js';
import { qkv, randn } from './helpers.js';

/** Rows `indices` of x on axis 0 (a new tensor). */
const rowsOf = (x: tf.Tensor, indices: number[]) => tf.tidy(() => tf.gather(x, tf.tensor1d(indices, 'int32')));
/** Positions [from, from + n) of a [B, H, L, d] tensor. */
const steps = (x: tf.Tensor, from: number, n: number) => tf.slice(x, [0, 0, from, 0], [-1, -1, n, -1]);

describe('KVCache.reorder', () => {
  for (const window of [undefined, 3]) {
    it(`gathers rows into a new cache that decodes as one built from the gathered inputs${window ? ' (sliding window)' : ''}; the original is untouched`, async () => {
      await assertNoLeaks(async () => {
        const [q, k, v] = qkv(3, 2, 6, 4, 11);
        const attend: AttentionFn | undefined = window ? localAttention({ lookBack: window - 1, causal: true }) : undefined;
        const cache = new KVCache({ window });
        for (const [from, n] of [
          [0, 2],
          [2, 1],
          [3, 1],
        ]) {
          const [qs, ks, vs] = [steps(q, from, n), steps(k, from, n), steps(v, from, n)];
          tf.dispose([qs, ks, vs, cachedAttention(qs, ks, vs, cache, attend).output]);
        }
        const indices = [2, 0, 0, 1];
        const beams = cache.reorder(indices);
        expect(beams).toBeInstanceOf(KVCache);
        expect(beams).not.toBe(cache);
        expect([beams.length, beams.held, beams.window]).toEqual([cache.length, cache.held, cache.window]);
        // Continue both: the reordered cache equals a cache fed the gathered rows from the start.
        const [gq, gk, gv] = [rowsOf(q, indices), rowsOf(k, indices), rowsOf(v, indices)];
        const fresh = new KVCache({ window });
        tf.tidy(() => void cachedAttention(steps(gq, 0, 4), steps(gk, 0, 4), steps(gv, 0, 4), fresh, attend));
        const next = [steps(gq, 4, 2), steps(gk, 4, 2), steps(gv, 4, 2)];
        const got = cachedAttention(next[0], next[1], next[2], beams, attend).output;
        const want = cachedAttention(next[0], next[1], next[2], fresh, attend).output;
        await assertClose(got, await want.data(), backendTolerance(), 'reordered cache', [4, 2, 2, 4]);
        // The original still holds its 3 rows and decodes on from where it was.
        const orig = [steps(q, 4, 1), steps(k, 4, 1), steps(v, 4, 1)];
        const ref = new KVCache({ window });
        tf.tidy(() => void cachedAttention(steps(q, 0, 4), steps(k, 0, 4), steps(v, 0, 4), ref, attend));
        const a = cachedAttention(orig[0], orig[1], orig[2], cache, attend).output;
        const b = cachedAttention(orig[0], orig[1], orig[2], ref, attend).output;
        await assertClose(a, await b.data(), backendTolerance(), 'original cache');
        // Disposing one does not touch the other's tensors.
        beams.dispose();
        expect(cache.held).toBe(window ?? 5);
        tf.dispose([q, k, v, gq, gk, gv, got, want, a, b, ...next, ...orig]);
        [cache, fresh, ref].forEach((c) => c.dispose());
      });
    });
  }

  it('an empty cache reorders into an empty one with the same window; bad indices are refused', async () => {
    await assertNoLeaks(async () => {
      const empty = new KVCache({ window: 2 }).reorder([0, 0, 0]);
      expect([empty.length, empty.held, empty.window]).toEqual([0, 0, 2]);
      const cache = new KVCache();
      tf.tidy(() => void cache.append(tf.zeros([2, 1, 1, 3]), tf.zeros([2, 1, 1, 3])));
      expect(() => cache.reorder([0, 2])).toThrow(/^KVCache\.reorder: indices must be row indices in \[0, 2\)/);
      expect(() => cache.reorder([0.5])).toThrow(/^KVCache\.reorder: indices must be row indices in \[0, 2\)/);
      expect(() => cache.reorder([])).toThrow(/^KVCache\.reorder: indices must be a non-empty list/);
      expect(() => cache.reorder('0' as never)).toThrow(/^KVCache\.reorder: indices must be a non-empty list/);
      cache.dispose();
    });
  });
});

describe('LinearAttentionState.reorder', () => {
  it('gathers the running sums into a new state that continues as one built from the gathered inputs', async () => {
    await assertNoLeaks(async () => {
      const [q, k, v] = qkv(3, 2, 5, 4, 21);
      const featureMap = favorFeatureMap(4, 6);
      const state = new LinearAttentionState({ featureMap });
      tf.tidy(() => void state.step(steps(q, 0, 3), steps(k, 0, 3), steps(v, 0, 3)));
      const indices = [1, 1, 2];
      const beams = state.reorder(indices);
      expect(beams).toBeInstanceOf(LinearAttentionState);
      const [gq, gk, gv] = [rowsOf(q, indices), rowsOf(k, indices), rowsOf(v, indices)];
      const fresh = new LinearAttentionState({ featureMap });
      tf.tidy(() => void fresh.step(steps(gq, 0, 3), steps(gk, 0, 3), steps(gv, 0, 3)));
      const next = [steps(gq, 3, 2), steps(gk, 3, 2), steps(gv, 3, 2)];
      const got = beams.step(next[0], next[1], next[2]);
      const want = fresh.step(next[0], next[1], next[2]);
      await assertClose(got, await want.data(), backendTolerance(), 'reordered state', [3, 2, 2, 4]);
      beams.dispose();
      const still = tf.tidy(() => state.step(steps(q, 3, 1), steps(k, 3, 1), steps(v, 3, 1))); // the original continues with 3 rows
      expect(still.shape).toEqual([3, 2, 1, 4]);
      expect(() => state.reorder([3])).toThrow(/^LinearAttentionState\.reorder: indices must be row indices in \[0, 3\)/);
      const empty = new LinearAttentionState().reorder([0, 0]);
      empty.dispose();
      tf.dispose([q, k, v, gq, gk, gv, got, want, still, ...next]);
      state.dispose();
      fresh.dispose();
    });
  });
});

describe('a failed cached call leaves the cache unchanged', () => {
  it('cachedAttention checks q before appending, and appends only when attend succeeds', async () => {
    await assertNoLeaks(async () => {
      const cache = new KVCache();
      const [q, k, v] = qkv(2, 2, 3, 4, 31);
      tf.dispose(cachedAttention(q, k, v, cache).output);
      const before = [cache.length, cache.held];
      const probe = randn([2, 2, 1, 4], 5);
      const copy = cache.reorder([0, 1]);
      const reference = cachedAttention(probe, probe, probe, copy).output;
      copy.dispose();
      const kNew = randn([2, 2, 1, 4], 6);
      const bad: [string, tf.Tensor, AttentionFn | undefined, RegExp][] = [
        ['q of another head dim', randn([2, 2, 1, 5], 7), undefined, /^cachedAttention: q must be of shape \[2, 2, t, 4\]/],
        ['q of another batch', randn([3, 2, 1, 4], 8), undefined, /^cachedAttention: q must be of shape \[2, 2, t, 4\]/],
        ['q of rank 3', randn([2, 2, 4], 9), undefined, /^cachedAttention: q must be of rank 4/],
        [
          'an attend that throws',
          randn([2, 2, 1, 4], 10),
          () => {
            throw new Error('attend failed');
          },
          /attend failed/,
        ],
      ];
      for (const [label, badQ, attend, message] of bad) {
        expect(() => cachedAttention(badQ, kNew, kNew, cache, attend), label).toThrow(message);
        expect([cache.length, cache.held], label).toEqual(before);
        badQ.dispose();
      }
      // and the cache still holds exactly what it held
      const after = cachedAttention(probe, probe, probe, cache).output;
      await assertClose(after, await reference.data(), backendTolerance(), 'unchanged cache');
      tf.dispose([q, k, v, probe, reference, kNew, after]);
      cache.dispose();
    });
  });

  it('MultiHeadAttention with a cache appends only when the call succeeds', async () => {
    await assertNoLeaks(async () => {
      const noWeights: AttentionFn = (q, k, v, o) => ({ output: scaledDotProductAttention(q, k, v, { ...o, returnWeights: false }).output });
      const mha = new MultiHeadAttention(8, 2, { attention: noWeights });
      const cache = new KVCache();
      const x = randn([1, 3, 8], 3);
      tf.dispose(mha.forward(x, x, x, { cache }).output);
      expect(cache.length).toBe(3);
      // returnWeights with a variant that returns none fails after the projections
      const xs = randn([1, 1, 8], 4);
      expect(() => mha.forward(xs, xs, xs, { cache, returnWeights: true })).toThrow(/MultiHeadAttention: attention must be a variant that returns weights/);
      expect([cache.length, cache.held]).toEqual([3, 3]);
      tf.dispose(mha.forward(xs, xs, xs, { cache }).output);
      expect(cache.length).toBe(4);
      tf.dispose([x, xs]);
      cache.dispose();
      mha.dispose();
    });
  });
});
