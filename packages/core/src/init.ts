import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, DLArgumentError } from './errors.js';
import { getRng, randNormal, randUniform, type Rng } from './random.js';

/** Makes an initial value for a parameter of the given shape. */
export type Initializer = (shape: number[], rng?: Rng) => tf.Tensor;

/** The non-linearities `calculateGain` knows, as in `torch.nn.init.calculate_gain`. */
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * The recommended gain for a non-linearity, exactly as `torch.nn.init.calculate_gain`.
 *
 * @example
 * ```ts
 * import { calculateGain } from '@dl/core';
 * calculateGain('relu'); // √2
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new DLArgumentError('calculateGain', 'nonlinearity', "one of 'linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu', 'selu'", nonlinearity);
  }
}

/** Number of inputs and outputs feeding one unit of a layer. */
export interface Fans {
  /** Inputs per output unit (in × receptive field). */
  fanIn: number;
  /** Outputs per input unit (out × receptive field). */
  fanOut: number;
}

/**
 * fan_in and fan_out of a weight in PyTorch's layout `[out, in, ...kernel]` (as `_calculate_fan_in_and_fan_out`).
 *
 * @example
 * ```ts
 * import { fans } from '@dl/core';
 * fans([8, 4]); // { fanIn: 4, fanOut: 8 }
 * ```
 */
export function fans(shape: number[]): Fans {
  if (shape.length < 2) throw new DLArgumentError('fans', 'shape', 'at least 2 dimensions', shape);
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/** Options of the Kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of leaky ReLU (PyTorch's `a`). Default 0. */
  a?: number;
  /** Preserve the variance of the forward (`fanIn`) or backward (`fanOut`) pass. Default `fanIn`. */
  mode?: 'fanIn' | 'fanOut';
  /** Default `leaky_relu`, as in PyTorch. */
  nonlinearity?: Nonlinearity;
  /** Override the fans, for layouts other than `[out, in, ...]` (e.g. NHWC convolution kernels). */
  fans?: Fans;
}

const KAIMING_KEYS = ['a', 'mode', 'nonlinearity', 'fans'] as const satisfies readonly (keyof KaimingOptions)[];

/**
 * Kaiming/He uniform: U(−b, b) with b = gain·√(3 / fan). `kaimingUniform({ a: Math.sqrt(5) })` is
 * PyTorch's default for Linear and Conv weights.
 *
 * @example
 * ```ts
 * import { kaimingUniform } from '@dl/core';
 * const w = kaimingUniform({ nonlinearity: 'relu' })([16, 8]);
 * ```
 */
export function kaimingUniform(options: KaimingOptions = {}): Initializer {
  checkKeys('kaimingUniform', options, KAIMING_KEYS);
  return (shape, rng = getRng()) => {
    const bound = kaimingStd(shape, options) * Math.sqrt(3);
    return randUniform(shape, -bound, bound, rng);
  };
}

/**
 * Kaiming/He normal: N(0, std²) with std = gain / √fan.
 *
 * @example
 * ```ts
 * import { kaimingNormal } from '@dl/core';
 * const w = kaimingNormal({ mode: 'fanOut', nonlinearity: 'relu' })([16, 8, 3, 3]);
 * ```
 */
export function kaimingNormal(options: KaimingOptions = {}): Initializer {
  checkKeys('kaimingNormal', options, KAIMING_KEYS);
  return (shape, rng = getRng()) => randNormal(shape, 0, kaimingStd(shape, options), rng);
}

function kaimingStd(shape: number[], options: KaimingOptions): number {
  const f = options.fans ?? fans(shape);
  const fan = (options.mode ?? 'fanIn') === 'fanIn' ? f.fanIn : f.fanOut;
  const gain = calculateGain(options.nonlinearity ?? 'leaky_relu', options.a ?? 0);
  return gain / Math.sqrt(fan);
}

/**
 * Xavier/Glorot uniform: U(−b, b) with b = gain·√(6 / (fan_in + fan_out)).
 *
 * @example
 * ```ts
 * import { xavierUniform } from '@dl/core';
 * const w = xavierUniform()([16, 8]);
 * ```
 */
export function xavierUniform(gain = 1, fanOverride?: Fans): Initializer {
  return (shape, rng = getRng()) => {
    const f = fanOverride ?? fans(shape);
    const bound = gain * Math.sqrt(6 / (f.fanIn + f.fanOut));
    return randUniform(shape, -bound, bound, rng);
  };
}

/**
 * Xavier/Glorot normal: N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).
 *
 * @example
 * ```ts
 * import { xavierNormal } from '@dl/core';
 * const w = xavierNormal()([16, 8]);
 * ```
 */
export function xavierNormal(gain = 1, fanOverride?: Fans): Initializer {
  return (shape, rng = getRng()) => {
    const f = fanOverride ?? fans(shape);
    return randNormal(shape, 0, gain * Math.sqrt(2 / (f.fanIn + f.fanOut)), rng);
  };
}

/**
 * N(mean, std²).
 *
 * @example
 * ```ts
 * import { normal } from '@dl/core';
 * const w = normal(0, 0.02)([100, 16]);
 * ```
 */
export function normal(mean = 0, std = 1): Initializer {
  return (shape, rng = getRng()) => randNormal(shape, mean, std, rng);
}

/**
 * U(low, high).
 *
 * @example
 * ```ts
 * import { uniform } from '@dl/core';
 * const b = uniform(-0.1, 0.1)([16]);
 * ```
 */
export function uniform(low = 0, high = 1): Initializer {
  if (!(high > low)) throw new DLArgumentError('uniform', 'high', `greater than low (${low})`, high);
  return (shape, rng = getRng()) => randUniform(shape, low, high, rng);
}

/**
 * A constant value.
 *
 * @example
 * ```ts
 * import { constant } from '@dl/core';
 * const b = constant(0.1)([16]);
 * ```
 */
export function constant(value: number): Initializer {
  return (shape) => tf.fill(shape, value);
}

/**
 * Zeros.
 *
 * @example
 * ```ts
 * import { zeros } from '@dl/core';
 * const b = zeros()([16]);
 * ```
 */
export function zeros(): Initializer {
  return (shape) => tf.zeros(shape);
}

/**
 * Ones.
 *
 * @example
 * ```ts
 * import { ones } from '@dl/core';
 * const g = ones()([16]);
 * ```
 */
export function ones(): Initializer {
  return (shape) => tf.ones(shape);
}
