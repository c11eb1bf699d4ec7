import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, matMul, Rng } from '@dl/core';
import { sh } from './shape.js';
import { checkOptionKeys, FAVOR_KEYS } from './option-keys.js';

/**
 * A feature map $\phi$ for linear attention: $\exp(q\cdot k) \approx \phi(q)\cdot\phi(k)$ (Katharopoulos et al. 2020). $\phi$ must be non-negative so the
 * normaliser $\sum_j \phi(q)\cdot\phi(k_j)$ stays positive.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { eluFeatureMap } from '@dl/attention';
 * eluFeatureMap.apply(tf.tensor2d([[-1, 2]]), true).print(); // [[0.3679, 3]]
 * ```
 */
export interface FeatureMap {
  /** Name for tables and errors. */
  readonly name: string;
  /** Output size m for input size d. */
  featureDim(d: number): number;
  /** φ(x): `[..., d]` → `[..., m]`. `isQuery` lets a map stabilise query rows (FAVOR+). */
  apply(x: tf.Tensor, isQuery: boolean): tf.Tensor;
}

/**
 * φ(x) = elu(x) + 1 (Katharopoulos et al., "Transformers are RNNs"): positive, m = d.
 *
 * @example
 * ```ts
 * import { linearAttention, eluFeatureMap } from '@dl/attention';
 * const attend = linearAttention({ featureMap: eluFeatureMap });
 * ```
 */
export const eluFeatureMap: FeatureMap = {
  name: 'elu+1',
  featureDim: (d) => d,
  apply: (x) => tf.tidy(() => tf.add(tf.elu(x), 1)),
};

/**
 * φ(x) = max(x, 0): m = d. A row of all-zero features gets an all-zero output (the normaliser has an ε).
 *
 * @example
 * ```ts
 * import { linearAttention, reluFeatureMap } from '@dl/attention';
 * const attend = linearAttention({ featureMap: reluFeatureMap });
 * ```
 */
export const reluFeatureMap: FeatureMap = {
  name: 'relu',
  featureDim: (d) => d,
  apply: (x) => tf.relu(x),
};

/** Options of {@link favorFeatureMap}. */
export interface FavorOptions {
  /** Seed of the random features. Default 0. */
  seed?: number;
  /** Orthogonal random features (blocks of d orthogonal rows, Gaussian norms). Default true. */
  orthogonal?: boolean;
}

/**
 * Performer's FAVOR+ positive random features (Choromanski et al. 2021), an unbiased estimate of the
 * softmax kernel $\exp(q\cdot k/\sqrt d)$:
 *
 * $$
 * \phi(x)_i = \frac{1}{\sqrt m}\exp\!\left(\omega_i\cdot x' - \frac{\lVert x'\rVert^2}{2}\right), \qquad x' = x / d^{1/4}, \qquad \omega_i \sim \mathcal N(0, I) \text{ (orthogonalised)}.
 * $$
 *
 * Query
 * rows subtract their own maximum before exp (a per-query constant that cancels in the normalisation);
 * keys are not shifted, so the same φ works for prefix sums and incremental decoding.
 *
 * @param dim the head size d.
 * @param nFeatures m, the number of random features (more = closer to softmax).
 *
 * @example
 * ```ts
 * import { favorFeatureMap, linearAttention } from '@dl/attention';
 * const attend = linearAttention({ featureMap: favorFeatureMap(16, 64, { seed: 1 }) });
 * ```
 */
export function favorFeatureMap(dim: number, nFeatures: number, options: FavorOptions = {}): FeatureMap {
  checkOptionKeys('favorFeatureMap', options, FAVOR_KEYS);
  checkInt('favorFeatureMap', 'dim', dim);
  checkInt('favorFeatureMap', 'nFeatures', nFeatures);
  const seed = checkInt('favorFeatureMap', 'options.seed', options.seed ?? 0, 0);
  const omega = randomFeatures(dim, nFeatures, options.orthogonal ?? true, new Rng(seed)); // host [m, d]
  const xScale = dim ** -0.25;
  return {
    name: `favor+${nFeatures}`,
    featureDim: (d) => {
      if (d !== dim) throw new DLArgumentError('favorFeatureMap', 'q', `of head size ${dim} (the map's dim)`, d);
      return nFeatures;
    },
    apply: (x, isQuery) =>
      tf.tidy(() => {
        if (sh(x)[x.rank - 1] !== dim) throw new DLArgumentError('favorFeatureMap', 'x', `of last dim ${dim}`, x);
        const xs = tf.mul(x, xScale); // [..., d]
        const proj = matMul(tf.reshape(xs, [-1, dim]), tf.tensor2d(omega, [nFeatures, dim]), false, true); // [n, m]
        const half = tf.mul(tf.sum(tf.square(tf.reshape(xs, [-1, dim])), -1, true), 0.5); // [n, 1]
        let e = tf.sub(proj, half); // [n, m]
        if (isQuery) e = tf.sub(e, tf.max(e, -1, true)); // [n, m]
        return tf.reshape(tf.mul(tf.exp(e), 1 / Math.sqrt(nFeatures)), [...x.shape.slice(0, -1), nFeatures]); // [..., m]
      }),
  };
}

function randomFeatures(d: number, m: number, orthogonal: boolean, rng: Rng): Float32Array {
  const out = new Float32Array(m * d);
  if (!orthogonal) {
    out.set(rng.normalArray(m * d));
    return out;
  }
  for (let start = 0; start < m; start += d) {
    // Gram–Schmidt on a d×d Gaussian block, rows rescaled to chi-distributed norms.
    const block: Float64Array[] = [];
    for (let r = 0; r < d; r++) {
      const g = Float64Array.from(rng.normalArray(d));
      for (const b of block) {
        let dot = 0;
        for (let i = 0; i < d; i++) dot += g[i] * b[i];
        for (let i = 0; i < d; i++) g[i] -= dot * b[i];
      }
      const n = Math.hypot(...g) || 1;
      block.push(g.map((x) => x / n));
    }
    for (let r = 0; r < d && start + r < m; r++) {
      const norm = Math.hypot(...rng.normalArray(d));
      for (let i = 0; i < d; i++) out[(start + r) * d + i] = block[r][i] * norm;
    }
  }
  return out;
}
