import type * as tf from '@tensorflow/tfjs-core';
import { chain } from '../chain.js';
import { Optimizer, type OptimizerConfig, type ParamGroup } from '../optimizer.js';
import { scaleByLearningRate } from '../transforms/scale.js';
import { scaleByAdadelta } from '../transforms/scale-by-adadelta.js';
import { checkBetas, checkBool, checkHyper, checkKeys, type GradientTransformation } from '../types.js';
import { decayStep, maximizeStep, type CommonOptions } from './common.js';

/** Options of {@link adadelta} / {@link Adadelta} (PyTorch names, camelCase; PyTorch's defaults). */
export interface AdadeltaOptions extends CommonOptions {
  /** Decay ρ of the running averages. Default 0.9. */
  rho?: number;
  /** ε inside the square roots. Default 1e-6. */
  eps?: number;
}

/**
 * Adadelta (Zeiler 2012, 'ADADELTA: An Adaptive Learning Rate Method'), as `torch.optim.Adadelta`:
 *
 * $$
 * \begin{aligned}
 * g &\leftarrow \pm\nabla_\theta L + \lambda\theta, \qquad s_t = \rho s_{t-1} + (1-\rho)\,g^2, \\
 * \Delta &= \frac{\sqrt{d_{t-1}+\epsilon}}{\sqrt{s_t+\epsilon}}\,g, \qquad d_t = \rho d_{t-1} + (1-\rho)\,\Delta^2, \qquad \theta \leftarrow \theta - \eta\,\Delta
 * \end{aligned}
 * $$
 *
 * Defaults: lr 1.0, rho 0.9, eps 1e-6, weightDecay 0, maximize false.
 *
 * @example
 * ```ts
 * import { adadelta } from '@dl/optim';
 * const tx = adadelta({ rho: 0.95 });
 * ```
 */
export function adadelta(options: AdadeltaOptions = {}): GradientTransformation {
  checkKeys('adadelta', options, ['lr', 'rho', 'eps', 'weightDecay', 'maximize']);
  return chain(
    ...maximizeStep('adadelta', options.maximize),
    ...decayStep(checkHyper('adadelta', 'weightDecay', options.weightDecay ?? 0)),
    scaleByAdadelta({ rho: options.rho ?? 0.9, eps: options.eps ?? 1e-6 }),
    scaleByLearningRate(checkHyper('adadelta', 'lr', options.lr ?? 1.0)),
  );
}

/**
 * {@link adadelta} bound to variables. See {@link Optimizer}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Adadelta } from '@dl/optim';
 * const w = tf.variable(tf.tensor1d([1, -2]));
 * const opt = new Adadelta([w], {});
 * await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Adadelta extends Optimizer<AdadeltaOptions> {
  /**
   * @param params variables or parameter groups.
   * @param options defaults for every group and {@link OptimizerConfig}.
   */
  constructor(params: tf.Variable[] | ParamGroup<AdadeltaOptions>[], options: AdadeltaOptions & OptimizerConfig = {}) {
    super('Adadelta', adadelta, params, options);
  }
}
