import * as tf from '@tensorflow/tfjs-core';
import { linear, type Embedding } from '@dl/core';
import type { LearnedPositions } from './positions/learned.js';
import { sinusoidalTable } from './positions/sinusoidal.js';

/**
 * Token embeddings plus absolute positions: emb(ids)·scale + PE[offset … offset + L − 1] (learned or
 * sinusoidal; nothing for in-attention kinds).
 *
 * @param ids int32 `[B, L]`.
 * @returns `[B, L, E]`.
 */
export function embed(ids: tf.Tensor2D, tokens: Embedding, positions: LearnedPositions | 'sinusoidal' | null, offset: number, scale: number): tf.Tensor {
  return tf.tidy(() => {
    const [, L] = ids.shape;
    let x = tokens.forward(ids); // [B, L, E]
    if (scale !== 1) x = tf.mul(x, scale); // [B, L, E]
    if (positions === 'sinusoidal') x = tf.add(x, sinusoidalTable(L, tokens.embeddingDim, offset)); // [B, L, E]
    else if (positions) x = tf.add(x, positions.forward(L, offset)); // [B, L, E]
    return x;
  });
}

/** h `[B, L, E]` · Wᵀ with W `[V, E]` (a tied embedding or an output layer) + b → `[B, L, V]`. */
export function project(h: tf.Tensor, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor {
  return tf.tidy(() => {
    return linear(h, w, b); // [B, L, V]
  });
}
