import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '../errors.js';
import { Module } from '../module.js';
import { wasmGelu, wasmGeluUsable } from '../wasm-gelu.js';

/**
 * GELU. `'none'` (default) is exact: x·Φ(x) = ½x(1 + erf(x/√2)); `'tanh'` is the approximation
 * ½x(1 + tanh(√(2/π)(x + 0.044715x³))), as `torch.nn.functional.gelu(approximate=...)`. On wasm the exact
 * form runs in @dl/core's SIMD kernels (erf to 1.5e−7, one kernel each way; see {@link useWasmKernels}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { gelu } from '@dl/core';
 * gelu(tf.tensor1d([-1, 0, 1])); // ≈ [-0.1587, 0, 0.8413]
 * ```
 */
export function gelu(x: tf.Tensor, approximate: 'none' | 'tanh' = 'none'): tf.Tensor {
  return tf.tidy(() => {
    if (approximate === 'tanh') {
      const inner = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(inner)));
    }
    if (approximate !== 'none') throw new DLArgumentError('gelu', 'approximate', "'none' or 'tanh'", approximate);
    if (wasmGeluUsable(x)) return wasmGelu(x); // one SIMD kernel each way on wasm (see useWasmKernels)
    return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  });
}

/**
 * SiLU (swish): x·σ(x).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { silu } from '@dl/core';
 * silu(tf.tensor1d([0, 1])); // [0, 0.7311]
 * ```
 */
export function silu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(x, tf.sigmoid(x)));
}

/** Moves `axis` last, applies `f` over the last axis, moves it back. */
function alongAxis(x: tf.Tensor, axis: number, f: (t: tf.Tensor) => tf.Tensor, where: string): tf.Tensor {
  const a = axis < 0 ? x.rank + axis : axis;
  if (!Number.isInteger(a) || a < 0 || a >= x.rank) throw new DLArgumentError(where, 'dim', `an axis of a rank-${x.rank} tensor`, axis);
  if (a === x.rank - 1) return f(x);
  return tf.tidy(() => {
    const perm = [...Array(x.rank).keys()].filter((i) => i !== a).concat(a);
    const inv = perm.map((_, i) => perm.indexOf(i));
    return tf.transpose(f(tf.transpose(x, perm)), inv);
  });
}

/**
 * Softmax along `dim` (default the last), any axis unlike `tf.softmax`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { softmax } from '@dl/core';
 * softmax(tf.tensor2d([[1, 2], [3, 4]]), 0); // columns sum to 1
 * ```
 */
export function softmax(x: tf.Tensor, dim = -1): tf.Tensor {
  return alongAxis(x, dim, (t) => tf.softmax(t), 'softmax');
}

/**
 * log-softmax along `dim` (default the last), computed stably.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { logSoftmax } from '@dl/core';
 * logSoftmax(tf.tensor1d([1, 2, 3]));
 * ```
 */
export function logSoftmax(x: tf.Tensor, dim = -1): tf.Tensor {
  return alongAxis(x, dim, (t) => tf.logSoftmax(t), 'logSoftmax');
}

/** An element-wise activation wrapped as a module. */
abstract class Activation extends Module {
  abstract override forward(x: tf.Tensor): tf.Tensor;
}

/**
 * ReLU: max(x, 0).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ReLU } from '@dl/core';
 * new ReLU().forward(tf.tensor1d([-1, 2])); // [0, 2]
 * ```
 */
export class ReLU extends Activation {
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
}

/**
 * GELU as a module (see {@link gelu}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GELU } from '@dl/core';
 * new GELU('tanh').forward(tf.tensor1d([1]));
 * ```
 */
export class GELU extends Activation {
  /** @param approximate `'none'` (exact, default) or `'tanh'`. */
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    if (approximate !== 'none' && approximate !== 'tanh') throw new DLArgumentError('GELU', 'approximate', "'none' or 'tanh'", approximate);
  }
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return gelu(x, this.approximate);
  }
}

/**
 * SiLU as a module (see {@link silu}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { SiLU } from '@dl/core';
 * new SiLU().forward(tf.tensor1d([1]));
 * ```
 */
export class SiLU extends Activation {
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return silu(x);
  }
}

/**
 * tanh as a module.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Tanh } from '@dl/core';
 * new Tanh().forward(tf.tensor1d([0])); // [0]
 * ```
 */
export class Tanh extends Activation {
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
}

/**
 * Logistic sigmoid as a module.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Sigmoid } from '@dl/core';
 * new Sigmoid().forward(tf.tensor1d([0])); // [0.5]
 * ```
 */
export class Sigmoid extends Activation {
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
}

/**
 * Softmax along `dim` as a module (see {@link softmax}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Softmax } from '@dl/core';
 * new Softmax(-1).forward(tf.tensor2d([[1, 2]]));
 * ```
 */
export class Softmax extends Activation {
  /** @param dim the axis that sums to 1. Default -1. */
  constructor(readonly dim = -1) {
    super();
  }
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return softmax(x, this.dim);
  }
}

/**
 * log-softmax along `dim` as a module (see {@link logSoftmax}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LogSoftmax } from '@dl/core';
 * new LogSoftmax().forward(tf.tensor2d([[1, 2]]));
 * ```
 */
export class LogSoftmax extends Activation {
  /** @param dim the axis. Default -1. */
  constructor(readonly dim = -1) {
    super();
  }
  /**
   * Applies the layer.
   * @param x any shape.
   */
  forward(x: tf.Tensor): tf.Tensor {
    return logSoftmax(x, this.dim);
  }
}
