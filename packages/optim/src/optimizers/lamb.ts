import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdam } from '../transforms/scale-by-adam.js';
import { scaleByTrustRatio } from '../transforms/scale-by-trust-ratio.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link lamb} / {@link Lamb} (PyTorch names, camelCase; PyTorch's defaults). */
export interface LambOptions extends CommonOptions {
  /** Coefficients (β₁, β₂), numbers or schedules (torch's `OneCycleLR` cycles β₁: pass `oneCycleMomentum`). Default [0.9, 0.999]. */
  betas?: [Hyper, Hyper];
  /** ε added to the denominator. Default 1e-6. */
  eps?: number;
}

/**
 * LAMB, layer-wise adaptive moments (You et al. 2020, 'Large Batch Optimization for Deep Learning:
 * Training BERT in 76 minutes', Algorithm 2 with bias correction). Not in PyTorch; the fixtures use a
 * hand-written reference of the paper:
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L, \qquad r = \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon}, \qquad u = r + \lambda\theta, \qquad \theta \leftarrow \theta - \eta\,\frac{\lVert\theta\rVert}{\lVert u\rVert}\,u
 * $$
 *
 * with $m_t$, $v_t$ as in Adam, the norms taken per parameter tensor (the ratio is 1 when a norm is 0).
 *
 * Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-6, weightDecay 0.
 *
 * @example
 * ```ts
 * import { lamb } from '@dl/optim';
 * const tx = lamb({ lr: 2e-3, weightDecay: 0.01 });
 * ```
 */
export function lamb(options: LambOptions = {}): GradientTransformation {
  checkKeys('lamb', options, ['lr', 'betas', 'eps', 'weightDecay', 'maximize']);
  const [b1, b2] = checkBetas('lamb', options.betas ?? [0.9, 0.999]);
  return chain(
    ...maximizeStep('lamb', options.maximize),
    scaleByAdam({ b1, b2, eps: options.eps ?? 1e-6 }),
    ...decayStep(checkHyper('lamb', 'weightDecay', options.weightDecay ?? 0)),
    scaleByTrustRatio(),
    scaleByLearningRate(checkHyper('lamb', 'lr', options.lr ?? 1e-3)),
  );
}

/**
 * {@link lamb} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Lamb } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Lamb([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Lamb extends Optimizer<LambOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<LambOptions>[], options: LambOptions & OptimizerConfig = {}) {
    super('Lamb', lamb, params, options);
  }
}
