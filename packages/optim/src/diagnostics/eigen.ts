import { DLArgumentError } from '@dl/core';

/** What {@link symmetricEigen} returns. */
export interface EigenResult {
  /** Eigenvalues, ascending. */
  values: number[];
  /** Unit eigenvectors, in the same order. */
  vectors: number[][];
}

/**
 * Eigenvalues (ascending) and unit eigenvectors of a symmetric n×n matrix (row-major, float64), by the
 * cyclic Jacobi method. Runs on the host; meant for Hessians of small models.
 *
 * @example
 * ```ts
 * import { symmetricEigen } from '@dl/optim';
 * const { values, vectors } = symmetricEigen(Float64Array.from([2, 1, 1, 2]), 2); // values [1, 3]
 * ```
 */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): EigenResult {
  if (!Number.isInteger(n) || n < 1 || matrix.length !== n * n) throw new DLArgumentError('symmetricEigen', 'matrix', `${n}×${n} = ${n * n} numbers`, matrix.length);
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const scale = Math.max(1e-300, ...Array.from(a, Math.abs));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (Math.sqrt(off) <= 1e-14 * scale) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  return {
    values: order.map((i) => a[i * n + i]),
    vectors: order.map((i) => Array.from({ length: n }, (_, k) => v[k * n + i])),
  };
}
