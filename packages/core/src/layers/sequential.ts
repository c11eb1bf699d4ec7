import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '../errors.js';
import { Module } from '../module.js';

/** A module whose forward takes one tensor and returns one. */
export interface UnaryModule extends Module {
  /** Maps one tensor to one tensor. */
  forward(x: tf.Tensor): tf.Tensor;
}

/**
 * Chains modules: the output of each is the input of the next. Children are named `0`, `1`, …, so
 * parameters are `0.weight`, `2.bias`, … exactly as in `torch.nn.Sequential`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Sequential, Linear, ReLU } from '@dl/core';
 * const mlp = new Sequential(new Linear(784, 128), new ReLU(), new Linear(128, 10));
 * const logits = mlp.forward(tf.zeros([32, 784])); // [32, 10]
 * ```
 */
export class Sequential extends Module {
  /** The modules, in order. */
  readonly layers: UnaryModule[];

  /** @param layers modules to chain. */
  constructor(...layers: UnaryModule[]) {
    super();
    if (layers.length === 0) throw new DLArgumentError('Sequential', 'layers', 'at least one module', '[]');
    layers.forEach((m, i) => this.registerModule(String(i), m));
    this.layers = layers;
  }

  /**
   * Applies the layer.
   * @param x input of the first module. Intermediate tensors are freed.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => this.layers.reduce((h, layer) => layer.forward(h), x));
  }
}
