import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, checkNumber, DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import { kernelsUsable, runElementwise } from './wasm-kernels.js';

// One Adam step of one parameter in one pass on tfjs's wasm backend (src/wasm/optim.c): the same float32
// operations, in the same order, as the eleven tfjs kernels @dl/optim's scaleByAdam would run, so the
// numbers are the same and a small network's optimizer step stops being mostly kernel launches.

/** Constants of {@link adamStep}. */
export interface AdamStepOptions {
  /** β₁, the first moment's decay. */
  beta1: number;
  /** β₂, the second moment's decay. */
  beta2: number;
  /** Added to √v′ (already multiplied by any bias correction you fold into it). */
  epsilon: number;
  /** Multiplies m′ / (√v′ + epsilon) (e.g. √(1 − β₂ᵗ) / (1 − β₁ᵗ)). */
  scale: number;
}

/** What {@link adamStep} returns: new tensors, the caller's to dispose. */
export interface AdamStepResult {
  /** The new first moment m′. */
  m: tf.Tensor;
  /** The new second moment v′. */
  v: tf.Tensor;
  /** The step direction m′ / (√v′ + epsilon) · scale (multiply by the learning rate and subtract). */
  update: tf.Tensor;
}

const KEYS = ['beta1', 'beta2', 'epsilon', 'scale'];

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'DLAdamStep',
    backendName: 'wasm',
    kernelFunc: (({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }) => {
      const c = attrs as unknown as { b1: number; c1: number; b2: number; c2: number; eps: number; scale: number };
      const ins = [inputs.g, inputs.m, inputs.v] as tf.TensorInfo[];
      return runElementwise(backend, ins, 3, (k, n, [g, m, v], [mo, vo, u]) => k.adam_step(n, g, m, v, c.b1, c.c1, c.b2, c.c2, c.eps, c.scale, mo, vo, u));
    }) as unknown as tf.KernelFunc,
  });
}

/**
 * One Adam step of one parameter (Kingma & Ba 2015), the moments and the update together:
 *
 * m′ = β₁·m + (1 − β₁)·g,  v′ = β₂·v + (1 − β₂)·g²,  update = m′ / (√v′ + epsilon) · scale
 *
 * in float32, in that order (the order tfjs ops would take, so both give the same numbers). With
 * `epsilon = ε·√(1 − β₂ᵗ)` and `scale = √(1 − β₂ᵗ) / (1 − β₁ᵗ)` the update is PyTorch's bias-corrected
 * Adam direction (before the learning rate). On the wasm backend it is one pass in @dl/core's SIMD
 * module (@dl/optim's Adam, AdamW and their relatives use it); elsewhere the same tfjs ops. Not
 * differentiable (an optimizer's arithmetic). Returns new tensors; the inputs are unchanged.
 *
 * @param g the gradient, float32.
 * @param m the first moment, g's shape.
 * @param v the second moment, g's shape.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { adamStep } from '@dl/core';
 * const g = tf.tensor1d([0.5, -1]);
 * const zero = tf.zeros([2]);
 * // The first step (t = 1): the update is g / (|g| + ε), i.e. ≈ ±1.
 * const { m, v, update } = adamStep(g, zero, zero, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 * Math.sqrt(0.001), scale: Math.sqrt(0.001) / 0.1 });
 * ```
 */
export function adamStep(g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, options: AdamStepOptions): AdamStepResult {
  const where = 'adamStep';
  for (const [name, t] of [['g', g], ['m', m], ['v', v]] as const) {
    if (!isTensor(t)) throw new DLArgumentError(where, name, 'a tf.Tensor', t);
    if (t.dtype !== 'float32') throw new DLArgumentError(where, name, 'a float32 tensor', t);
    if (t !== g && t.shape.join(',') !== g.shape.join(',')) throw new DLArgumentError(where, name, `of g's shape [${g.shape.join(', ')}]`, t);
  }
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object { beta1, beta2, epsilon, scale }', options);
  checkKeys(where, options, KEYS);
  const b1 = checkNumber(where, 'beta1', options.beta1, 0, 1);
  const b2 = checkNumber(where, 'beta2', options.beta2, 0, 1);
  const eps = checkNumber(where, 'epsilon', options.epsilon, 0);
  const scale = checkNumber(where, 'scale', options.scale);
  if (kernelsUsable(g, m, v)) {
    register();
    // The constants as the float32 scalars tfjs ops would get (1 − β computed in double first, as there).
    const attrs = { b1: Math.fround(b1), c1: Math.fround(1 - b1), b2: Math.fround(b2), c2: Math.fround(1 - b2), eps: Math.fround(eps), scale: Math.fround(scale) };
    const [m2, v2, update] = tf.engine().runKernel('DLAdamStep', { g, m, v }, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
    return { m: m2, v: v2, update };
  }
  return tf.tidy(() => {
    const m2 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)); // [g's shape]
    const v2 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)); // [g's shape]
    const update = tf.mul(tf.div(m2, tf.add(tf.sqrt(v2), eps)), scale); // [g's shape]
    return { m: m2, v: v2, update };
  });
}
