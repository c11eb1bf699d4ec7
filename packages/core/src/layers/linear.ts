import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkShape } from '../errors.js';
import { fans, kaimingUniform, uniform, type Initializer } from '../init.js';
import { Module } from '../module.js';
import type { Rng } from '../random.js';

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Learn an additive bias. Default true. */
  bias?: boolean;
  /** Weight initialiser. Default PyTorch's: kaiming-uniform with a = √5, i.e. U(±1/√in). */
  weightInit?: Initializer;
  /** Bias initialiser. Default PyTorch's: U(±1/√in). */
  biasInit?: Initializer;
  /** Generator for the initial values (default: the global one, see `manualSeed`). */
  rng?: Rng;
}

/**
 * y = x·Wᵀ + b, over the last axis of `x` (any leading shape). The weight is stored `[out, in]` as in
 * PyTorch, so state dicts move between the two unchanged.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Linear } from '@dl/core';
 * const fc = new Linear(3, 2);
 * const y = fc.forward(tf.ones([5, 3])); // [5, 2]
 * ```
 */
export class Linear extends Module {
  /** Weight, `[outFeatures, inFeatures]`. */
  readonly weight: tf.Variable;
  /** Bias, `[outFeatures]`, or null. */
  readonly bias: tf.Variable | null;

  /**
   * @param inFeatures size of each input's last axis.
   * @param outFeatures size of each output's last axis.
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkInt('Linear', 'inFeatures', inFeatures);
    checkInt('Linear', 'outFeatures', outFeatures);
    const shape = [outFeatures, inFeatures];
    const bound = 1 / Math.sqrt(fans(shape).fanIn);
    this.weight = this.registerParameter('weight', (options.weightInit ?? kaimingUniform({ a: Math.sqrt(5) }))(shape, options.rng));
    this.bias = options.bias === false ? null : this.registerParameter('bias', (options.biasInit ?? uniform(-bound, bound))([outFeatures], options.rng));
  }

  /**
   * Applies the layer.
   * @param x `[..., inFeatures]` → `[..., outFeatures]`.
   */
  forward(x: tf.Tensor): tf.Tensor {
    checkShape('Linear', 'input', x, { minRank: 1, last: this.inFeatures });
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, this.inFeatures]); // [n, in]
      // wasm's BatchMatMul with transposeB is up to ~10× slower than transposing W first (tfjs 4.22).
      // Plain matMul + add rather than tf.fused.matMul: the fused op's gradient computes the input's
      // gradient even when nothing needs it (the first layer's), which on wasm is another slow
      // transposeB matMul; plain ops let the tape skip it.
      const xw = tf.getBackend() === 'wasm'
        ? tf.matMul(x2, tf.transpose(this.weight)) // [n, in] · [in, out] → [n, out]
        : tf.matMul(x2, this.weight, false, true); // [n, out]
      const y = this.bias ? tf.add(xw, this.bias) : xw; // [n, out]
      return x.rank === 2 ? y : tf.reshape(y, [...lead, this.outFeatures]);
    });
  }
}
