// Type tests, checked by `tsc` (pnpm typecheck), never run: @dl/core's losses are tf.Scalar under the
// reductions that reduce, so Optimizer.minimize and tf.train's minimize take them without a cast.
import * as tf from '@tensorflow/tfjs-core';
import { binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, Linear, mseLoss, type Reduction } from '@dl/core';
import { AdamW } from '../src/index.js';

declare const logits: tf.Tensor2D;
declare const target: tf.Tensor1D;
declare const runtimeReduction: Reduction;
const model = new Linear(4, 3);
const opt = new AdamW(model.parameters(), { lr: 1e-3 });

// The README's loop, unchanged: no `as tf.Scalar`.
void opt.minimize(() => crossEntropy(model.forward(logits), target));
void opt.minimize(() => crossEntropy(logits, target, { labelSmoothing: 0.1 }));
void opt.minimize(() => crossEntropy(logits, target, { reduction: 'sum' }));
void opt.minimize(() => mseLoss(logits, logits));
void opt.minimize(() => binaryCrossEntropy(logits, logits, { reduction: 'mean' }));
void opt.minimize(() => binaryCrossEntropyWithLogits(logits, logits));
tf.train.adam(0.01).minimize(() => crossEntropy(logits, target), true, model.parameters());

const perItem: tf.Tensor = crossEntropy(logits, target, { reduction: 'none' });
const scalar: tf.Scalar = crossEntropy(logits, target);
// @ts-expect-error: a per-element loss is not a scalar; reduce it first.
const notScalar: tf.Scalar = crossEntropy(logits, target, { reduction: 'none' });
// @ts-expect-error: minimize needs a scalar.
void opt.minimize(() => mseLoss(logits, logits, { reduction: 'none' }));
// @ts-expect-error: a reduction known only at run time may be 'none'.
const unknownReduction: tf.Scalar = mseLoss(logits, logits, { reduction: runtimeReduction });
void opt.minimize(() => tf.mean(mseLoss(logits, logits, { reduction: 'none' })));

export { perItem, scalar, notScalar, unknownReduction };
