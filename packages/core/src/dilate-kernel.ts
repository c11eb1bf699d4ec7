import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';

/**
 * Inserts `d − 1` zeros between the taps of a `[kh, kw, a, b]` convolution kernel, giving
 * `[dh·(kh − 1) + 1, dw·(kw − 1) + 1, a, b]`. A convolution with it equals a dilated convolution with the
 * original kernel; unlike tfjs's `dilations` it has gradients (tfjs 4.22 refuses dilation > 1 in the
 * gradients of conv2d and depthwiseConv2d) and combines with any stride. Differentiable; at most rank-4
 * ops, so it runs on WebGPU (whose pad stops at rank 4). Returns the kernel itself for dilation 1.
 *
 * @param kernel `[kh, kw, a, b]` (e.g. conv2d's `[kh, kw, in, out]` or depthwiseConv2d's `[kh, kw, C, m]`).
 * @param dilation `[dh, dw]`, integers ≥ 1.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { dilateKernel } from '@dl/core';
 * const k = tf.tensor4d([1, 2, 3, 4], [2, 2, 1, 1]);
 * const d = dilateKernel(k, [2, 1]); // [3, 2, 1, 1]: rows [1, 2], [0, 0], [3, 4]
 * ```
 */
export function dilateKernel(kernel: tf.Tensor4D, dilation: readonly [number, number]): tf.Tensor4D {
  if (!isTensor(kernel) || kernel.rank !== 4) throw new DLArgumentError('dilateKernel', 'kernel', 'a 4-D tf.Tensor [kh, kw, a, b]', kernel);
  if (!Array.isArray(dilation) || dilation.length !== 2 || !dilation.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new DLArgumentError('dilateKernel', 'dilation', 'a pair of integers ≥ 1 [dh, dw]', dilation);
  }
  const [dh, dw] = dilation;
  if (dh === 1 && dw === 1) return kernel;
  return tf.tidy(() => {
    const [kh, kw, a, b] = kernel.shape;
    const eh = dh * (kh - 1) + 1;
    const ew = dw * (kw - 1) + 1;
    const rows = tf.pad(tf.reshape(kernel, [kh, 1, kw * a * b]), [[0, 0], [0, dh - 1], [0, 0]]); // [kh, dh, kw·a·b]
    const wr = tf.slice(tf.reshape(rows, [kh * dh, kw, a * b]), [0, 0, 0], [eh, kw, a * b]); // [effH, kw, a·b]
    const cols = tf.pad(tf.reshape(wr, [eh, kw, 1, a * b]), [[0, 0], [0, 0], [0, dw - 1], [0, 0]]); // [effH, kw, dw, a·b]
    const wc = tf.slice(tf.reshape(cols, [eh, kw * dw, a * b]), [0, 0, 0], [eh, ew, a * b]); // [effH, effW, a·b]
    return tf.reshape(wc, [eh, ew, a, b]) as tf.Tensor4D; // [effH, effW, a, b]
  });
}
