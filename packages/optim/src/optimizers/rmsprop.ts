import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByRms } from '../transforms/scale-by-rms.js';
import { trace } from '../transforms/trace.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link rmsprop} / {@link RMSprop} (PyTorch names, camelCase; PyTorch's defaults). */
export interface RMSpropOptions extends CommonOptions {
  /** Smoothing constant α. Default 0.99. */
  alpha?: number;
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Momentum factor μ (a number or a schedule). Default 0. */
  momentum?: CommonOptions['lr'];
  /** Normalise by the estimated variance. Default false. */
  centered?: boolean;
}

/**
 * RMSProp (Hinton, Coursera 'Neural Networks for Machine Learning', lecture 6e), as `torch.optim.RMSprop`
 * (α sets how much recent gradients count):
 *
 * $$
 * \begin{aligned}
 * g &\leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad s_t = \alpha s_{t-1} + (1-\alpha)\,g^2, \\
 * a &= \begin{cases} \sqrt{s_t - \bar g_t^2} + \epsilon,\ \ \bar g_t = \alpha \bar g_{t-1} + (1-\alpha)\,g & \text{centred} \\ \sqrt{s_t} + \epsilon & \text{otherwise} \end{cases} \\
 * \theta &\leftarrow \begin{cases} \theta - \eta\, b_t,\ \ b_t = \mu b_{t-1} + g/a & \mu > 0 \\ \theta - \eta\, g/a & \text{otherwise} \end{cases}
 * \end{aligned}
 * $$
 *
 * Defaults: lr 1e-2, alpha 0.99, eps 1e-8, weightDecay 0, momentum 0, centered false, maximize false.
 *
 * @example
 * ```ts
 * import { rmsprop } from '@dl/optim';
 * const tx = rmsprop({ lr: 1e-3, momentum: 0.9, centered: true });
 * ```
 */
export function rmsprop(options: RMSpropOptions = {}): GradientTransformation {
  checkKeys('rmsprop', options, ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered', 'maximize']);
  const momentum = checkHyper('rmsprop', 'momentum', options.momentum ?? 0);
  const centered = checkBool('rmsprop', 'centered', options.centered ?? false);
  return chain(
    ...maximizeStep('rmsprop', options.maximize),
    ...decayStep(checkHyper('rmsprop', 'weightDecay', options.weightDecay ?? 0)),
    scaleByRms({ alpha: options.alpha ?? 0.99, eps: options.eps ?? 1e-8, centered }),
    ...(momentum === 0 ? [] : [trace({ momentum })]),
    scaleByLearningRate(checkHyper('rmsprop', 'lr', options.lr ?? 1e-2)),
  );
}

/**
 * {@link rmsprop} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RMSprop } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new RMSprop([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class RMSprop extends Optimizer<RMSpropOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<RMSpropOptions>[], options: RMSpropOptions & OptimizerConfig = {}) {
    super('RMSprop', rmsprop, params, options);
  }
}
