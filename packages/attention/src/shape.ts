import * as tf from '@tensorflow/tfjs-core';

/** A tensor's shape as plain numbers (tfjs types index its rank-generic shape as possibly undefined). */
export function sh(t: tf.Tensor): number[] {
  return t.shape as number[];
}

/**
 * Runs `fn` off the gradient tape (a stop-gradient): what it returns does not depend on any input as far
 * as gradients are concerned. Used for index tensors (cluster ids, sort permutations) derived from q and k,
 * since tfjs would otherwise try to differentiate `gather` with respect to its int32 indices.
 */
export function detached<T extends tf.Tensor>(fn: () => T): T {
  const anchor = tf.scalar(0);
  const run = tf.customGrad(((a: tf.Tensor) => ({ value: fn(), gradFunc: () => [tf.zerosLike(a)] })) as unknown as Parameters<typeof tf.customGrad<T>>[0]);
  const out = run(anchor) as T;
  anchor.dispose();
  return out;
}
