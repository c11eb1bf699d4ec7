import type * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '@dl/core';
import { emptyState, type GradientTransformation, type TransformState, type Updates } from './types.js';

/**
 * Composes gradient transformations left to right: the updates out of one are the input of the next,
 * and the state is the list of their states. `chain(clipByGlobalNorm(1), scaleByAdam(), addDecayedWeights(0.01),
 * scaleByLearningRate(1e-3))` is AdamW with clipping.
 *
 * @example
 * ```ts
 * import { chain, scaleByAdam, addDecayedWeights, scaleByLearningRate } from '@dl/optim';
 * const adamwLike = chain(scaleByAdam({ b1: 0.9, b2: 0.999 }), addDecayedWeights(1e-2), scaleByLearningRate(1e-3));
 * ```
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  transforms.forEach((t, i) => {
    if (t == null || typeof t.init !== 'function' || typeof t.update !== 'function') {
      throw new DLArgumentError('chain', `transforms[${i}]`, 'a GradientTransformation ({ init, update })', t);
    }
  });
  return {
    name: `chain(${transforms.map((t) => t.name).join(', ')})`,
    init(params: readonly tf.Tensor[]): TransformState {
      return { ...emptyState(), inner: transforms.map((t) => t.init(params)) };
    },
    update(updates: Updates, state: TransformState, params: readonly tf.Tensor[]) {
      if (state.inner.length !== transforms.length) {
        throw new DLArgumentError('chain.update', 'state', `a chain state with ${transforms.length} inner states`, state.inner.length);
      }
      let u = updates;
      const inner: TransformState[] = [];
      transforms.forEach((t, i) => {
        const r = t.update(u, state.inner[i], params);
        u = r.updates;
        inner.push(r.state);
      });
      return { updates: u, state: { ...emptyState(), inner } };
    },
  };
}

/**
 * The identity transformation (no state, updates unchanged): a neutral element for {@link chain}.
 *
 * @example
 * ```ts
 * import { chain, identity } from '@dl/optim';
 * const tx = chain(identity());
 * ```
 */
export function identity(): GradientTransformation {
  return {
    name: 'identity',
    init: () => emptyState(),
    update: (updates, state) => ({ updates, state }),
  };
}
