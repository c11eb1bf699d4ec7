import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '@dl/core';
import { bumpCounts, checkBool, checkHyper, checkKeys, groupCount, mapUpdates, resolve, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link trace}. */
export interface TraceOptions {
  /** Momentum factor μ (a number or a schedule). Default 0.9. */
  momentum?: Hyper;
  /** Dampening τ: the new update enters the buffer scaled by (1 − τ). Default 0. */
  dampening?: number;
  /** Nesterov momentum: output u + μ·b instead of b. Default false. */
  nesterov?: boolean;
}

/**
 * Heavy-ball momentum as `torch.optim.SGD` computes it (Polyak 1964; Sutskever et al. 2013 for Nesterov):
 *
 * $$
 * b_1 = u_1, \qquad b_t = \mu b_{t-1} + (1-\tau)\,u_t, \qquad \text{output } \begin{cases} u_t + \mu b_t & \text{Nesterov} \\ b_t & \text{otherwise} \end{cases}
 * $$
 *
 * With a constant learning rate $\eta$ this equals the heavy-ball form $m_n = \lambda m_{n-1} - \eta g_{n-1}$ with
 * $m = -\eta b$ and $\lambda = \mu$.
 *
 * @example
 * ```ts
 * import { chain, trace, scaleByLearningRate } from '@dl/optim';
 * const sgdMomentum = chain(trace({ momentum: 0.9, nesterov: true }), scaleByLearningRate(0.1));
 * ```
 */
export function trace(options: TraceOptions = {}): GradientTransformation {
  checkKeys('trace', options, ['momentum', 'dampening', 'nesterov']);
  const momentum = checkHyper('trace', 'momentum', options.momentum ?? 0.9);
  const dampening = options.dampening ?? 0;
  if (typeof dampening !== 'number' || !Number.isFinite(dampening)) throw new DLArgumentError('trace', 'dampening', 'a finite number', dampening);
  const nesterov = checkBool('trace', 'nesterov', options.nesterov ?? false);
  if (nesterov && (dampening !== 0 || (typeof momentum === 'number' && momentum <= 0))) {
    throw new DLArgumentError('trace', 'nesterov', 'used with momentum > 0 and dampening 0 (as in PyTorch)', `momentum ${String(options.momentum ?? 0.9)}, dampening ${dampening}`);
  }
  return {
    name: 'trace',
    init: (params) => ({ slots: { momentum_buffer: params.map(() => null) }, numbers: { count: params.map(() => 0), step: [0] }, inner: [] }),
    update(updates, state) {
      const t = groupCount(state);
      const mu = resolve(momentum, t);
      const old = state.slots.momentum_buffer;
      const counts = state.numbers.count;
      const buffers = old.slice();
      const out = mapUpdates(updates, (u, i) => {
        // b = u on the first step (PyTorch clones the gradient), then μ·b + (1 − τ)·u.
        const b = counts[i] === 0 || old[i] === null ? tf.clone(u) : tf.add(tf.mul(old[i]!, mu), dampening === 0 ? u : tf.mul(u, 1 - dampening)); // [param shape]
        buffers[i] = b;
        return nesterov ? tf.add(u, tf.mul(b, mu)) : b; // [param shape]
      });
      return { updates: out, state: { slots: { momentum_buffer: buffers }, numbers: { count: bumpCounts(counts, updates), step: [t + 1] }, inner: [] } };
    },
  };
}
