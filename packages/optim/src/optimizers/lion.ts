import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByLion } from '../transforms/scale-by-lion.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation, type Hyper } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link lion} / {@link Lion} (PyTorch names, camelCase; PyTorch's defaults). */
export interface LionOptions extends CommonOptions {
  /** Coefficients (β₁, β₂), numbers or schedules: β₁ mixes momentum and gradient for the sign, β₂ decays the momentum. Default [0.9, 0.99]. */
  betas?: [Hyper, Hyper];
}

/**
 * Lion, 'EvoLved Sign Momentum' (Chen et al. 2023, 'Symbolic Discovery of Optimization Algorithms',
 * Algorithm 2). Not in PyTorch; the fixtures use a hand-written reference of the paper:
 *
 * $$
 * g \leftarrow \pm\nabla_\theta L, \qquad c = \beta_1 m_{t-1} + (1-\beta_1)\,g, \qquad \theta \leftarrow \theta - \eta\,(\operatorname{sign}(c) + \lambda\theta), \qquad m_t = \beta_2 m_{t-1} + (1-\beta_2)\,g
 * $$
 *
 * Weight decay is decoupled. Defaults (the paper's): lr 1e-4, betas [0.9, 0.99], weightDecay 0. Use an lr
 * 3–10× smaller and a weight decay 3–10× larger than for AdamW.
 *
 * @example
 * ```ts
 * import { lion } from '@dl/optim';
 * const tx = lion({ lr: 3e-5, weightDecay: 0.1 });
 * ```
 */
export function lion(options: LionOptions = {}): GradientTransformation {
  checkKeys('lion', options, ['lr', 'betas', 'weightDecay', 'maximize']);
  const [b1, b2] = checkBetas('lion', options.betas ?? [0.9, 0.99]);
  return chain(
    ...maximizeStep('lion', options.maximize),
    scaleByLion({ b1, b2 }),
    ...decayStep(checkHyper('lion', 'weightDecay', options.weightDecay ?? 0)),
    scaleByLearningRate(checkHyper('lion', 'lr', options.lr ?? 1e-4)),
  );
}

/**
 * {@link lion} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Lion } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Lion([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Lion extends Optimizer<LionOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<LionOptions>[], options: LionOptions & OptimizerConfig = {}) {
    super('Lion', lion, params, options);
  }
}
