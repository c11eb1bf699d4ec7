import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkShape } from '../errors.js';
import { fans, kaimingUniform, uniform, type Initializer } from '../init.js';
import { linear } from '../matmul.js';
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

const LINEAR_KEYS = ['bias', 'weightInit', 'biasInit', 'rng'] as const satisfies readonly (keyof LinearOptions)[];

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
   * @param options see {@link LinearOptions}; unknown keys throw (`{ useBias: false }` is not `{ bias: false }`).
   */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkKeys('Linear', options, LINEAR_KEYS);
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
    // matMul (not tf.fused.matMul): the fused op's gradient computes the input's gradient even when
    // nothing needs it (the first layer's); plain ops let the tape skip it. See matMul for wasm.
    return linear(x, this.weight, this.bias);
  }
}
