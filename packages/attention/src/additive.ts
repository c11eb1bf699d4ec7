import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, Linear, matMul, Module, type Rng } from '@dl/core';
import { checkQKV, denseAllowed, emptyAttention, maskedSoftmax } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { ADDITIVE_KEYS, checkOptionKeys } from './option-keys.js';

/** Options of {@link AdditiveAttention}. */
export interface AdditiveAttentionOptions {
  /** Bias in the key projection (Bahdanau's b). Default true. */
  bias?: boolean;
  /** Generator for the initial weights. */
  rng?: Rng;
}

/**
 * Additive attention (Bahdanau et al. 2015: q and k go through Wq and Wk, are
 * added, pass through tanh, and a vector w turns the result into the score α):
 *
 * $$
 * e_{ij} = w^\top \tanh(W_q q_i + W_k k_j + b), \qquad \alpha_{ij} = \frac{\exp e_{ij}}{\sum_{j'} \exp e_{ij'}}, \qquad o_i = \sum_j \alpha_{ij}\, v_j
 * $$
 *
 * (the softmax over the allowed keys $j$ only, with masks). Parameters
 * `q_proj.weight` `[hidden, dim]`, `k_proj.weight`/`k_proj.bias`, `score.weight` `[1, hidden]`.
 *
 * Cost in N: O(Lq·Lk·hidden) time and memory (every pair goes through tanh).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { AdditiveAttention } from '@dl/attention';
 * const add = new AdditiveAttention(8, 16);
 * const x = tf.randomNormal([1, 2, 5, 8]);
 * const { output, weights } = add.forward(x, x, x, { returnWeights: true }); // [1,2,5,8], [1,2,5,5]
 * ```
 */
export class AdditiveAttention extends Module {
  /** Wq. */
  readonly qProj: Linear;
  /** Wk (and b). */
  readonly kProj: Linear;
  /** w. */
  readonly score: Linear;

  /**
   * @param dim per-head query/key size.
   * @param hidden size of the tanh layer.
   */
  constructor(
    readonly dim: number,
    readonly hidden: number,
    options: AdditiveAttentionOptions = {},
  ) {
    super();
    checkOptionKeys('AdditiveAttention', options, ADDITIVE_KEYS);
    checkInt('AdditiveAttention', 'dim', dim);
    checkInt('AdditiveAttention', 'hidden', hidden);
    this.qProj = this.registerModule('q_proj', new Linear(dim, hidden, { bias: false, rng: options.rng }));
    this.kProj = this.registerModule('k_proj', new Linear(dim, hidden, { bias: options.bias ?? true, rng: options.rng }));
    this.score = this.registerModule('score', new Linear(hidden, 1, { bias: false, rng: options.rng }));
  }

  /**
   * Scores every pair with wᵀ tanh(Wq·q + Wk·k + b), softmax over keys, weighted sum of values.
   *
   * @param q `[B, H, Lq, dim]`, `k` `[B, H, Lk, dim]`, `v` `[B, H, Lk, dv]`.
   */
  forward(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: AttentionOptions = {}): AttentionResult {
    const where = 'AdditiveAttention';
    const dims = checkQKV(where, q, k, v, options);
    if (dims.dk !== this.dim) throw new DLArgumentError(where, 'q', `of head dim ${this.dim}`, q);
    const empty = emptyAttention(dims, options);
    if (empty) return empty;
    return tf.tidy(() => {
      const qh = tf.expandDims(this.qProj.forward(q), 3); // [B, H, Lq, 1, hidden]
      const kh = tf.expandDims(this.kProj.forward(k), 2); // [B, H, 1, Lk, hidden]
      const scores = tf.squeeze(this.score.forward(tf.tanh(tf.add(qh, kh))), [4]); // [B, H, Lq, Lk]
      const weights = maskedSoftmax(scores, denseAllowed(dims, options)); // [B, H, Lq, Lk]
      const output = matMul(weights, v); // [B, H, Lq, dv]
      return options.returnWeights ? { output, weights } : { output };
    });
  }

  /** This module as an {@link AttentionFn}. */
  readonly attend: AttentionFn = (q, k, v, options) => this.forward(q, k, v, options);
}
