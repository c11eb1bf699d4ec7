import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, Module } from '@dl/core';

/**
 * Flattens axes `startDim` … end into one, as `torch.nn.Flatten` (default keeps the batch axis). On NHWC
 * feature maps the order is (h, w, c), not PyTorch's (c, h, w): a Linear layer after it therefore has its
 * weight columns permuted relative to PyTorch's; `loadPytorchStateDict` permutes them for the models
 * here (LeNet, YOLOv1), see `pytorch.ts`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Flatten } from '@dl/cnn';
 * const y = new Flatten().forward(tf.zeros([8, 5, 5, 16])); // [8, 400]
 * ```
 */
export class Flatten extends Module {
  /** @param startDim first axis to merge. Default 1. */
  constructor(readonly startDim = 1) {
    super();
    checkInt('Flatten', 'startDim', startDim, 0);
  }

  /**

   * Forward pass.

   * @param x any rank > startDim → `[...x.shape[:startDim], rest]`.

   */
  forward(x: tf.Tensor): tf.Tensor {
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank <= this.startDim) {
      throw new DLArgumentError('Flatten', 'input', `of rank > ${this.startDim}`, x);
    }
    return tf.reshape(x, [...x.shape.slice(0, this.startDim), -1]);
  }
}
