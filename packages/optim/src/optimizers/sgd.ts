import type * as tf from '@tensorflow/tfjs-core';
import { asIs, checkNumber, DLArgumentError } from '@dl/core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { trace } from '../transforms/trace.js';
import { checkBool, checkHyper, checkKeys, type GradientTransformation } from '../types.js';
import { decayStep, maximizeStep, requireLr, type CommonOptions } from './common.js';

/** Options of {@link sgd} / {@link SGD} (PyTorch names, camelCase). */
export interface SGDOptions extends CommonOptions {
  /** Momentum factor μ (a number or a schedule). Default 0 (plain gradient descent). */
  momentum?: CommonOptions['lr'];
  /** Dampening τ for momentum. Default 0. */
  dampening?: number;
  /** Nesterov momentum. Default false. */
  nesterov?: boolean;
}

/**
 * Stochastic gradient descent with momentum, as `torch.optim.SGD` (lr has no default):
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad b_1 = g,\ \ b_t = \mu b_{t-1} + (1-\tau)\,g, \qquad d = \begin{cases} g + \mu b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases}, \qquad \theta \leftarrow \theta - \eta\, d
 * $$
 *
 * With $\mu = 0$ this is $\theta_n = \theta_{n-1} - \eta g_{n-1}$; with momentum it is the heavy-ball form
 * $m_n = \lambda m_{n-1} - \eta g_{n-1}$, $\theta_n = \theta_{n-1} + m_n$, for a constant $\eta$ ($m = -\eta b$). Reference: Sutskever et
 * al. 2013, "On the importance of initialization and momentum in deep learning".
 *
 * @example
 * ```ts
 * import { sgd } from '@dl/optim';
 * const tx = sgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
 * ```
 */
export function sgd(options: SGDOptions): GradientTransformation {
  checkKeys('sgd', options, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize']);
  requireLr('sgd', options?.lr);
  const lr = checkHyper('sgd', 'lr', options.lr);
  const momentum = checkHyper('sgd', 'momentum', options.momentum ?? 0);
  const dampening = checkNumber('sgd', 'dampening', options.dampening ?? 0);
  const nesterov = checkBool('sgd', 'nesterov', options.nesterov ?? false);
  if (nesterov && (dampening !== 0 || (typeof momentum === 'number' && momentum <= 0))) {
    throw new DLArgumentError('sgd', 'nesterov', 'used with momentum > 0 and dampening 0 (as in PyTorch)', asIs(`momentum ${typeof momentum === 'number' ? momentum : 'a schedule'}, dampening ${dampening}`));
  }
  const weightDecay = checkHyper('sgd', 'weightDecay', options.weightDecay ?? 0);
  return chain(
    ...maximizeStep('sgd', options.maximize),
    ...decayStep(weightDecay),
    ...(momentum === 0 ? [] : [trace({ momentum, dampening, nesterov })]),
    scaleByLearningRate(lr),
  );
}

/**
 * {@link sgd} bound to variables: `new SGD(params, { lr: 0.1, momentum: 0.9 })`. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { SGD } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new SGD([w], { lr: 0.1, momentum: 0.9 });
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class SGD extends Optimizer<SGDOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group (`lr` required) and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<SGDOptions>[], options: SGDOptions & OptimizerConfig) {
    super('SGD', sgd, params, options);
  }
}
