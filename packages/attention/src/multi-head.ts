import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, checkShape, DLArgumentError, Linear, matMul, Module, xavierNormal, xavierUniform, type Rng } from '@dl/core';
import { scaledDotProductAttention } from './full.js';
import { stageAppend, type KVCache } from './kv-cache.js';
import { perHead } from './patterns.js';
import type { AttentionFn, AttentionOptions } from './types.js';
import { sh } from './shape.js';
import { checkOptionKeys, MHA_FORWARD_KEYS, MHA_KEYS } from './option-keys.js';

/** Options of {@link MultiHeadAttention}. */
export interface MultiHeadAttentionOptions {
  /** Key input size (default embedDim); PyTorch's `kdim`. */
  kdim?: number;
  /** Value input size (default embedDim); PyTorch's `vdim`. */
  vdim?: number;
  /** Biases in the input and output projections. Default true. */
  bias?: boolean;
  /** Learned `bias_k`/`bias_v` appended to the key/value sequences. Default false. */
  addBiasKV?: boolean;
  /** Dropout on the attention weights in training (default full attention only). Default 0. */
  dropout?: number;
  /**
   * The attention variant: one {@link AttentionFn} for every head, or one per head (length numHeads).
   * Default full scaled dot-product attention (with dropout).
   */
  attention?: AttentionFn | AttentionFn[];
  /** Generator for the initial weights. */
  rng?: Rng;
}

/** What {@link MultiHeadAttention.forward} returns. */
export type MultiHeadResult = {
  /** `[B, Lq, E]`. */
  output: tf.Tensor;
  /** `[B, Lq, Lk]` (averaged over heads) or `[B, H, Lq, Lk]`, with `returnWeights`. */
  weights?: tf.Tensor;
};

/**
 * Per-call options of {@link MultiHeadAttention.forward}. The masks follow the one convention of the
 * package (README, "Masks"): `mask` true = may attend, `keyPaddingMask` true = padding.
 * `torch.nn.MultiheadAttention`'s boolean `attn_mask` means the opposite (true = blocked): pass
 * `mask: invertMask(attn_mask)` (see {@link invertMask}), and a float `attn_mask` as `scoreBias`.
 */
export interface MultiHeadForwardOptions {
  /**
   * Boolean, **true = may attend** (as {@link AttentionOptions.mask}): `[Lq, Lk]`, `[B·numHeads, Lq, Lk]`
   * (PyTorch's 3-D layout) or `[B|1, numHeads|1, Lq, Lk]`.
   */
  mask?: tf.Tensor;
  /**
   * Float scores added before the softmax (PyTorch's float `attn_mask`; ALiBi-style biases), same shapes
   * as `mask`. Full attention only (the default `attention`).
   */
  scoreBias?: tf.Tensor;
  /** Boolean `[B, Lk]`, **true = padding** (this key is ignored), as PyTorch's `key_padding_mask`. */
  keyPaddingMask?: tf.Tensor;
  /** Causal masking (PyTorch's `is_causal` with a causal mask). */
  causal?: boolean;
  /** Return the attention weights. Default false (PyTorch's `need_weights` defaults to true). */
  returnWeights?: boolean;
  /** Average the weights over heads (`[B, Lq, Lk]`) or not (`[B, H, Lq, Lk]`). Default true. */
  averageAttnWeights?: boolean;
  /** Incremental decoding: append this call's keys/values (after projection) and attend over the cache. */
  cache?: KVCache;
}

/**
 * Checks a per-head mask or score bias of {@link MultiHeadAttention.forward}: `[Lq, Lk]`,
 * `[B·H, Lq, Lk]` or `[B|1, H|1, Lq, Lk]`.
 */
function checkHeadMask(where: string, name: 'mask' | 'scoreBias', m: tf.Tensor, B: number, H: number, Lq: number, Lk: number): void {
  if (name === 'mask' && m.dtype !== 'bool') {
    throw new DLArgumentError(where, 'mask', 'boolean, true = may attend (float scores added before the softmax go in scoreBias)', m);
  }
  checkShape(where, name, m, { rank: [2, 3, 4], dtype: name === 'mask' ? 'bool' : 'float32' });
  const s = m.shape;
  const ok = m.rank === 2 ? s[0] === Lq && s[1] === Lk : m.rank === 3 ? s[0] === B * H && s[1] === Lq && s[2] === Lk : (s[0] === 1 || s[0] === B) && (s[1] === 1 || s[1] === H) && s[2] === Lq && s[3] === Lk;
  if (!ok) throw new DLArgumentError(where, name, `of shape [${Lq}, ${Lk}], [${B * H}, ${Lq}, ${Lk}] or [${B}|1, ${H}|1, ${Lq}, ${Lk}]`, m);
}

/**
 * A checked mask or score bias as rank 4 `[B|1, H|1, Lq, Lk']`, widened by one allowed (true / 0)
 * column for the learned `bias_k` key when `extra` is 1. Inside a tidy.
 */
function headMask4d(m: tf.Tensor, B: number, H: number, extra: number): tf.Tensor {
  const [Lq, Lk] = m.shape.slice(-2) as [number, number];
  const m4 = m.rank === 2 ? tf.reshape(m, [1, 1, Lq, Lk]) : m.rank === 3 ? tf.reshape(m, [B, H, Lq, Lk]) : m; // [B|1, H|1, Lq, Lk]
  if (!extra) return m4;
  const [b, h] = sh(m4);
  const column = m.dtype === 'bool' ? tf.ones([b, h, Lq, 1], 'bool') : tf.zeros([b, h, Lq, 1]); // the bias key may always be attended
  return tf.concat([m4, column], 3); // [B|1, H|1, Lq, Lk+1]
}

/**
 * Multi-head attention (Vaswani et al. 2017: several queries for several kinds of relevance), laid out and named
 * exactly as `torch.nn.MultiheadAttention(batch_first=True)`: `in_proj_weight` `[3E, E]` (or
 * `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when kdim/vdim differ), `in_proj_bias`, `bias_k`,
 * `bias_v`, `out_proj.weight`, `out_proj.bias`, so PyTorch state dicts load unchanged. Each head may use
 * a different attention variant (`options.attention`).
 *
 * Cost: that of the chosen variant per head, plus O(N·E²) for the projections.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MultiHeadAttention, localAttention } from '@dl/attention';
 * const mha = new MultiHeadAttention(16, 4, { attention: localAttention({ window: 3 }) });
 * const x = tf.randomNormal([2, 10, 16]);
 * const { output } = mha.forward(x, x, x); // [2, 10, 16]
 * ```
 */
export class MultiHeadAttention extends Module {
  /** Head size E / numHeads. */
  readonly headDim: number;
  /** Key input size. */
  readonly kdim: number;
  /** Value input size. */
  readonly vdim: number;
  /** Dropout probability on the weights. */
  readonly dropout: number;
  /** `[3E, E]` when kdim = vdim = E, else null. */
  readonly inProjWeight: tf.Variable | null;
  /** `[E, E]` when kdim or vdim differ, else null. */
  readonly qProjWeight: tf.Variable | null;
  /** `[E, kdim]` when kdim or vdim differ, else null. */
  readonly kProjWeight: tf.Variable | null;
  /** `[E, vdim]` when kdim or vdim differ, else null. */
  readonly vProjWeight: tf.Variable | null;
  /** `[3E]` or null. */
  readonly inProjBias: tf.Variable | null;
  /** `[1, 1, E]` or null. */
  readonly biasK: tf.Variable | null;
  /** `[1, 1, E]` or null. */
  readonly biasV: tf.Variable | null;
  /** Output projection. */
  readonly outProj: Linear;
  private readonly attention: AttentionFn | null;

  /**
   * @param embedDim E, the query (and output) size.
   * @param numHeads number of heads; must divide E.
   */
  constructor(
    readonly embedDim: number,
    readonly numHeads: number,
    options: MultiHeadAttentionOptions = {},
  ) {
    super();
    const where = 'MultiHeadAttention';
    checkOptionKeys(where, options, MHA_KEYS);
    checkInt(where, 'embedDim', embedDim);
    checkInt(where, 'numHeads', numHeads);
    if (embedDim % numHeads !== 0) throw new DLArgumentError(where, 'numHeads', `a divisor of embedDim (${embedDim})`, numHeads);
    this.headDim = embedDim / numHeads;
    this.kdim = checkInt(where, 'kdim', options.kdim ?? embedDim);
    this.vdim = checkInt(where, 'vdim', options.vdim ?? embedDim);
    this.dropout = checkNumber(where, 'dropout', options.dropout ?? 0, 0, 1, false, true);
    const bias = options.bias ?? true;
    const rng = options.rng;
    const E = embedDim;
    if (this.kdim === E && this.vdim === E) {
      this.inProjWeight = this.registerParameter('in_proj_weight', xavierUniform()([3 * E, E], rng));
      this.qProjWeight = this.kProjWeight = this.vProjWeight = null;
    } else {
      this.inProjWeight = null;
      this.qProjWeight = this.registerParameter('q_proj_weight', xavierUniform()([E, E], rng));
      this.kProjWeight = this.registerParameter('k_proj_weight', xavierUniform()([E, this.kdim], rng));
      this.vProjWeight = this.registerParameter('v_proj_weight', xavierUniform()([E, this.vdim], rng));
    }
    this.inProjBias = bias ? this.registerParameter('in_proj_bias', tf.zeros([3 * E])) : null;
    if (options.addBiasKV) {
      this.biasK = this.registerParameter('bias_k', xavierNormal()([1, 1, E], rng));
      this.biasV = this.registerParameter('bias_v', xavierNormal()([1, 1, E], rng));
    } else {
      this.biasK = this.biasV = null;
    }
    this.outProj = this.registerModule('out_proj', new Linear(E, E, { bias, rng }));
    if (this.outProj.bias) {
      const zero = tf.zerosLike(this.outProj.bias); // PyTorch zeroes out_proj.bias
      this.outProj.bias.assign(zero);
      zero.dispose();
    }
    const a = options.attention;
    if (Array.isArray(a)) {
      if (a.length !== numHeads) throw new DLArgumentError(where, 'attention', `one function per head (${numHeads})`, `${a.length} functions`);
      this.attention = perHead(a);
    } else if (a !== undefined && typeof a !== 'function') {
      throw new DLArgumentError(where, 'attention', 'an attention function or an array of them', a);
    } else {
      this.attention = a ?? null;
    }
  }

  private project(x: tf.Tensor, which: 0 | 1 | 2): tf.Tensor {
    const E = this.embedDim;
    const w = this.inProjWeight ? tf.slice(this.inProjWeight, [which * E, 0], [E, E]) : [this.qProjWeight, this.kProjWeight, this.vProjWeight][which]!; // [E, in]
    const [B, L, din] = sh(x);
    let y = matMul(tf.reshape(x, [B * L, din]), w, false, true); // [B·L, E] (core's matMul: the fast plain product on wasm)
    if (this.inProjBias) y = tf.add(y, tf.slice(this.inProjBias, [which * E], [E])); // [B·L, E]
    return tf.reshape(y, [B, L, E]); // [B, L, E]
  }

  private splitHeads(x: tf.Tensor): tf.Tensor {
    const [B, L] = sh(x);
    return tf.transpose(tf.reshape(x, [B, L, this.numHeads, this.headDim]), [0, 2, 1, 3]); // [B, H, L, hd]
  }

  /**
   * The result for an empty batch, made without running the projections or the attention (several wasm
   * kernels trap on empty inputs); a cache takes the (empty) keys and values all the same.
   */
  private emptyForward(Lq: number, Lk: number, options: MultiHeadForwardOptions): MultiHeadResult {
    const H = this.numHeads;
    return tf.tidy(() => {
      let keys = Lk;
      if (options.cache) {
        const kv = tf.zeros([0, H, Lk, this.headDim]); // [0, H, Lk, hd]
        const staged = stageAppend(options.cache, kv, kv, 'MultiHeadAttention');
        keys = sh(staged.k)[2];
        staged.commit();
      }
      const output = tf.zeros([0, Lq, this.embedDim]); // [0, Lq, E]
      if (!options.returnWeights) return { output };
      return { output, weights: tf.zeros(options.averageAttnWeights === false ? [0, H, Lq, keys] : [0, Lq, keys]) }; // [0, (H,) Lq, Lk]
    });
  }

  /**
   * @param query `[B, Lq, E]`; `key` `[B, Lk, kdim]`; `value` `[B, Lk, vdim]`.
   * @returns `output` `[B, Lq, E]` and, with `returnWeights`, `weights` `[B, Lq, Lk]` (averaged) or `[B, H, Lq, Lk]`.
   */
  forward(query: tf.Tensor, key: tf.Tensor, value: tf.Tensor, options: MultiHeadForwardOptions = {}): MultiHeadResult {
    const where = 'MultiHeadAttention';
    const E = this.embedDim;
    const H = this.numHeads;
    checkOptionKeys(where, options, MHA_FORWARD_KEYS);
    checkShape(where, 'query', query, { rank: 3, last: E, dtype: 'float32' });
    const [B, Lq] = sh(query);
    checkShape(where, 'key', key, { rank: 3, dims: { 0: B }, last: this.kdim, dtype: 'float32' });
    checkShape(where, 'value', value, { rank: 3, dims: { 0: B, 1: sh(key)[1] }, last: this.vdim, dtype: 'float32' });
    const extra = this.biasK ? 1 : 0;
    const LkIn = sh(key)[1];
    const { mask, scoreBias, keyPaddingMask, cache } = options;
    if (mask != null) checkHeadMask(where, 'mask', mask, B, H, Lq, LkIn);
    if (scoreBias != null) {
      checkHeadMask(where, 'scoreBias', scoreBias, B, H, Lq, LkIn);
      if (this.attention) throw new DLArgumentError(where, 'scoreBias', 'absent when a custom attention variant is used (full attention only)', scoreBias);
    }
    if (keyPaddingMask != null) checkShape(where, 'keyPaddingMask', keyPaddingMask, { rank: 2, dims: { 0: B, 1: LkIn }, dtype: 'bool' });
    if (cache && (mask || scoreBias || keyPaddingMask || this.biasK)) throw new DLArgumentError(where, 'cache', 'used without mask, scoreBias, keyPaddingMask and addBiasKV', 'a cache with them');
    if (B === 0) return this.emptyForward(Lq, LkIn + extra, options);
    return tf.tidy(() => {
      const q = this.splitHeads(this.project(query, 0)); // [B, H, Lq, hd]
      let k = this.project(key, 1); // [B, Lk, E]
      let v = this.project(value, 2); // [B, Lk, E]
      if (this.biasK && this.biasV) {
        k = tf.concat([k, tf.tile(this.biasK, [B, 1, 1])], 1); // [B, Lk+1, E]
        v = tf.concat([v, tf.tile(this.biasV, [B, 1, 1])], 1); // [B, Lk+1, E]
      }
      let kh = this.splitHeads(k); // [B, H, Lk', hd]
      let vh = this.splitHeads(v); // [B, H, Lk', hd]
      // The cache takes the new keys/values only once the call has succeeded (a failure leaves it unchanged).
      const staged = cache ? stageAppend(cache, kh, vh, where) : null;
      if (staged) ({ k: kh, v: vh } = staged); // [B, H, held + Lq, hd]

      const opts: AttentionOptions & { scoreBias?: tf.Tensor; dropout?: number; training?: boolean } = { causal: options.causal || !!cache, returnWeights: options.returnWeights };
      if (keyPaddingMask) opts.keyPaddingMask = extra ? tf.concat([keyPaddingMask, tf.zeros([B, 1], 'bool')], 1) : keyPaddingMask; // [B, Lk']
      if (mask) opts.mask = headMask4d(mask, B, H, extra); // [B|1, H|1, Lq, Lk']
      if (scoreBias) opts.scoreBias = headMask4d(scoreBias, B, H, extra); // [B|1, H|1, Lq, Lk']
      let r;
      if (this.attention) r = this.attention(q, kh, vh, opts);
      else r = scaledDotProductAttention(q, kh, vh, { ...opts, dropout: this.dropout, training: this.training });
      const merged = tf.reshape(tf.transpose(r.output, [0, 2, 1, 3]), [B, Lq, E]); // [B, Lq, E]
      const output = this.outProj.forward(merged); // [B, Lq, E]
      if (options.returnWeights && !r.weights) throw new DLArgumentError(where, 'attention', 'a variant that returns weights on request', 'none');
      staged?.commit();
      if (!options.returnWeights) return { output };
      return { output, weights: options.averageAttnWeights === false ? r.weights : tf.mean(r.weights as tf.Tensor, 1) }; // [B, (H,) Lq, Lk]
    });
  }
}
