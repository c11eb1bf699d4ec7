import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, checkInt, ensureGradients, isTensor } from '@dl/core';

/**
 * Hessian-vector products H·v of a scalar function at `xs`, by differentiating twice (Pearlmutter 1994):
 * H·v = ∇ₓ(∇ₓf(x) · v). `f` takes the tensors of `xs` (several parameter tensors are fine) and `vs` is
 * aligned with them. Costs about two gradient evaluations; never forms H. The caller owns the results.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { hvp } from '@dl/optim';
 * // f(x) = x₀² + 3x₀x₁ → H = [[2, 3], [3, 0]]
 * const f = (x: tf.Tensor) => { const [a, b] = tf.unstack(x); return tf.add(tf.square(a), tf.mul(3, tf.mul(a, b))) as tf.Scalar; };
 * const [hv] = hvp(f, [tf.tensor1d([1, 2])], [tf.tensor1d([1, 0])]); // [2, 3]
 * ```
 */
export function hvp(f: (...xs: tf.Tensor[]) => tf.Scalar, xs: tf.Tensor[], vs: tf.Tensor[]): tf.Tensor[] {
  if (typeof f !== 'function') throw new DLArgumentError('hvp', 'f', 'a function returning a scalar tensor', f);
  if (!Array.isArray(xs) || xs.length === 0) throw new DLArgumentError('hvp', 'xs', 'a non-empty array of tensors', xs);
  if (!Array.isArray(vs) || vs.length !== xs.length) throw new DLArgumentError('hvp', 'vs', `an array of ${xs.length} tensors (like xs)`, vs);
  xs.forEach((x, i) => {
    if (!isTensor(x, 'hvp', `xs[${i}]`)) throw new DLArgumentError('hvp', `xs[${i}]`, 'a tf.Tensor', x);
    if (!isTensor(vs[i], 'hvp', `vs[${i}]`) || vs[i].shape.join(',') !== x.shape.join(',')) throw new DLArgumentError('hvp', `vs[${i}]`, `a tensor of shape [${x.shape}]`, vs[i]);
  });
  ensureGradients();
  return tf.tidy(() => {
    const inner = (...ys: tf.Tensor[]): tf.Scalar => {
      const gs = tf.grads(f)(ys); // [shape of xs[i]] each
      return tf.addN(gs.map((g, i) => tf.sum(tf.mul(g, vs[i])))) as tf.Scalar; // []
    };
    return tf.grads(inner)(xs); // [shape of xs[i]] each
  });
}

/**
 * The full Hessian of `f` at a flat vector `x` (length n ≤ `maxSize`, default 1024) as a float64 row-major
 * n×n array, assembled column by column from {@link hvp} and symmetrised ((H + Hᵀ)/2). For small models:
 * the cost is n Hessian-vector products.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { hessian } from '@dl/optim';
 * const H = await hessian((x) => tf.sum(tf.square(x)) as tf.Scalar, tf.tensor1d([1, 2])); // [2, 0, 0, 2]
 * ```
 */
export async function hessian(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, maxSize = 1024): Promise<Float64Array> {
  if (!isTensor(x, 'hessian', 'x') || x.rank !== 1) throw new DLArgumentError('hessian', 'x', 'a rank-1 tensor (flatten the parameters)', x);
  checkInt('hessian', 'maxSize', maxSize);
  const n = x.size;
  if (n > maxSize) throw new DLArgumentError('hessian', 'x', `of length ≤ maxSize (${maxSize}); use hvp for larger problems`, x);
  const cols = tf.tidy(() => {
    const out: tf.Tensor[] = [];
    for (let j = 0; j < n; j++) {
      const e = tf.reshape(tf.oneHot(tf.tensor1d([j], 'int32'), n), [n]); // [n]
      out.push(hvp(f, [x], [tf.cast(e, 'float32')])[0]); // [n]
    }
    return tf.stack(out); // [n, n]: row j is H·e_j, i.e. column j of H
  });
  const data = await cols.data();
  cols.dispose();
  const H = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H[i * n + j] = (data[j * n + i] + data[i * n + j]) / 2;
  return H;
}
