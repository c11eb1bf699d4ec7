import { DLArgumentError } from '@dl/core';
import { scale } from '../transforms/scale.js';
import { addDecayedWeights } from '../transforms/add-decayed-weights.js';
import { checkBool, type GradientTransformation, type Hyper } from '../types.js';

/** Options shared by the optimizers that follow PyTorch's `maximize` and `weight_decay`. */
export interface CommonOptions {
  /** Learning rate η (a number or a schedule). */
  lr?: Hyper;
  /** Weight decay λ (a number or a schedule). */
  weightDecay?: Hyper;
  /** Maximize the objective instead of minimizing it (the gradient's sign is flipped first). Default false. */
  maximize?: boolean;
}

/** [scale(−1)] when maximizing, else []. */
export function maximizeStep(where: string, maximize: unknown): GradientTransformation[] {
  return checkBool(where, 'maximize', maximize ?? false) ? [scale(-1)] : [];
}

/** [addDecayedWeights(λ)] unless λ is the number 0. */
export function decayStep(weightDecay: Hyper): GradientTransformation[] {
  return weightDecay === 0 ? [] : [addDecayedWeights(weightDecay)];
}

/** Throws unless `lr` was given (PyTorch's SGD has no default learning rate). */
export function requireLr(where: string, lr: unknown): void {
  if (lr === undefined) throw new DLArgumentError(where, 'lr', 'given (there is no default learning rate)', lr);
}
