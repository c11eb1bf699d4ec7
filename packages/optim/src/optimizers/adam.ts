import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link adam} / {@link Adam} (PyTorch names, camelCase; PyTorch's defaults). */
export interface AdamOptions extends CommonOptions {
  /** Coefficients (β₁, β₂) of the running averages of g and g², numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** AMSGrad: use the maximum of past second moments. Default false. */
  amsgrad?: boolean;
}

/**
 * Adam (Kingma & Ba 2015, 'Adam: A Method for Stochastic Optimization'; AMSGrad: Reddi et al. 2018), as
 * `torch.optim.Adam`; RMSProp plus momentum. Weight decay is L2 (added to the gradient):
 *
 * $$
 * \begin{aligned}
 * g &\leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad m_t = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2)\,g^2, \\
 * \theta &\leftarrow \theta - \eta\,\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}
 * \end{aligned}
 * $$
 *
 * With AMSGrad, $v_t$ in the denominator is replaced by its running maximum $v_t^{\max} = \max(v_{t-1}^{\max}, v_t)$.
 *
 * Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, amsgrad false, maximize false.
 *
 * @example
 * ```ts
 * import { adam } from '@dl/optim';
 * const tx = adam({ lr: 1e-3, amsgrad: true });
 * ```
 */
export function adam(options: AdamOptions = {}): GradientTransformation {
  checkKeys('adam', options, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize']);
  const [b1, b2] = checkBetas('adam', options.betas ?? [0.9, 0.999]);
  const amsgrad = checkBool('adam', 'amsgrad', options.amsgrad ?? false);
  return chain(
    ...maximizeStep('adam', options.maximize),
    ...decayStep(checkHyper('adam', 'weightDecay', options.weightDecay ?? 0)),
    scaleByAdam({ b1, b2, eps: options.eps ?? 1e-8, amsgrad }),
    scaleByLearningRate(checkHyper('adam', 'lr', options.lr ?? 1e-3)),
  );
}

/**
 * {@link adam} bound to variables. See {@link Optimizer}. β₁ and β₂ may be schedules: torch's `OneCycleLR`
 * cycles β₁ inversely to the learning rate, which is `betas: [oneCycleMomentum(…), 0.999]` here.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Adam, oneCycle, oneCycleMomentum } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Adam([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * // One-cycle learning rate with β₁ cycled from 0.95 down to 0.85 and back, as OneCycleLR:
 * const cycled = new Adam([w], { lr: oneCycle({ maxValue: 0.01, totalSteps: 100 }), betas: [oneCycleMomentum({ totalSteps: 100 }), 0.999] });
 * await cycled.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<AdamOptions>[], options: AdamOptions & OptimizerConfig = {}) {
    super('Adam', adam, params, options);
  }
}
