import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkShape, DLArgumentError } from '../errors.js';
import { normal, type Initializer } from '../init.js';
import { matMul } from '../matmul.js';
import { Module } from '../module.js';
import type { Rng } from '../random.js';
import { canCheckValues } from '../sync-read.js';

/** Options of {@link Embedding}. */
export interface EmbeddingOptions {
  /** This index's row starts at zero and gets no gradient (PyTorch's `padding_idx`). */
  paddingIdx?: number;
  /** Initialiser. Default PyTorch's: N(0, 1). */
  init?: Initializer;
  /** Generator for the initial values. */
  rng?: Rng;
}

const EMBEDDING_KEYS = ['paddingIdx', 'init', 'rng'] as const satisfies readonly (keyof EmbeddingOptions)[];

/**
 * A lookup table: integer ids `[...]` → vectors `[..., dim]`, weight `[numEmbeddings, dim]`. An id
 * outside [0, numEmbeddings) throws a {@link DLArgumentError} naming it and its position on backends that
 * read synchronously (cpu, wasm, tfjs-node); GPU backends (webgpu, webgl) skip that check, since it would
 * need a synchronous read: there tfjs's gather returns a row of zeros for such an id (checked on webgpu),
 * and the training goes on silently, so check ids on the host when they come from outside.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Embedding } from '@dl/core';
 * const emb = new Embedding(100, 16, { paddingIdx: 0 });
 * const v = emb.forward(tf.tensor2d([[1, 2, 0]], [1, 3], 'int32')); // [1, 3, 16]
 * ```
 */
export class Embedding extends Module {
  /** Weight, `[numEmbeddings, embeddingDim]`. */
  readonly weight: tf.Variable;
  /** The padding row, if any. */
  readonly paddingIdx: number | null;

  /**
   * @param numEmbeddings size of the vocabulary.
   * @param embeddingDim size of each vector.
   * @param options see {@link EmbeddingOptions}; unknown keys throw (`{ padding_idx }` is not `{ paddingIdx }`).
   */
  constructor(
    readonly numEmbeddings: number,
    readonly embeddingDim: number,
    options: EmbeddingOptions = {},
  ) {
    super();
    checkKeys('Embedding', options, EMBEDDING_KEYS);
    checkInt('Embedding', 'numEmbeddings', numEmbeddings);
    checkInt('Embedding', 'embeddingDim', embeddingDim);
    let pad = options.paddingIdx ?? null;
    if (pad !== null) {
      if (!Number.isInteger(pad) || pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new DLArgumentError('Embedding', 'paddingIdx', `an integer in [-${numEmbeddings}, ${numEmbeddings})`, pad);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    const init = (options.init ?? normal(0, 1))([numEmbeddings, embeddingDim], options.rng);
    const w = pad === null ? init : tf.tidy(() => tf.mul(init, rowMask(numEmbeddings, pad)));
    if (w !== init) init.dispose();
    this.weight = this.registerParameter('weight', w);
  }

  /**
   * Applies the layer.
   * @param ids int32 `[...]` with values in [0, numEmbeddings) → `[..., embeddingDim]`.
   */
  forward(ids: tf.Tensor): tf.Tensor {
    checkShape('Embedding', 'ids', ids, { dtype: 'int32' });
    if (canCheckValues()) {
      // tfjs's own error ("GatherV2: the index value 5 is not in [0, 4]") names neither the layer nor the argument.
      const values = ids.dataSync();
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v < 0 || v >= this.numEmbeddings) throw new DLArgumentError('Embedding', 'ids', `indices in [0, ${this.numEmbeddings})`, asIs(`${v} at flat position ${i}`));
      }
    }
    return tf.tidy(() => {
      const flat = tf.reshape(ids, [-1]) as tf.Tensor1D; // [n]
      const lookup = embeddingLookup(this.weight, flat, this.numEmbeddings, this.paddingIdx); // [n, dim]
      return tf.reshape(lookup, [...ids.shape, this.embeddingDim]); // [..., dim]
    });
  }
}

// Above this many one-hot elements (n · V) the gradient uses tfjs's UnsortedSegmentSum instead.
const ONE_HOT_LIMIT = 1 << 24;

/**
 * gather(w, ids) with the gradient dW = onehot(ids)ᵀ·dy (a plain matMul) on cpu and wasm, whose
 * UnsortedSegmentSum (tfjs's gather gradient) runs on the host and costs O(V·n·dim): it was a fifth of a
 * Transformer training step on wasm. The padding row's gradient is zero, as in PyTorch.
 */
function embeddingLookup(w: tf.Variable, flat: tf.Tensor1D, V: number, pad: number | null): tf.Tensor {
  // tf.oneHot needs a depth ≥ 2: a one-row table takes the segment sum.
  const viaOneHot = ['cpu', 'wasm'].includes(tf.getBackend()) && V >= 2 && flat.size * V <= ONE_HOT_LIMIT;
  if (pad === null && !viaOneHot) return tf.gather(w, flat); // [n, dim]
  return tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [wt, i, save] = args as [tf.Tensor, tf.Tensor1D, tf.GradSaveFunc];
    save([i]);
    return {
      value: tf.gather(wt, i), // [n, dim]
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const ids = saved[0] as tf.Tensor1D;
        let dw = viaOneHot
          ? // int32 one-hot, then cast: wasm's OneHot ignores a float32 dtype (tfjs 4.22) and hands back int bits.
            matMul(tf.transpose(tf.cast(tf.oneHot(ids, V), 'float32')), dy) // [V, n] · [n, dim] → [V, dim]
          : tf.unsortedSegmentSum(dy, ids, V); // [V, dim]
        if (pad !== null) dw = tf.mul(dw, rowMask(V, pad)); // [V, dim]
        return [dw, tf.zerosLike(ids)];
      },
    };
  })(w, flat);
}

/** `[n, 1]` ones with a zero at row `pad`. */
function rowMask(n: number, pad: number): tf.Tensor {
  const m = new Float32Array(n).fill(1);
  m[pad] = 0;
  return tf.tensor2d(m, [n, 1]);
}
