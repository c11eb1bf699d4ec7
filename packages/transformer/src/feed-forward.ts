import * as tf from '@tensorflow/tfjs-core';
import { gelu, linear, type Linear, silu, split } from '@dl/core';

/**
 * The position-wise feed-forward activation: `relu` (Vaswani et al.), `gelu` (BERT, exact erf),
 * `gelu_tanh` (GPT-2's tanh approximation), `silu`, or a gated linear unit (Shazeer 2020) — `swiglu`
 * (LLaMA: a·silu(g)) or `geglu` (a·gelu(g)), whose first linear layer is twice as wide (a, then g).
 *
 * @example
 * ```ts
 * import type { Activation } from '@dl/transformer';
 * const act: Activation = 'swiglu';
 * ```
 */
export type Activation = 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'swiglu' | 'geglu';

/** Every {@link Activation}. */
export const ACTIVATIONS: readonly Activation[] = ['relu', 'gelu', 'gelu_tanh', 'silu', 'swiglu', 'geglu'];

/** True for the gated activations, whose first layer has 2·F outputs. */
export function isGated(a: Activation): boolean {
  return a === 'swiglu' || a === 'geglu';
}

function activate(a: Activation, x: tf.Tensor): tf.Tensor {
  switch (a) {
    case 'relu':
      return tf.relu(x);
    case 'gelu':
      return gelu(x);
    case 'gelu_tanh':
      return gelu(x, 'tanh');
    case 'silu':
      return silu(x);
    case 'swiglu':
    case 'geglu': {
      const [value, gate] = split(x, 2, -1); // [n, F] each
      return tf.mul(value, a === 'swiglu' ? silu(gate) : gelu(gate)); // [n, F]
    }
  }
}

/**
 * linear2(dropout(act(linear1(x)))) over the last axis: the feed-forward sublayer, applied to every
 * position independently.
 *
 * @param x `[B, L, E]`.
 * @param drop the dropout to apply between the two layers (identity in evaluation).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Linear } from '@dl/core';
 * import { feedForward } from '@dl/transformer';
 * const up = new Linear(8, 2 * 32); // SwiGLU: values and gates
 * const down = new Linear(32, 8);
 * const y = feedForward(tf.randomNormal([2, 5, 8]), up, down, 'swiglu', (t) => t); // [2, 5, 8]
 * ```
 */
export function feedForward(x: tf.Tensor, inner: Linear, outer: Linear, activation: Activation, drop: (t: tf.Tensor) => tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [B, L, E] = x.shape;
    const h = activate(activation, linear(tf.reshape(x, [B * L, E]), inner.weight, inner.bias)); // [B·L, F]
    const y = linear(drop(h), outer.weight, outer.bias); // [B·L, E]
    return tf.reshape(y, [B, L, E]); // [B, L, E]
  });
}
