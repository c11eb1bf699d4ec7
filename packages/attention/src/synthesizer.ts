import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, Linear, matMul, Module, normal, type Rng } from '@dl/core';
import { checkQKV, denseAllowed, emptyAttention, maskedSoftmax } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { checkOptionKeys, SYNTHESIZER_KEYS } from './option-keys.js';

/** Options of the synthesizers. */
export interface SynthesizerOptions {
  /** Generator for the initial values. */
  rng?: Rng;
}

/**
 * Random Synthesizer (Tay et al. 2021, "Synthesizer": the whole attention matrix is a network
 * parameter): a learned `[heads, maxLen, maxLen]` score matrix, softmax-normalised per row (with the usual
 * masks) and applied to V. Queries and keys are not compared at all (q and k only give the lengths).
 *
 * Cost in N: O(N²) parameters and memory (it is the learned matrix), O(N²·dv) time.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RandomSynthesizer } from '@dl/attention';
 * const syn = new RandomSynthesizer(2, 16);
 * const v = tf.randomNormal([1, 2, 16, 8]);
 * syn.forward(v, v, v, { causal: true }).output.shape; // [1, 2, 16, 8]
 * ```
 */
export class RandomSynthesizer extends Module {
  /** Learned scores `[heads, maxLen, maxLen]`. */
  readonly attention: tf.Variable;

  /**
   * @param heads number of heads.
   * @param maxLen longest sequence.
   */
  constructor(
    readonly heads: number,
    readonly maxLen: number,
    options: SynthesizerOptions = {},
  ) {
    super();
    checkOptionKeys('RandomSynthesizer', options, SYNTHESIZER_KEYS);
    checkInt('RandomSynthesizer', 'heads', heads);
    checkInt('RandomSynthesizer', 'maxLen', maxLen);
    this.attention = this.registerParameter('attention', normal(0, 1 / Math.sqrt(maxLen))([heads, maxLen, maxLen], options.rng));
  }

  /**
   * Softmax of the learned scores (with masks), applied to the values.
   *
   * @param q `[B, heads, Lq ≤ maxLen, dk]`; `k` `[B, heads, Lk ≤ maxLen, dk]`; `v` `[B, heads, Lk, dv]`.
   */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
    const where = 'RandomSynthesizer';
    const dims = checkQKV(where, q, k, v, options);
    if (dims.heads !== this.heads) throw new DLArgumentError(where, 'q', `with ${this.heads} heads`, q);
    if (dims.lq > this.maxLen || dims.lk > this.maxLen) throw new DLArgumentError(where, 'q', `at most ${this.maxLen} long (maxLen)`, `Lq=${dims.lq}, Lk=${dims.lk}`);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    return tf.tidy(() => {
      const scores = tf.expandDims(tf.slice(this.attention, [0, 0, 0], [this.heads, dims.lq, dims.lk]), 0); // [1, H, Lq, Lk]
      const weights = maskedSoftmax(tf.tile(scores, [dims.batch, 1, 1, 1]), denseAllowed(dims, options)); // [B, H, Lq, Lk]
      const output = matMul(weights, v); // [B, H, Lq, dv]
      return options.returnWeights ? { output, weights } : { output };
    });
  }

  /** This module as an {@link AttentionFn}. */
  readonly attend: AttentionFn = (q, k, v, options) => this.forward(q, k, v, options);
}

/**
 * Dense Synthesizer: each query predicts its own row of scores with a two-layer MLP,
 * $s_i = W_2\,\mathrm{relu}(W_1 q_i + b_1) + b_2 \in \mathbb R^{\mathrm{maxLen}}$ (first $L_k$ used), softmax, then applied to V — a learned
 * pattern that depends on the token but not on query–key dot products. Shared across heads.
 *
 * Cost in N: O(N·maxLen) memory and O(N·(d·hidden + hidden·maxLen + maxLen·dv)) time.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { DenseSynthesizer } from '@dl/attention';
 * const syn = new DenseSynthesizer(8, 32, 16);
 * const x = tf.randomNormal([1, 2, 32, 8]);
 * syn.forward(x, x, x).output.shape; // [1, 2, 32, 8]
 * ```
 */
export class DenseSynthesizer extends Module {
  /** First layer `dim → hidden`. */
  readonly w1: Linear;
  /** Second layer `hidden → maxLen`. */
  readonly w2: Linear;

  /**
   * @param dim per-head query size.
   * @param maxLen longest key sequence.
   * @param hidden MLP width.
   */
  constructor(
    readonly dim: number,
    readonly maxLen: number,
    readonly hidden: number,
    options: SynthesizerOptions = {},
  ) {
    super();
    checkOptionKeys('DenseSynthesizer', options, SYNTHESIZER_KEYS);
    checkInt('DenseSynthesizer', 'dim', dim);
    checkInt('DenseSynthesizer', 'maxLen', maxLen);
    checkInt('DenseSynthesizer', 'hidden', hidden);
    this.w1 = this.registerModule('w1', new Linear(dim, hidden, { rng: options.rng }));
    this.w2 = this.registerModule('w2', new Linear(hidden, maxLen, { rng: options.rng }));
  }

  /**
   * Each query's MLP scores (with masks), softmax, applied to the values.
   *
   * @param q `[B, H, Lq, dim]`; `k` `[B, H, Lk ≤ maxLen, ·]`; `v` `[B, H, Lk, dv]`.
   */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
    const where = 'DenseSynthesizer';
    const dims = checkQKV(where, q, k, v, options);
    if (dims.dk !== this.dim) throw new DLArgumentError(where, 'q', `of head dim ${this.dim}`, q);
    if (dims.lk > this.maxLen) throw new DLArgumentError(where, 'k', `at most ${this.maxLen} long (maxLen)`, k);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    return tf.tidy(() => {
      const s = this.w2.forward(tf.relu(this.w1.forward(q))); // [B, H, Lq, maxLen]
      const scores = dims.lk === this.maxLen ? s : tf.slice(s, [0, 0, 0, 0], [-1, -1, -1, dims.lk]); // [B, H, Lq, Lk]
      const weights = maskedSoftmax(scores, denseAllowed(dims, options)); // [B, H, Lq, Lk]
      const output = matMul(weights, v); // [B, H, Lq, dv]
      return options.returnWeights ? { output, weights } : { output };
    });
  }

  /** This module as an {@link AttentionFn}. */
  readonly attend: AttentionFn = (q, k, v, options) => this.forward(q, k, v, options);
}
