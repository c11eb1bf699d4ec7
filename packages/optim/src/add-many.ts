import * as tf from '@tensorflow/tfjs-core';

// WebGPU binds each input of a kernel as a storage buffer, and devices allow only 8 per shader stage by
// default (Dawn, SwiftShader, most GPUs). tfjs 4.22's webgpu AddN does not split larger input lists
// (its Concat does): the shader fails to compile and the result is garbage, so a model with more than 7
// parameters got a wrong global gradient norm there. This sums at most GROUP inputs per AddN, in a tree.
const GROUP = 6;

/** Σ of same-shape tensors, at most GROUP inputs per AddN (new tensor; inputs untouched). */
export function addMany(xs: readonly tf.Tensor[]): tf.Tensor {
  return tf.tidy(() => {
    let level = [...xs];
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += GROUP) {
        const part = level.slice(i, i + GROUP);
        next.push(part.length === 1 ? part[0] : tf.addN(part));
      }
      level = next;
    }
    return tf.clone(level[0]);
  });
}
