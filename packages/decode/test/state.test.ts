// Decoding state made of KV caches: gatherState reorders caches anywhere in a state (arrays, Maps, plain
// objects) through their reorder(), and the decoders free what each step and reorder leave behind (tensors
// in private fields included), so beam search over a transformer-like state keeps the tensor count flat.
//
// The caches are the real ones of @dl/attention, imported from its source (@dl/decode does not depend on it).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Module, Rng } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { cachedAttention, KVCache, LinearAttentionState, linearAttention, localAttention, scaledDotProductAttention, type AttentionFn } from '../../attention/src/index.js';
import { beamSearch, gatherState, greedy, sample, type StepFn } from '../src/index.js';

const D = 4; // model width (one head)
const V = 7; // vocabulary
const LS = 3; // encoder (memory) length
const rand = (shape: number[], seed: number, std = 1) => tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1), 0, std), shape);

/** The state a transformer decoder carries: per-layer self-attention caches, cross-attention keys/values, the encoder output. */
interface DecoderState {
  self: (KVCache | LinearAttentionState)[];
  cross: { k: tf.Tensor; v: tf.Tensor }[];
  memory: tf.Tensor;
}

/** A tiny 3-layer decoder whose layers attend with a full KV cache, a sliding-window cache and causal linear attention. */
function toyDecoder() {
  const embed = rand([V, D], 1);
  const layers = [0, 1, 2].map((l) => ({ wq: rand([D, D], 10 + l, 0.7), wk: rand([D, D], 20 + l, 0.7), wv: rand([D, D], 30 + l, 0.7) }));
  const out = rand([D, V], 2, 2);
  const window = 3;
  const full: AttentionFn[] = [scaledDotProductAttention, localAttention({ lookBack: window - 1, causal: true }), linearAttention({ causal: true, chunkSize: 4 })];
  const proj = (x: tf.Tensor, w: tf.Tensor) => tf.reshape(tf.matMul(tf.reshape(x, [-1, D]), w), x.shape); // [rows, 1, t, D]
  /** Logits of the last position, given the new positions' embeddings and a way to attend per layer. */
  const forward = (x0: tf.Tensor, state: DecoderState, attend: (l: number, q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor) =>
    tf.tidy(() => {
      let x = x0; // [rows, 1, t, D]
      layers.forEach((w, l) => {
        const h = attend(l, proj(x, w.wq), proj(x, w.wk), proj(x, w.wv)); // [rows, 1, t, D]
        const c = scaledDotProductAttention(h, state.cross[l].k, state.cross[l].v).output; // [rows, 1, t, D]
        x = tf.tanh(tf.add(tf.add(x, h), c));
      });
      const t = x.shape[2] as number;
      const last = tf.reshape(tf.slice(x, [0, 0, t - 1, 0], [-1, 1, 1, D]), [-1, D]); // [rows, D]
      return tf.add(tf.matMul(last, out), tf.reshape(tf.mul(tf.sum(state.memory, [1, 2]), 0), [-1, 1])); // [rows, V]
    });
  const embedTokens = (tokens: readonly (readonly number[])[], from: number) =>
    tf.tidy(() => tf.reshape(tf.gather(embed, tf.tensor2d(tokens.map((r) => r.slice(from)), undefined, 'int32')), [tokens.length, 1, tokens[0].length - from, D]));
  /** With caches: feeds the new positions only. */
  const cached: StepFn<DecoderState> = (tokens, state) => {
    const from = state.self[0] instanceof KVCache ? (state.self[0] as KVCache).length : 0;
    const x = embedTokens(tokens, from);
    const logits = forward(x, state, (l, q, k, v) => {
      const c = state.self[l];
      return c instanceof LinearAttentionState ? c.step(q, k, v) : cachedAttention(q, k, v, c, full[l]).output;
    });
    x.dispose();
    return { logits, state };
  };
  /** Without caches: recomputes every position every step (the reference). */
  const stateless: StepFn<DecoderState> = (tokens, state) => {
    const x = embedTokens(tokens, 0);
    const logits = forward(x, state, (l, q, k, v) => full[l](q, k, v, { causal: true }).output);
    x.dispose();
    return { logits, state };
  };
  /** A fresh state for `inputs` encoder outputs (the caller owns it). */
  const init = (inputs: number): DecoderState => {
    const memory = rand([inputs, LS, D], 5);
    return {
      self: [new KVCache(), new KVCache({ window }), new LinearAttentionState()],
      cross: layers.map((_, l) => ({ k: tf.tidy(() => tf.reshape(proj(tf.reshape(memory, [inputs, 1, LS, D]), layers[l].wk), [inputs, 1, LS, D])), v: tf.tidy(() => tf.reshape(memory, [inputs, 1, LS, D])) })),
      memory,
    };
  };
  const disposeState = (s: DecoderState) => {
    s.self.forEach((c) => c.dispose());
    tf.dispose([s.memory, ...s.cross.flatMap((c) => [c.k, c.v])]);
  };
  const dispose = () => tf.dispose([embed, out, ...layers.flatMap((w) => [w.wq, w.wk, w.wv])]);
  return { cached, stateless, init, disposeState, dispose };
}

describe('gatherState with KV caches', () => {
  it('reorders caches nested in arrays, Maps and plain objects through their reorder(), gathers plain tensors, keeps other leaves', async () => {
    await assertNoLeaks(async () => {
      const toy = toyDecoder();
      const state = toy.init(2);
      tf.dispose((await toy.cached([[1, 2], [3, 4]], state, { step: 0, batchIndex: [0, 1], promptLength: [2, 2], elapsedMs: 0 })).logits);
      const nested = { layers: state.self, byName: new Map([['first', state.self[0]]]), cross: state.cross, memory: state.memory, note: 'kept', step: 3 };
      const beams = gatherState(nested, [1, 1, 0]);
      beams.layers.forEach((c, l) => {
        expect(c).toBeInstanceOf(state.self[l].constructor);
        expect(c).not.toBe(state.self[l]);
      });
      expect((beams.layers[0] as KVCache).length).toBe(2);
      expect((beams.layers[1] as KVCache).window).toBe(3);
      expect(beams.byName.get('first')).toBeInstanceOf(KVCache);
      expect([beams.note, beams.step]).toEqual(['kept', 3]);
      const memory = await state.memory.data();
      await assertClose(beams.memory, [...memory.slice(12, 24), ...memory.slice(12, 24), ...memory.slice(0, 12)], backendTolerance(), 'memory rows', [3, LS, D]);
      // the originals are untouched: the 2-row caches still decode
      tf.dispose((await toy.cached([[1, 2, 5], [3, 4, 6]], state, { step: 1, batchIndex: [0, 1], promptLength: [2, 2], elapsedMs: 0 })).logits);
      [...beams.layers, beams.byName.get('first')!].forEach((c) => c.dispose());
      tf.dispose([beams.memory, ...beams.cross.flatMap((c) => [c.k, c.v])]);
      toy.disposeState(state);
      toy.dispose();
    });
  });

  it('a reorder that fails half way frees what it had made', async () => {
    await assertNoLeaks(async () => {
      const a = new KVCache();
      tf.tidy(() => void a.append(tf.zeros([2, 1, 1, D]), tf.zeros([2, 1, 1, D])));
      const b = new KVCache();
      tf.tidy(() => void b.append(tf.zeros([1, 1, 1, D]), tf.zeros([1, 1, 1, D]))); // one row only
      const t = tf.zeros([2, 3]);
      expect(() => gatherState({ t, caches: [a, b] }, [1, 1])).toThrow(/KVCache\.reorder: indices must be row indices in \[0, 1\)/);
      [a, b].forEach((c) => c.dispose());
      t.dispose();
    });
  });
});

describe('decoding with a transformer-like state { self: caches[], cross: {k, v}[], memory }', () => {
  it('beam search (and beam sampling) with caches follow the beams: the same sequences as recomputing every prefix; the tensor count stays flat', async () => {
    const toy = toyDecoder();
    const prompts = [
      [1, 2],
      [3, 4],
    ];
    // Beam sampling takes the same path through the state; on webgpu (SwiftShader: every new shape compiles
    // shaders) it runs on cpu and wasm only, to keep the suite short.
    const configs = tf.getBackend() === 'webgpu' ? [{}] : [{}, { doSample: true, topK: 4, seed: 2 }];
    for (const extra of configs) {
      const counts: number[] = [];
      const state = toy.init(2);
      await assertNoLeaks(async () => {
        const opts = { numBeams: 3, numReturnSequences: 3, maxNewTokens: 6, eosTokenId: 0, ...extra };
        const cached = await beamSearch(toy.cached, prompts, { ...opts, state, stoppingCriteria: [{ reason: 'probe', check: () => (counts.push(tf.memory().numTensors), false) }] });
        const plain = await beamSearch(toy.stateless, prompts, { ...opts, state });
        expect(cached.sequences.map((s) => s.map((h) => h.tokens))).toEqual(plain.sequences.map((s) => s.map((h) => h.tokens)));
        expect(cached.steps).toBeGreaterThan(3);
      });
      expect(new Set(counts.slice(1)).size).toBe(1); // after the first step (which fills the caches) nothing grows
      // the caller's state stays the caller's: never disposed, and its caches never appended to
      expect(state.memory.isDisposed || state.cross.some((c) => c.k.isDisposed)).toBe(false);
      expect((state.self[0] as KVCache).length).toBe(0);
      toy.disposeState(state);
    }
    toy.dispose();
  });

  it("greedy appends to the caller's caches in place and leaves them usable (and the caller's to free)", async () => {
    const toy = toyDecoder();
    const baseline = tf.memory().numTensors;
    const state = toy.init(2);
    const initial = tf.memory().numTensors;
    const prompts = [
      [1, 2],
      [3, 4],
    ];
    const cached = await greedy(toy.cached, prompts, { maxNewTokens: 5, state });
    const plain = await greedy(toy.stateless, prompts, { maxNewTokens: 5, state });
    expect(cached.sequences.map((s) => s[0].tokens)).toEqual(plain.sequences.map((s) => s[0].tokens));
    // The caches hold 2 + 4 positions (the 5th token is never fed back): k and v of two KV caches, S and z of the linear state.
    expect((state.self[0] as KVCache).length).toBe(6);
    expect(tf.memory().numTensors).toBe(initial + 6);
    // and they still decode
    const next = cached.sequences.map((s, i) => [...prompts[i], ...s[0].tokens]);
    const info = { step: 5, batchIndex: [0, 1], promptLength: [2, 2], elapsedMs: 0 };
    const a = (await toy.cached(next, state, info)).logits;
    const b = (await toy.stateless(next, state, info)).logits;
    await assertClose(a, await b.data(), { atol: 1e-3, rtol: 1e-3 }, 'continued');
    tf.dispose([a, b]);
    toy.disposeState(state);
    expect(tf.memory().numTensors).toBe(baseline);
    toy.dispose();
  });

  it('sampling several sequences per input copies the caches per sample', async () => {
    const toy = toyDecoder();
    const state = toy.init(1);
    await assertNoLeaks(async () => {
      const opts = { numReturnSequences: 3, maxNewTokens: 4, seed: 3 };
      const cached = await sample(toy.cached, [[1, 2]], { ...opts, state });
      const plain = await sample(toy.stateless, [[1, 2]], { ...opts, state });
      expect(cached.sequences.map((s) => s.map((h) => h.tokens))).toEqual(plain.sequences.map((s) => s.map((h) => h.tokens)));
    });
    toy.disposeState(state);
    toy.dispose();
  });
});

describe('what the decoders free', () => {
  /** A cache keeping its tensor in an ES private field, where no walk of the state can see it. */
  class HiddenCache {
    #t: tf.Tensor | null;
    constructor(t: tf.Tensor | null) {
      this.#t = t;
    }
    grow(rows: number): void {
      const next = tf.tidy(() => (this.#t ? tf.concat([this.#t, tf.ones([rows, 1])], 1) : tf.ones([rows, 1]))); // [rows, len]
      this.#t?.dispose();
      this.#t = next;
    }
    static reorders = 0;
    reorder(indices: readonly number[]): HiddenCache {
      HiddenCache.reorders++;
      return new HiddenCache(this.#t ? tf.tidy(() => tf.gather(this.#t as tf.Tensor, tf.tensor1d(indices as number[], 'int32'))) : null);
    }
    dispose(): void {
      this.#t?.dispose();
      this.#t = null;
    }
  }

  it('reorderable states are disposed when dropped, even with tensors in ES private fields', async () => {
    await assertNoLeaks(async () => {
      const step: StepFn<{ caches: HiddenCache[] }> = (tokens, state) => {
        state.caches.forEach((c) => c.grow(tokens.length));
        return { logits: tf.tidy(() => tf.tile(tf.tensor2d([[0, 1, 2, 0.5]]), [tokens.length, 1])), state };
      };
      // The caller's (empty) caches are copied per beam at the start; every copy the search drops is disposed.
      const initial = { caches: [new HiddenCache(null), new HiddenCache(null)] };
      await beamSearch(step, [[1], [2]], { numBeams: 3, maxNewTokens: 6, state: initial });
      expect(HiddenCache.reorders).toBeGreaterThanOrEqual(2); // each cache is copied per beam at the start, and follows the beams
      initial.caches.forEach((c) => c.dispose());
    });
  });

  it('a dropped state object that shares a tensor with the next state is not disposed (the tensor sweep frees the rest)', async () => {
    /** A cache whose reorder shares its (row-independent) table with the copy, and whose dispose frees both. */
    class SharingCache {
      constructor(
        readonly rows: tf.Tensor,
        readonly table: tf.Tensor,
      ) {}
      reorder(indices: readonly number[]): SharingCache {
        return new SharingCache(tf.tidy(() => tf.gather(this.rows, tf.tensor1d(indices as number[], 'int32'))), this.table);
      }
      dispose(): void {
        tf.dispose([this.rows, this.table]);
      }
    }
    const table = tf.tensor2d([[0, 1, 2, 0.5]]);
    await assertNoLeaks(async () => {
      const step: StepFn<{ cache: SharingCache }> = (tokens, state) => {
        expect(state.cache.table.isDisposed).toBe(false);
        return { logits: tf.tidy(() => tf.tile(state.cache.table, [tokens.length, 1])), state };
      };
      const initial = { cache: new SharingCache(tf.zeros([1, 2]), table) };
      await beamSearch(step, [[1]], { numBeams: 3, maxNewTokens: 5, state: initial });
      initial.cache.rows.dispose();
    });
    expect(table.isDisposed).toBe(false);
    table.dispose();
  });

  it("a model referenced from the state is the model's: its tensors are never disposed", async () => {
    class Model extends Module {
      readonly table = tf.tensor2d([[0, 1, 2, 0.5]]); // a plain tensor field, not a parameter
      forward(rows: number): tf.Tensor {
        return tf.tile(this.table, [rows, 1]); // [rows, 4]
      }
    }
    const model = new Model();
    await assertNoLeaks(async () => {
      // the state is created by the step function (the caller passes none) and points at the model
      const step: StepFn<{ model: Model; t: tf.Tensor } | undefined> = (tokens, state) => ({
        logits: model.forward(tokens.length),
        state: { model, t: tf.tidy(() => (state ? tf.add(state.t, 1) : tf.zeros([tokens.length, 1]))) },
      });
      await beamSearch(step, [[1]], { numBeams: 2, maxNewTokens: 4 });
      await greedy(step, [[1]], { maxNewTokens: 3 });
    });
    expect(model.table.isDisposed).toBe(false);
    model.table.dispose();
  });
});
