import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError } from '../errors.js';
import { Module } from '../module.js';
import { kernelsUsable } from '../wasm-kernels.js';
import { wasmLayerNorm } from '../wasm-layer-norm.js';

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance. Default 1e-5. */
  eps?: number;
  /** Learn a per-element scale (and bias). Default true. */
  elementwiseAffine?: boolean;
  /** Learn the bias (with `elementwiseAffine`). Default true. */
  bias?: boolean;
}

const LAYER_NORM_KEYS = ['eps', 'elementwiseAffine', 'bias'] as const satisfies readonly (keyof LayerNormOptions)[];

/**
 * Layer normalisation over the last `normalizedShape.length` axes: (x − mean) / √(var + eps) · γ + β,
 * with the biased variance, as `torch.nn.LayerNorm`. Statistics are per example, so it behaves the same
 * in training and evaluation and for any batch size (why Transformers prefer it to batch norm).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LayerNorm } from '@dl/core';
 * const ln = new LayerNorm(8);
 * const y = ln.forward(tf.randomNormal([2, 5, 8])); // each [8]-vector now has mean 0, variance ≈ 1
 * ```
 */
export class LayerNorm extends Module {
  /** γ, shaped like `normalizedShape`, or null. */
  readonly weight: tf.Variable | null;
  /** β, shaped like `normalizedShape`, or null. */
  readonly bias: tf.Variable | null;
  /** The normalised trailing shape. */
  readonly normalizedShape: number[];
  /** The epsilon. */
  readonly eps: number;

  /**
   * @param normalizedShape size (or sizes) of the trailing axes to normalise over.
   * @param options see {@link LayerNormOptions}; unknown keys throw (`{ epsilon }` is not `{ eps }`).
   */
  constructor(normalizedShape: number | number[], options: LayerNormOptions = {}) {
    super();
    checkKeys('LayerNorm', options, LAYER_NORM_KEYS);
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    if (this.normalizedShape.length === 0) throw new DLArgumentError('LayerNorm', 'normalizedShape', 'at least one size', normalizedShape);
    this.normalizedShape.forEach((d, i) => checkInt('LayerNorm', `normalizedShape[${i}]`, d));
    this.eps = checkNumber('LayerNorm', 'eps', options.eps ?? 1e-5, 0, Infinity, true);
    const affine = options.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', tf.ones(this.normalizedShape)) : null;
    this.bias = affine && (options.bias ?? true) ? this.registerParameter('bias', tf.zeros(this.normalizedShape)) : null;
  }

  /**
   * Applies the layer.
   * @param x `[..., ...normalizedShape]` → same shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    const k = this.normalizedShape.length;
    if (x.rank < k || x.shape.slice(-k).join(',') !== this.normalizedShape.join(',')) {
      throw new DLArgumentError('LayerNorm', 'input', `of shape [..., ${this.normalizedShape.join(', ')}]`, x);
    }
    if (x.dtype === 'float32' && kernelsUsable(x)) {
      // wasm: the forward pass in @dl/core's SIMD module, the backward from its statistics (wasm-layer-norm.ts).
      return tf.tidy(() => wasmLayerNorm(x, this.weight ?? tf.ones(this.normalizedShape), this.bias ?? tf.zeros(this.normalizedShape), this.eps, k));
    }
    return tf.tidy(() => {
      const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
      const { mean, variance } = tf.moments(x, axes, true); // [..., 1 × k]
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.eps)));
      if (this.weight) y = tf.mul(y, this.weight);
      if (this.bias) y = tf.add(y, this.bias);
      return y;
    });
  }
}
