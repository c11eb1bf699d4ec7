import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByNadam } from '../transforms/scale-by-nadam.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link nadam} / {@link NAdam} (PyTorch names, camelCase; PyTorch's defaults). */
export interface NAdamOptions extends CommonOptions {
  /** Coefficients (β₁, β₂), numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Momentum decay ψ. Default 4e-3. */
  momentumDecay?: number;
  /** Decoupled (AdamW-style) weight decay instead of L2, as PyTorch ≥ 2.1. Default false. */
  decoupledWeightDecay?: boolean;
}

/**
 * NAdam, Adam with Nesterov momentum (Dozat 2016, 'Incorporating Nesterov Momentum into Adam'), as
 * `torch.optim.NAdam`:
 *
 * $$
 * \begin{aligned}
 * g &\leftarrow \pm\nabla_\theta L\ (+\lambda\theta \text{ unless decoupled}), \qquad \mu_t = \beta_1\left(1 - \tfrac12\, 0.96^{t\psi}\right), \\
 * \theta &\leftarrow \theta - \eta\,\frac{\dfrac{1-\mu_t}{1-\prod_{i\le t}\mu_i}\,g + \dfrac{\mu_{t+1}}{1-\prod_{i\le t+1}\mu_i}\,m_t}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}\ \ (-\,\eta\lambda\theta \text{ if decoupled})
 * \end{aligned}
 * $$
 *
 * with $m_t$, $v_t$ as in Adam and $\psi$ the momentum decay. $\prod_{i\le t+1}\mu_i$ follows the paper and PyTorch ≥ 2.0; PyTorch 1.13 multiplied μ_t in twice there.
 * Defaults: lr 2e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0, momentumDecay 4e-3.
 *
 * @example
 * ```ts
 * import { nadam } from '@dl/optim';
 * const tx = nadam({ lr: 2e-3, weightDecay: 1e-2, decoupledWeightDecay: true });
 * ```
 */
export function nadam(options: NAdamOptions = {}): GradientTransformation {
  checkKeys('nadam', options, ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay', 'decoupledWeightDecay', 'maximize']);
  const [b1, b2] = checkBetas('nadam', options.betas ?? [0.9, 0.999]);
  const wd = checkHyper('nadam', 'weightDecay', options.weightDecay ?? 0);
  const decoupled = checkBool('nadam', 'decoupledWeightDecay', options.decoupledWeightDecay ?? false);
  return chain(
    ...maximizeStep('nadam', options.maximize),
    ...(decoupled ? [] : decayStep(wd)),
    scaleByNadam({ b1, b2, eps: options.eps ?? 1e-8, momentumDecay: options.momentumDecay ?? 4e-3 }),
    ...(decoupled ? decayStep(wd) : []),
    scaleByLearningRate(checkHyper('nadam', 'lr', options.lr ?? 2e-3)),
  );
}

/**
 * {@link nadam} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { NAdam } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new NAdam([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class NAdam extends Optimizer<NAdamOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<NAdamOptions>[], options: NAdamOptions & OptimizerConfig = {}) {
    super('NAdam', nadam, params, options);
  }
}
