import * as tf from '@tensorflow/tfjs-core';
import { KVCache, LinearAttentionState } from '@dl/attention';
import { DLArgumentError, indexSelect } from '@dl/core';
import type { CrossKV, SelfCache } from './attention.js';
import type { CacheKind } from './attention-spec.js';

/**
 * The incremental-decoding state of a layer stack: each layer's self-attention cache (a `KVCache` of
 * past keys and values, a windowed one for local attention, or causal linear attention's running
 * sums), the encoder output with its padding mask and the cross-attention keys and values computed from
 * it once per input, and how many positions were consumed. It owns its tensors.
 *
 * Rows follow the decoder: `reorder(indices)` returns a state whose row i is row `indices[i]` of this
 * one, which is what beam search calls when it re-ranks beams (and sampling, to copy each input once per
 * sample). Every model's step function keeps one of these as its state.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GPT } from '@dl/transformer';
 * const gpt = new GPT({ vocabSize: 10, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, seed: 1 });
 * const cache = gpt.createCache(2);
 * gpt.forward(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), { cache }); // consumes 2 positions
 * cache.length; // 2
 * const beams = cache.reorder([1, 1, 0]); // three rows, cache of inputs 1, 1 and 0
 * cache.dispose();
 * beams.dispose();
 * ```
 */
export class StackCache {
  /** Rows (sequences) the state holds. */
  readonly rows: number;
  /** Per layer: its self-attention state, or null where the layer's attention has no cache. */
  readonly self: (SelfCache | null)[];
  /** Per layer: cross-attention keys/values of the encoder output, or null for decoder-only stacks. */
  cross: CrossKV[] | null;
  /** The encoder output `[rows, Ls, E]` the decoder attends to, or null (decoder-only). */
  memory: tf.Tensor | null;
  /** Boolean `[rows, Ls]`, true = encoder padding, or null. */
  memoryKeyPaddingMask: tf.Tensor | null;
  private consumed: number;
  /** Identifies the stack that made it (a cache of another model is rejected). */
  readonly owner: object;

  /** Use a model's `createCache` rather than this constructor. */
  constructor(owner: object, rows: number, kinds: CacheKind[], init?: { self: (SelfCache | null)[]; cross: CrossKV[] | null; memory: tf.Tensor | null; mask: tf.Tensor | null; length: number }) {
    this.owner = owner;
    this.rows = rows;
    this.self = init?.self ?? kinds.map((k) => (k.kind === 'kv' ? new KVCache() : k.kind === 'window' ? new KVCache({ window: k.window! }) : k.kind === 'linear' ? new LinearAttentionState({ featureMap: k.featureMap ?? 'elu' }) : null));
    this.cross = init?.cross ?? null;
    this.memory = init?.memory ?? null;
    this.memoryKeyPaddingMask = init?.mask ?? null;
    this.consumed = init?.length ?? 0;
  }

  /** Positions consumed so far: the position of the next input token. */
  get length(): number {
    return this.consumed;
  }

  /** True when every layer can decode from its cache (else steps recompute the prefix). */
  get complete(): boolean {
    return this.self.every((c) => c !== null);
  }

  /** Records that `n` positions were consumed. */
  advance(n: number): void {
    this.consumed += n;
  }

  /**
   * A new state whose row i is row `indices[i]` of this one (new tensors; this one is unchanged).
   *
   * @param indices row indices in [0, rows).
   */
  reorder(indices: readonly number[]): StackCache {
    if (!Array.isArray(indices) || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= this.rows)) {
      throw new DLArgumentError('StackCache.reorder', 'indices', `integers in [0, ${this.rows})`, indices);
    }
    // indexSelect: whole rows copied as blocks on wasm (its GatherV2 copies element by element).
    const self = this.self.map((c) => (c ? c.reorder(indices) : null));
    const cross = this.cross?.map(({ k, v }) => ({ k: indexSelect(k, indices), v: indexSelect(v, indices) })) ?? null; // [n, KV, Ls, hd]
    const memory = this.memory ? indexSelect(this.memory, indices) : null; // [n, Ls, E]
    const mask = this.memoryKeyPaddingMask ? indexSelect(this.memoryKeyPaddingMask, indices) : null; // [n, Ls]
    return new StackCache(this.owner, indices.length, [], { self, cross, memory, mask, length: this.consumed });
  }

  /** Frees every tensor the state holds. */
  dispose(): void {
    for (const c of this.self) c?.dispose();
    for (const kv of this.cross ?? []) tf.dispose([kv.k, kv.v]);
    this.memory?.dispose();
    this.memoryKeyPaddingMask?.dispose();
    this.cross = null;
    this.memory = null;
    this.memoryKeyPaddingMask = null;
  }
}
