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
 * g ← ±∇L (+ λθ unless decoupled);  m_t, v_t as in Adam;  ρ_∞ = 2/(1−β₂) − 1;  ρ_t = ρ_∞ − 2tβ₂ᵗ/(1−β₂ᵗ)
 *
 * ρ_t > 5: θ ← θ − η · m_t/(1−β₁ᵗ) · r_t · √(1−β₂ᵗ)/(√v_t + ε), r_t = √((ρ_t−4)(ρ_t−2)ρ_∞/((ρ_∞−4)(ρ_∞−2)ρ_t));
 * otherwise θ ← θ − η · m_t/(1−β₁ᵗ)  (− ηλθ if decoupled)
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
