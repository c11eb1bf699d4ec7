import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link adamw} / {@link AdamW} (PyTorch names, camelCase; PyTorch's defaults). */
export interface AdamWOptions extends CommonOptions {
  /** Coefficients (β₁, β₂) of the running averages of g and g², numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** AMSGrad: use the maximum of past second moments. Default false. */
  amsgrad?: boolean;
}

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, 'Decoupled Weight Decay
 * Regularization'), as `torch.optim.AdamW`:
 *
 * with $m_t$, $v_t$ as in {@link adam}:
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L, \qquad \theta \leftarrow \theta - \eta\left(\frac{m_t/(1-\beta_1^t)}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon} + \lambda\theta\right)
 * $$
 *
 * (PyTorch writes the decay as $\theta \leftarrow \theta(1 - \eta\lambda)$ first: the same update.) Defaults: lr 1e-3, betas
 * [0.9, 0.999], eps 1e-8, weightDecay 1e-2, amsgrad false, maximize false.
 *
 * @example
 * ```ts
 * import { adamw, warmupCosine } from '@dl/optim';
 * const tx = adamw({ lr: warmupCosine({ peak: 3e-4, warmupSteps: 100, totalSteps: 1000 }), weightDecay: 0.1 });
 * ```
 */
export function adamw(options: AdamWOptions = {}): GradientTransformation {
  checkKeys('adamw', options, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize']);
  const [b1, b2] = checkBetas('adamw', options.betas ?? [0.9, 0.999]);
  const amsgrad = checkBool('adamw', 'amsgrad', options.amsgrad ?? false);
  return chain(
    ...maximizeStep('adamw', options.maximize),
    scaleByAdam({ b1, b2, eps: options.eps ?? 1e-8, amsgrad }),
    ...decayStep(checkHyper('adamw', 'weightDecay', options.weightDecay ?? 1e-2)),
    scaleByLearningRate(checkHyper('adamw', 'lr', options.lr ?? 1e-3)),
  );
}

/**
 * {@link adamw} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { AdamW } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new AdamW([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class AdamW extends Optimizer<AdamWOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<AdamWOptions>[], options: AdamWOptions & OptimizerConfig = {}) {
    super('AdamW', adamw, params, options);
  }
}
