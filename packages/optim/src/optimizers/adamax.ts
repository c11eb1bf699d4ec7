import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdamax } from '../transforms/scale-by-adamax.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link adamax} / {@link Adamax} (PyTorch names, camelCase; PyTorch's defaults). */
export interface AdamaxOptions extends CommonOptions {
  /** Coefficients (β₁, β₂), numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to |g|. Default 1e-8. */
  eps?: number;
}

/**
 * Adamax, Adam with the infinity norm (Kingma & Ba 2015, §7.1), as `torch.optim.Adamax`:
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad u_t = \max(\beta_2 u_{t-1},\ |g| + \epsilon), \qquad \theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\cdot\frac{m_t}{u_t}
 * $$
 *
 * Defaults: lr 2e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, maximize false.
 *
 * @example
 * ```ts
 * import { adamax } from '@dl/optim';
 * const tx = adamax({ lr: 2e-3 });
 * ```
 */
export function adamax(options: AdamaxOptions = {}): GradientTransformation {
  checkKeys('adamax', options, ['lr', 'betas', 'eps', 'weightDecay', 'maximize']);
  const [b1, b2] = checkBetas('adamax', options.betas ?? [0.9, 0.999]);
  return chain(
    ...maximizeStep('adamax', options.maximize),
    ...decayStep(checkHyper('adamax', 'weightDecay', options.weightDecay ?? 0)),
    scaleByAdamax({ b1, b2, eps: options.eps ?? 1e-8 }),
    scaleByLearningRate(checkHyper('adamax', 'lr', options.lr ?? 2e-3)),
  );
}

/**
 * {@link adamax} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Adamax } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Adamax([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Adamax extends Optimizer<AdamaxOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<AdamaxOptions>[], options: AdamaxOptions & OptimizerConfig = {}) {
    super('Adamax', adamax, params, options);
  }
}
