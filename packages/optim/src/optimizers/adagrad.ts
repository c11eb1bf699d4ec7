import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdagrad } from '../transforms/scale-by-adagrad.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link adagrad} / {@link Adagrad} (PyTorch names, camelCase; PyTorch's defaults). */
export interface AdagradOptions extends CommonOptions {
  /** Learning-rate decay d. Default 0. */
  lrDecay?: number;
  /** Initial value of the sum of squared gradients. Default 0. */
  initialAccumulatorValue?: number;
  /** ε added to the denominator. Default 1e-10. */
  eps?: number;
}

/**
 * AdaGrad (Duchi, Hazan & Singer 2011, 'Adaptive Subgradient Methods'), as `torch.optim.Adagrad`
 * (every past gradient weighs the same in the root mean square):
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad s_t = s_{t-1} + g^2, \qquad \theta \leftarrow \theta - \frac{\eta}{1 + (t-1)\,d}\cdot\frac{g}{\sqrt{s_t} + \epsilon}
 * $$
 *
 * where $d$ is `lrDecay`.
 *
 * Defaults: lr 1e-2, lrDecay 0, weightDecay 0, initialAccumulatorValue 0, eps 1e-10, maximize false.
 *
 * @example
 * ```ts
 * import { adagrad } from '@dl/optim';
 * const tx = adagrad({ lr: 0.1, lrDecay: 1e-3, initialAccumulatorValue: 0.1 });
 * ```
 */
export function adagrad(options: AdagradOptions = {}): GradientTransformation {
  checkKeys('adagrad', options, ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps', 'maximize']);
  return chain(
    ...maximizeStep('adagrad', options.maximize),
    ...decayStep(checkHyper('adagrad', 'weightDecay', options.weightDecay ?? 0)),
    scaleByAdagrad({ lrDecay: options.lrDecay ?? 0, initialAccumulatorValue: options.initialAccumulatorValue ?? 0, eps: options.eps ?? 1e-10 }),
    scaleByLearningRate(checkHyper('adagrad', 'lr', options.lr ?? 1e-2)),
  );
}

/**
 * {@link adagrad} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Adagrad } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Adagrad([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Adagrad extends Optimizer<AdagradOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<AdagradOptions>[], options: AdagradOptions & OptimizerConfig = {}) {
    super('Adagrad', adagrad, params, options);
  }
}
