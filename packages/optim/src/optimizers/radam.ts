import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByRadam } from '../transforms/scale-by-radam.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link radam} / {@link RAdam} (PyTorch names, camelCase; PyTorch's defaults). */
export interface RAdamOptions extends CommonOptions {
  /** Coefficients (β₁, β₂), numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Decoupled (AdamW-style) weight decay instead of L2, as PyTorch ≥ 2.1. Default false. */
  decoupledWeightDecay?: boolean;
}

/**
 * RAdam, rectified Adam (Liu et al. 2020, 'On the Variance of the Adaptive Learning Rate and Beyond'),
 * as `torch.optim.RAdam`:
 *
 * $$
 * \begin{aligned}
 * g &\leftarrow \pm\nabla_\theta L\ (+\lambda\theta \text{ unless decoupled}), \qquad \rho_\infty = \frac{2}{1-\beta_2} - 1, \qquad \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t}, \\
 * r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\,\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\,\rho_t}}, \\
 * \theta &\leftarrow \begin{cases} \theta - \eta\,\dfrac{m_t}{1-\beta_1^t}\, r_t\, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > 5 \\[1ex] \theta - \eta\,\dfrac{m_t}{1-\beta_1^t} & \text{otherwise} \end{cases} \quad (-\,\eta\lambda\theta \text{ if decoupled})
 * \end{aligned}
 * $$
 *
 * with $m_t$, $v_t$ as in Adam.
 *
 * Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.
 *
 * @example
 * ```ts
 * import { radam } from '@dl/optim';
 * const tx = radam({ lr: 1e-3 });
 * ```
 */
export function radam(options: RAdamOptions = {}): GradientTransformation {
  checkKeys('radam', options, ['lr', 'betas', 'eps', 'weightDecay', 'decoupledWeightDecay', 'maximize']);
  const [b1, b2] = checkBetas('radam', options.betas ?? [0.9, 0.999]);
  const wd = checkHyper('radam', 'weightDecay', options.weightDecay ?? 0);
  const decoupled = checkBool('radam', 'decoupledWeightDecay', options.decoupledWeightDecay ?? false);
  return chain(
    ...maximizeStep('radam', options.maximize),
    ...(decoupled ? [] : decayStep(wd)),
    scaleByRadam({ b1, b2, eps: options.eps ?? 1e-8 }),
    ...(decoupled ? decayStep(wd) : []),
    scaleByLearningRate(checkHyper('radam', 'lr', options.lr ?? 1e-3)),
  );
}

/**
 * {@link radam} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RAdam } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new RAdam([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class RAdam extends Optimizer<RAdamOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<RAdamOptions>[], options: RAdamOptions & OptimizerConfig = {}) {
    super('RAdam', radam, params, options);
  }
}
