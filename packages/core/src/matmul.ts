import * as tf from '@tensorflow/tfjs-core';
import { checkShape, DLArgumentError } from './errors.js';
import { broadcastMatMul, wasmGemmHandles } from './wasm-gemm.js';
import { kernelsUsable } from './wasm-kernels.js';

/**
 * x·w for 2-D operands through tfjs's plain (untransposed) kernel, with a gradient that also uses only
 * plain products: dx = dy·wᵀ and dw = xᵀ·dy with the transposes made explicit. tfjs's own gradient of
 * `matMul` asks for `transposeA` / `transposeB` products, which wasm (tfjs 4.22) runs ~10× slower than
 * plain ones; an explicit transpose is a cheap copy.
 */
const plainMatMul = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x, w]);
  return {
    value: tf.matMul(x, w), // [m, n]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as tf.Tensor2D)]; // [m, k], [k, n]
    },
  };
});

function usePlain(): boolean {
  return tf.getBackend() === 'wasm';
}

/**
 * Matrix product with `tf.matMul`'s meaning (optional transposes, leading batch axes), fast on every
 * backend. On wasm it runs in @dl/core's own WebAssembly SIMD kernel (~35–40 GFLOP/s on one core, for
 * plain, transposed and batched products alike, forward and backward; tfjs 4.22's kernel reaches
 * ~15–20 GFLOP/s for a plain 2-D product and ~1.7 for the rest): see {@link useWasmKernels}. Elsewhere, and
 * on wasm for batch shapes that broadcast both ways, a batched `a` times a shared 2-D `b` is folded
 * into one 2-D product, other broadcast batch axes get a gradient summed over them (tfjs 4.22's own
 * gradient of a broadcast product has the wrong shape), and equal batch axes call `tf.matMul`.
 *
 * @param a `[..., m, k]` (or `[..., k, m]` with transposeA).
 * @param b `[..., k, n]` (or `[..., n, k]` with transposeB).
 * @returns `[..., m, n]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { matMul } from '@dl/core';
 * const x = tf.randomNormal([2, 5, 3]);
 * const w = tf.randomNormal([4, 3]);
 * const y = matMul(x, w, false, true); // [2, 5, 4]: x·wᵀ, one 2-D product on wasm
 * ```
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  checkShape('matMul', 'a', a, { minRank: 2, dtype: 'float32' });
  checkShape('matMul', 'b', b, { minRank: 2, dtype: 'float32' });
  const k = a.shape[transposeA ? a.rank - 2 : a.rank - 1];
  const kb = b.shape[transposeB ? b.rank - 1 : b.rank - 2];
  if (k !== kb) throw new DLArgumentError('matMul', 'b', `of inner size ${k} (a's ${transposeA ? 'rows' : 'columns'})`, b);
  if (k === 0) {
    // An empty inner dimension: zeros (webgpu's kernel leaves such an output uninitialised).
    const m = a.shape[transposeA ? a.rank - 1 : a.rank - 2];
    const n = b.shape[transposeB ? b.rank - 2 : b.rank - 1];
    const la = a.shape.slice(0, -2);
    const lb = b.shape.slice(0, -2);
    const r = Math.max(la.length, lb.length);
    const lead = Array.from({ length: r }, (_, i) => {
      const [da, db] = [la[i - r + la.length] ?? 1, lb[i - r + lb.length] ?? 1];
      return da === 1 ? db : da; // broadcasting: a 1 takes the other side's size (0 included)
    });
    return tf.zeros([...lead, m, n]);
  }
  // On wasm, @dl/core's own SIMD products take every shape they can (transposes and batches included).
  if (kernelsUsable(a, b) && wasmGemmHandles(a, b)) return broadcastMatMul(a, b, transposeA, transposeB);
  if (b.rank !== 2) {
    const same = a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]);
    return same ? tf.matMul(a, b, transposeA, transposeB) : broadcastMatMul(a, b, transposeA, transposeB);
  }
  const mm = (x: tf.Tensor2D, y: tf.Tensor2D) => (usePlain() ? plainMatMul(x, y) : tf.matMul(x, y)); // [m, n]
  return tf.tidy(() => {
    const w = (transposeB ? tf.transpose(b) : b) as tf.Tensor2D; // [k, n]
    if (a.rank === 2) return usePlain() ? plainMatMul((transposeA ? tf.transpose(a) : a) as tf.Tensor2D, w) : tf.matMul(a, b, transposeA, transposeB); // [m, n]
    // A batched a times a shared b: fold the batch axes into the rows (on every backend: it is one
    // larger product, and tfjs 4.22's gradient of a batched-by-2-D BatchMatMul has the wrong shape).
    const lead = a.shape.slice(0, -2);
    const at = transposeA ? tf.transpose(a, [...lead.keys(), a.rank - 1, a.rank - 2]) : a; // [..., m, k]
    const m = at.shape[at.rank - 2];
    const y = mm(tf.reshape(at, [-1, k]) as tf.Tensor2D, w); // [Π lead · m, n]
    return tf.reshape(y, [...lead, m, w.shape[1]]); // [..., m, n]
  });
}

/**
 * `x·Wᵀ + b` over the last axis of x (any leading shape), PyTorch's `F.linear`, with W `[out, in]`. Fast
 * on wasm in both passes (see {@link matMul}).
 *
 * @param x `[..., in]`.
 * @param weight `[out, in]`.
 * @param bias `[out]` or null.
 * @returns `[..., out]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { linear } from '@dl/core';
 * const y = linear(tf.ones([2, 3]), tf.ones([4, 3]), tf.zeros([4])); // [2, 4], every entry 3
 * ```
 */
export function linear(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor | null = null): tf.Tensor {
  checkShape('linear', 'weight', weight, { rank: 2 });
  checkShape('linear', 'x', x, { minRank: 1, last: weight.shape[1] });
  return tf.tidy(() => {
    const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, weight.shape[1] as number]); // [n, in]
    const y = matMul(x2, weight, false, true); // [n, out]
    const yb = bias ? tf.add(y, bias) : y; // [n, out]
    return x.rank === 2 ? yb : tf.reshape(yb, [...x.shape.slice(0, -1), weight.shape[0]]); // [..., out]
  });
}
