import type * as tf from '@tensorflow/tfjs-core';

/** A tensor's shape as plain numbers (tfjs types index its rank-generic shape as possibly undefined). */
export function sh(t: tf.Tensor): number[] {
  return t.shape as number[];
}
