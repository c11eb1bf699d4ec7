import * as tf from '@tensorflow/tfjs-core';
import { adamStep, checkNumber, wasmKernelsActive } from '@dl/core';
import { bumpCounts, checkBool, checkHyper, checkKeys, groupCount, mapUpdates, nextScheduleStep, resolve, scalarMemo, scheduleStep, zerosLike, type GradientTransformation, type Hyper } from '../types.js';

/** Options of {@link scaleByAdam}. */
export interface ScaleByAdamOptions {
  /** Decay of the first moment β₁ (a number or a schedule). Default 0.9. */
  b1?: Hyper;
  /** Decay of the second moment β₂ (a number or a schedule). Default 0.999. */
  b2?: Hyper;
  /** ε added to the denominator. Default 1e-8. */
  eps?: number;
  /** Use the running maximum of the second moment (AMSGrad, Reddi et al. 2018). Default false. */
  amsgrad?: boolean;
}

/**
 * Adam's scaling (Kingma & Ba 2015) with PyTorch's placement of ε:
 *
 * m_t = β₁m_{t−1} + (1−β₁)g,  v_t = β₂v_{t−1} + (1−β₂)g²,  (AMSGrad: v̂max_t = max(v̂max_{t−1}, v_t))
 *
 * u = (m_t / (1−β₁ᵗ)) / (√v_t / √(1−β₂ᵗ) + ε)
 *
 * computed as m_t·(√(1−β₂ᵗ)/(1−β₁ᵗ)) / (√v_t + ε√(1−β₂ᵗ)), which is the same number with fewer
 * full-size operations (on the wasm backend in one pass of @dl/core's `adamStep`, with the same float32 operations). Step counts are kept per parameter, like PyTorch's `state['step']`. β₁ and β₂ may
 * be schedules of the number of updates seen (as torch's `OneCycleLR` cycles β₁); each step uses their
 * current values, bias corrections included, as torch does.
 *
 * @example
 * ```ts
 * import { chain, scaleByAdam, scaleByLearningRate } from '@dl/optim';
 * const adam = chain(scaleByAdam({ b1: 0.9, b2: 0.999, eps: 1e-8 }), scaleByLearningRate(1e-3));
 * ```
 */
export function scaleByAdam(options: ScaleByAdamOptions = {}): GradientTransformation {
  checkKeys('scaleByAdam', options, ['b1', 'b2', 'eps', 'amsgrad']);
  const b1h = checkHyper('scaleByAdam', 'b1', options.b1 ?? 0.9, 0, 1, false, true);
  const b2h = checkHyper('scaleByAdam', 'b2', options.b2 ?? 0.999, 0, 1, false, true);
  const eps = checkNumber('scaleByAdam', 'eps', options.eps ?? 1e-8, 0);
  const amsgrad = checkBool('scaleByAdam', 'amsgrad', options.amsgrad ?? false);
  return {
    name: amsgrad ? 'scaleByAdam(amsgrad)' : 'scaleByAdam',
    init: (params) => ({
      slots: { exp_avg: zerosLike(params), exp_avg_sq: zerosLike(params), ...(amsgrad ? { max_exp_avg_sq: zerosLike(params) } : {}) },
      numbers: { count: params.map(() => 0), ...scheduleStep(b1h, b2h) },
      inner: [],
    }),
    update(updates, state) {
      const b1 = resolve(b1h, groupCount(state));
      const b2 = resolve(b2h, groupCount(state));
      const { exp_avg, exp_avg_sq, max_exp_avg_sq } = state.slots;
      const m = exp_avg.slice();
      const v = exp_avg_sq.slice();
      const vmax = max_exp_avg_sq?.slice();
      const counts = state.numbers.count;
      const c = scalarMemo();
      // On wasm, @dl/core's adamStep does the eleven elementwise operations below in one pass (same numbers).
      const fused = !vmax && tf.getBackend() === 'wasm' && wasmKernelsActive();
      const out = mapUpdates(updates, (g, i) => {
        const t = counts[i] + 1;
        const bc1 = 1 - b1 ** t;
        const bc2Sqrt = Math.sqrt(1 - b2 ** t);
        if (fused && g.dtype === 'float32') {
          const r = adamStep(g, exp_avg[i]!, exp_avg_sq[i]!, { beta1: b1, beta2: b2, epsilon: eps * bc2Sqrt, scale: bc2Sqrt / bc1 });
          [m[i], v[i]] = [r.m, r.v];
          return r.update; // [param shape]
        }
        m[i] = tf.add(tf.mul(exp_avg[i]!, c(b1)), tf.mul(g, c(1 - b1))); // [param shape]
        v[i] = tf.add(tf.mul(exp_avg_sq[i]!, c(b2)), tf.mul(tf.square(g), c(1 - b2))); // [param shape]
        let second = v[i]!;
        if (vmax) second = vmax[i] = tf.maximum(max_exp_avg_sq[i]!, v[i]!); // [param shape]
        const denom = tf.add(tf.sqrt(second), c(eps * bc2Sqrt)); // [param shape]
        return tf.mul(tf.div(m[i]!, denom), c(bc2Sqrt / bc1)); // [param shape]
      });
      return {
        updates: out,
        state: { slots: { exp_avg: m, exp_avg_sq: v, ...(vmax ? { max_exp_avg_sq: vmax } : {}) }, numbers: { count: bumpCounts(counts, updates), ...nextScheduleStep(state) }, inner: [] },
      };
    },
  };
}
