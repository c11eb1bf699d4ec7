import * as tf from '@tensorflow/tfjs-core';
import { KVCache, LinearAttentionState, rejectRenamedOptions, scaledDotProductAttention, type AttentionFn } from '@dl/attention';
import { checkShape, DLArgumentError, Linear, linear, Module, split, xavierUniform, type Initializer, type Rng } from '@dl/core';
import { applyRotary } from './positions/rotary.js';

/** How parameters are named: PyTorch's `nn.MultiheadAttention` or GPT-2's `c_attn` / `c_proj`. */
export type Naming = 'torch' | 'gpt2';

/** Constructor options of {@link Attention}. */
export interface AttentionConfig {
  /** Model width E. */
  dModel: number;
  /** Query heads H (E divisible by H). */
  nHeads: number;
  /** Key/value heads (divides H): H is multi-head, 1 multi-query, anything between grouped-query. */
  nKVHeads: number;
  /** Biases in the projections. */
  bias: boolean;
  /** Dropout on the attention weights in training (full attention only). */
  dropout: number;
  /** The attention variant (default full). */
  attend?: AttentionFn;
  /** True when `attend` is full attention (dropout and score biases apply). */
  full?: boolean;
  /** Rotary positions with this base (self-attention), or null. */
  ropeBase: number | null;
  /** Parameter names. */
  naming: Naming;
  /** Initialiser of the input projection. */
  inInit?: Initializer;
  /** Initialiser of the output projection's weight (GPT-2 scales it by 1/√(2·layers)). */
  outInit?: Initializer;
  /** Generator for the initial values. */
  rng?: Rng;
}

/** Incremental-decoding state of one self-attention layer. */
export type SelfCache = KVCache | LinearAttentionState;

/** Keys and values of the encoder output for one cross-attention layer, computed once per input. */
export interface CrossKV {
  /** `[B, KV, Ls, hd]`. */
  k: tf.Tensor;
  /** `[B, KV, Ls, hd]`. */
  v: tf.Tensor;
}

/** What {@link Attention.forward} returns. */
export interface AttentionOutput {
  /** `[B, Lq, E]`. */
  output: tf.Tensor;
  /** `[B, H, Lq, Lk]`, with `returnWeights`. */
  weights?: tf.Tensor;
}

/** Per-call options of {@link Attention.forward}. */
export interface AttentionCall {
  /** Cross-attention: attend over this `[B, Ls, E]` (keys and values come from it). */
  memory?: tf.Tensor;
  /** Cross-attention with keys/values already projected (see {@link Attention.projectMemory}). */
  memoryKV?: CrossKV;
  /** Self-attention decoding state; the new keys/values are appended to it. */
  cache?: SelfCache;
  /** Position of the first query (rotary positions). Default 0. */
  offset?: number;
  /** Causal masking (aligned to the end, so cached queries see every earlier key). */
  causal?: boolean;
  /** Boolean `[B, Lk]`, true = padding (this key is ignored). */
  keyPaddingMask?: tf.Tensor;
  /** Boolean, true = may attend: `[Lq, Lk]` or `[B|1, H|1, Lq, Lk]`. */
  mask?: tf.Tensor;
  /** Added to the scores (ALiBi, T5): `[1|B, H, Lq, Lk]`. Full attention only. */
  scoreBias?: tf.Tensor;
  /** Also return the weights `[B, H, Lq, Lk]`. */
  returnWeights?: boolean;
}

/**
 * Multi-head attention with grouped-query heads, rotary positions, additive position biases and
 * incremental decoding, running any `@dl/attention` variant. Self-attention projects q, k and v from
 * the same input; cross-attention takes q from the input and k, v from `memory`.
 *
 * Layout: one fused input projection `[(H + 2·KV)·hd, E]` (rows for q, then k, then v; hd = E / H) and
 * an output projection `[E, E]`. With `naming: 'torch'` they are `in_proj_weight`, `in_proj_bias`,
 * `out_proj.weight`, `out_proj.bias`, exactly `torch.nn.MultiheadAttention` when KV = H; with
 * `naming: 'gpt2'` they are `c_attn.weight`/`c_attn.bias` and `c_proj.weight`/`c_proj.bias` (nanoGPT's
 * layout; see {@link toGPT2StateDict} for HF's transposed Conv1D form). Query head h reads key/value
 * head ⌊h / (H / KV)⌋.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Attention } from '@dl/transformer';
 * const attn = new Attention({ dModel: 16, nHeads: 4, nKVHeads: 2, bias: true, dropout: 0, ropeBase: 10000, naming: 'torch' });
 * const x = tf.randomNormal([2, 5, 16]);
 * const { output } = attn.forward(x, { causal: true }); // [2, 5, 16]
 * ```
 */
export class Attention extends Module {
  /** Model width E. */
  readonly dModel: number;
  /** Query heads H. */
  readonly nHeads: number;
  /** Key/value heads KV. */
  readonly nKVHeads: number;
  /** E / H. */
  readonly headDim: number;
  /** The fused input projection `[(H + 2·KV)·hd, E]`. */
  readonly inWeight: tf.Variable;
  /** Its bias, or null. */
  readonly inBias: tf.Variable | null;
  /** The output projection. */
  readonly outProj: Linear;
  private readonly config: AttentionConfig;

  /** @param config see {@link AttentionConfig}. */
  constructor(config: AttentionConfig) {
    super();
    const { dModel: E, nHeads: H, nKVHeads: KV, rng } = config;
    this.config = config;
    this.dModel = E;
    this.nHeads = H;
    this.nKVHeads = KV;
    this.headDim = E / H;
    const rows = (H + 2 * KV) * this.headDim;
    const inInit = config.inInit ?? xavierUniform();
    if (config.naming === 'torch') {
      this.inWeight = this.registerParameter('in_proj_weight', inInit([rows, E], rng));
      this.inBias = config.bias ? this.registerParameter('in_proj_bias', tf.zeros([rows])) : null;
      this.outProj = this.registerModule('out_proj', new Linear(E, E, { bias: config.bias, weightInit: config.outInit, biasInit: (s) => tf.zeros(s), rng }));
    } else {
      const cAttn = this.registerModule('c_attn', new Linear(E, rows, { bias: config.bias, weightInit: inInit, biasInit: (s) => tf.zeros(s), rng }));
      this.inWeight = cAttn.weight;
      this.inBias = cAttn.bias;
      this.outProj = this.registerModule('c_proj', new Linear(E, E, { bias: config.bias, weightInit: config.outInit, biasInit: (s) => tf.zeros(s), rng }));
    }
  }

  /** x `[B, L, E]` through rows [from, from + n) of the input projection → `[B, heads, L, hd]`. */
  private project(x: tf.Tensor, from: number, heads: number): tf.Tensor {
    const [B, L] = x.shape;
    const hd = this.headDim;
    const n = heads * hd;
    const w = tf.slice(this.inWeight, [from, 0], [n, this.dModel]); // [n, E]
    const b = this.inBias ? tf.slice(this.inBias, [from], [n]) : null; // [n]
    const y = linear(tf.reshape(x, [B * L, this.dModel]), w, b); // [B·L, n]
    return tf.transpose(tf.reshape(y, [B, L, heads, hd]), [0, 2, 1, 3]); // [B, heads, L, hd]
  }

  /** Self-attention's q, k, v with one matmul: `[B, H, L, hd]`, `[B, KV, L, hd]`, `[B, KV, L, hd]`. */
  private projectSelf(x: tf.Tensor): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const [B, L] = x.shape;
    const { nHeads: H, nKVHeads: KV, headDim: hd } = this;
    const y = linear(tf.reshape(x, [B * L, this.dModel]) , this.inWeight, this.inBias); // [B·L, (H + 2KV)·hd]
    const [q, k, v] = split(y, [H * hd, KV * hd, KV * hd], 1); // [B·L, ·] (block copies on wasm)
    const heads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [B, L, n, hd]), [0, 2, 1, 3]); // [B, n, L, hd]
    return [heads(q, H), heads(k, KV), heads(v, KV)];
  }

  /**
   * Projects an encoder output once into the keys and values of cross-attention (for decoding: every
   * step reuses them).
   *
   * @param memory `[B, Ls, E]`.
   * @returns `k`, `v` `[B, KV, Ls, hd]` (the caller owns them).
   */
  projectMemory(memory: tf.Tensor): CrossKV {
    checkShape('Attention.projectMemory', 'memory', memory, { rank: 3, last: this.dModel, dtype: 'float32' });
    return tf.tidy(() => {
      const hd = this.headDim;
      return { k: this.project(memory, this.nHeads * hd, this.nKVHeads), v: this.project(memory, (this.nHeads + this.nKVHeads) * hd, this.nKVHeads) };
    });
  }

  /** Repeats each of the KV heads H / KV times: `[B, KV, L, hd]` → `[B, H, L, hd]`. */
  private expand(x: tf.Tensor): tf.Tensor {
    const rep = this.nHeads / this.nKVHeads;
    if (rep === 1) return x;
    const [B, KV, L, hd] = x.shape;
    // Rank 4 throughout: tfjs has no gradient for a rank-5 tile.
    const flat = tf.reshape(x, [B, KV, 1, L * hd]); // [B, KV, 1, L·hd]
    return tf.reshape(tf.tile(flat, [1, 1, rep, 1]), [B, KV * rep, L, hd]); // [B, H, L, hd]
  }

  /**
   * Attends.
   * @param x queries' input `[B, Lq, E]`.
   * @returns `output` `[B, Lq, E]` and, with `returnWeights`, `weights` `[B, H, Lq, Lk]`.
   */
  forward(x: tf.Tensor, call: AttentionCall = {}): AttentionOutput {
    const where = 'Attention';
    rejectRenamedOptions(where, call);
    checkShape(where, 'x', x, { rank: 3, last: this.dModel, dtype: 'float32' });
    const [B, Lq] = x.shape;
    const cross = call.memory != null || call.memoryKV != null;
    if (call.memory) checkShape(where, 'memory', call.memory, { rank: 3, dims: { 0: B }, last: this.dModel, dtype: 'float32' });
    if (cross && call.cache) throw new DLArgumentError(where, 'cache', 'absent in cross-attention (use memoryKV)', 'a cache');
    const { scoreBias } = call;
    if (scoreBias && this.config.full === false) throw new DLArgumentError(where, 'scoreBias', 'used only with full attention (ALiBi and T5 biases need every score)', scoreBias);
    return tf.tidy(() => {
      let q: tf.Tensor;
      let k: tf.Tensor;
      let v: tf.Tensor;
      if (cross) {
        q = this.project(x, 0, this.nHeads); // [B, H, Lq, hd]
        ({ k, v } = call.memoryKV ?? this.projectMemory(call.memory!)); // [B, KV, Ls, hd]
      } else {
        [q, k, v] = this.projectSelf(x); // [B, H, Lq, hd], [B, KV, Lq, hd] ×2
        if (this.config.ropeBase !== null) {
          q = applyRotary(q, call.offset ?? 0, this.config.ropeBase); // [B, H, Lq, hd]
          k = applyRotary(k, call.offset ?? 0, this.config.ropeBase); // [B, KV, Lq, hd]
        }
      }
      const causal = call.causal ?? false;
      if (call.cache instanceof LinearAttentionState) {
        // Causal linear attention as a recurrence: O(1) per step whatever the length.
        const out = call.cache.step(q, this.expand(k), this.expand(v)); // [B, H, Lq, hd]
        return { output: this.merge(out, B, Lq) };
      }
      if (call.cache) ({ k, v } = call.cache.append(k, v)); // [B, KV, held + Lq, hd]
      const kh = this.expand(k); // [B, H, Lk, hd]
      const vh = this.expand(v); // [B, H, Lk, hd]
      const opts = { causal: causal || call.cache != null, keyPaddingMask: call.keyPaddingMask, mask: call.mask, returnWeights: call.returnWeights };
      const r = this.config.attend && !this.config.full
        ? this.config.attend(q, kh, vh, opts)
        : (this.config.attend ?? scaledDotProductAttention)(q, kh, vh, { ...opts, scoreBias, dropout: this.config.dropout, training: this.training } as never);
      const output = this.merge(r.output, B, Lq); // [B, Lq, E]
      return call.returnWeights ? { output, weights: r.weights } : { output };
    });
  }

  /** `[B, H, Lq, hd]` → `[B, Lq, E]` through the output projection. */
  private merge(o: tf.Tensor, B: number, Lq: number): tf.Tensor {
    return this.outProj.forward(tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [B, Lq, this.dModel])); // [B, Lq, E]
  }
}
