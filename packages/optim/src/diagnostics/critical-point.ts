import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, checkNumber, ensureGradients, isTensor } from '@dl/core';
import { hessian } from './hessian.js';
import { symmetricEigen } from './eigen.js';
import { checkKeys } from '../types.js';

/** What {@link criticalPoint} found. */
export type CriticalPointKind = 'local minimum' | 'local maximum' | 'saddle point' | 'degenerate' | 'not critical';

/** Options of {@link criticalPoint}. */
export interface CriticalPointOptions {
  /** The gradient norm below which the point counts as critical. Default 1e-4. */
  gradTol?: number;
  /** Eigenvalues with |λ| ≤ eigTol·max|λ| (or ≤ eigTol when all are tiny) count as zero. Default 1e-6. */
  eigTol?: number;
  /** Largest number of parameters. Default 1024. */
  maxSize?: number;
}

/** The report of {@link criticalPoint}. */
export interface CriticalPointReport {
  /** The classification. */
  kind: CriticalPointKind;
  /** ‖∇f(x)‖. */
  gradNorm: number;
  /** The Hessian's eigenvalues, ascending. */
  eigenvalues: number[];
  /** For a saddle point: the unit eigenvector of the most negative eigenvalue. Moving along it (either sign) lowers f: L(θ'+εu) ≈ L(θ') + ½ε²λ_min. */
  escapeDirection?: number[];
  /** f(x). */
  value: number;
}

/**
 * Tells a local minimum, a local maximum and a saddle point apart, by the second-derivative test: at a critical
 * point (g = 0) the Taylor expansion is L(θ) ≈ L(θ') + ½(θ−θ')ᵀH(θ−θ'), so the Hessian's eigenvalues
 * decide: all positive → local minimum; all negative → local maximum; both signs → saddle point, and the
 * eigenvector u of a negative eigenvalue λ is an escape direction (L(θ'+εu) ≈ L(θ') + ½λε² < L(θ')).
 * A zero eigenvalue makes the second-order test inconclusive (`'degenerate'`); a gradient above `gradTol`
 * gives `'not critical'`. `f` takes the parameters as one flat vector `x`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { criticalPoint } from '@dl/optim';
 * // f(x, y) = x² − y²: a saddle at the origin, escape along ±y.
 * const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.square(v), tf.tensor1d([1, -1]))) as tf.Scalar;
 * const r = await criticalPoint(f, tf.tensor1d([0, 0])); // { kind: 'saddle point', escapeDirection: [0, ±1], … }
 * ```
 */
export async function criticalPoint(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, options: CriticalPointOptions = {}): Promise<CriticalPointReport> {
  if (typeof f !== 'function') throw new DLArgumentError('criticalPoint', 'f', 'a function returning a scalar tensor', f);
  if (!isTensor(x, 'criticalPoint', 'x') || x.rank !== 1) throw new DLArgumentError('criticalPoint', 'x', 'a rank-1 tensor (flatten the parameters)', x);
  checkKeys('criticalPoint', options, ['gradTol', 'eigTol', 'maxSize']);
  const gradTol = checkNumber('criticalPoint', 'gradTol', options.gradTol ?? 1e-4, 0);
  const eigTol = checkNumber('criticalPoint', 'eigTol', options.eigTol ?? 1e-6, 0);
  ensureGradients();
  const { value, grad } = tf.tidy(() => {
    const vg = tf.valueAndGrad(f)(x);
    return { value: vg.value, grad: tf.sqrt(tf.sum(tf.square(vg.grad))) };
  });
  const [v, g] = [(await value.data())[0], (await grad.data())[0]];
  tf.dispose([value, grad]);
  const H = await hessian(f, x, options.maxSize ?? 1024);
  const { values, vectors } = symmetricEigen(H, x.size);
  const scale = Math.max(...values.map(Math.abs));
  const zero = scale <= eigTol ? eigTol : eigTol * scale;
  const pos = values.filter((l) => l > zero).length;
  const neg = values.filter((l) => l < -zero).length;
  let kind: CriticalPointKind;
  if (g > gradTol) kind = 'not critical';
  else if (pos > 0 && neg > 0) kind = 'saddle point';
  else if (pos === values.length) kind = 'local minimum';
  else if (neg === values.length) kind = 'local maximum';
  else kind = 'degenerate';
  const report: CriticalPointReport = { kind, gradNorm: g, eigenvalues: values, value: v };
  if (kind === 'saddle point') report.escapeDirection = vectors[0];
  return report;
}
