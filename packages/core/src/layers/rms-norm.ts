import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError } from '../errors.js';
import { Module } from '../module.js';

/** Options of {@link RMSNorm}. */
export interface RMSNormOptions {
  /** Added to the mean square, ≥ 0. Default 1e-6 (T5, LLaMA). */
  eps?: number;
  /** Learn a per-element scale γ. Default true. */
  elementwiseAffine?: boolean;
}

/**
 * Root-mean-square normalisation (Zhang & Sennrich 2019) over the last axis: x / √(mean(x²) + eps) · γ.
 * Unlike {@link LayerNorm} it neither subtracts the mean nor learns a bias: cheaper, and what T5 and
 * LLaMA use. Parameter `weight` (γ), as `torch.nn.RMSNorm` and HF's `LlamaRMSNorm`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RMSNorm } from '@dl/core';
 * const norm = new RMSNorm(8);
 * const y = norm.forward(tf.randomNormal([2, 5, 8])); // each [8]-vector now has mean square ≈ 1
 * ```
 */
export class RMSNorm extends Module {
  /** γ `[dim]`, or null without `elementwiseAffine`. */
  readonly weight: tf.Variable | null;
  /** The epsilon. */
  readonly eps: number;

  /** @param dim size of the normalised last axis. */
  constructor(
    readonly dim: number,
    options: RMSNormOptions = {},
  ) {
    super();
    checkKeys('RMSNorm', options, ['eps', 'elementwiseAffine']);
    checkInt('RMSNorm', 'dim', dim);
    this.eps = checkNumber('RMSNorm', 'eps', options.eps ?? 1e-6, 0);
    this.weight = options.elementwiseAffine ?? true ? this.registerParameter('weight', tf.ones([dim])) : null;
  }

  /**
   * Applies the layer.
   * @param x `[..., dim]` → same shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    if (x == null || x.rank < 1 || x.shape[x.rank - 1] !== this.dim) throw new DLArgumentError('RMSNorm', 'input', `of shape [..., ${this.dim}]`, x);
    return tf.tidy(() => {
      const ms = tf.mean(tf.square(x), -1, true); // [..., 1]
      const y = tf.mul(x, tf.rsqrt(tf.add(ms, this.eps))); // [..., dim]
      return this.weight ? tf.mul(y, this.weight) : y;
    });
  }
}
