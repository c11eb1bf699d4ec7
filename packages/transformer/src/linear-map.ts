import * as tf from '@tensorflow/tfjs-core';

/**
 * x·Wᵀ (+ b) for x `[n, in]` and W `[out, in]`. On wasm, tfjs 4.22's BatchMatMul with `transposeB` is up
 * to ~10× slower than transposing W first, so that backend gets the explicit transpose.
 */
export function linearMap(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor | null): tf.Tensor2D {
  const y = tf.getBackend() === 'wasm' ? tf.matMul(x, tf.transpose(w)) : tf.matMul(x, w, false, true); // [n, out]
  return (b ? tf.add(y, b) : y) as tf.Tensor2D; // [n, out]
}
