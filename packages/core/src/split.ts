import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import { HEAP_BYTES, kernelsUsable, wasmInternals, type HeapInternals } from './wasm-kernels.js';

// Consecutive pieces of a tensor along one axis (PyTorch's `torch.split`, tfjs's `tf.split`). A
// Transformer splits its fused q/k/v projection, a SwiGLU its value and gate, rotary embeddings their two
// halves: all along the last axis, where a piece is not contiguous in memory. tfjs 4.22's wasm Slice
// copies such a piece element by element (~80 ns each: 8 ms to take 768 × 128 values out of 768 × 384, a
// quarter of a small GPT's training step), so on wasm each piece's rows are moved as whole blocks with
// `copyWithin` inside the backend's heap.

const KERNEL = 'DLSplit';
const CONCAT_KERNEL = 'DLConcat';

function kernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo[] {
  const wb = wasmInternals(backend) as HeapInternals;
  const x = inputs.x as tf.TensorInfo;
  const axis = attrs?.axis as number;
  const sizes = attrs?.sizes as number[];
  const outer = x.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const bytesPerIndex = x.shape.slice(axis + 1).reduce((a, b) => a * b, 1) * HEAP_BYTES[x.dtype];
  const rowBytes = x.shape[axis] * bytesPerIndex; // one outer row of x
  const outs = sizes.map((size) => wb.makeOutput(x.shape.map((d, i) => (i === axis ? size : d)), x.dtype)); // allocates: offsets after this
  const src = wb.dataIdMap.get(x.dataId)?.memoryOffset as number;
  const heap = wb.wasm.HEAPU8;
  let start = 0; // bytes into each outer row where the current piece starts
  sizes.forEach((size, j) => {
    const bytes = size * bytesPerIndex;
    const dst = wb.dataIdMap.get(outs[j].dataId)?.memoryOffset as number;
    if (bytes > 0) for (let o = 0; o < outer; o++) heap.copyWithin(dst + o * bytes, src + o * rowBytes + start, src + o * rowBytes + start + bytes);
    start += bytes;
  });
  return outs;
}

/** The inverse: pieces (inputs '0', '1', …) side by side along `axis`, row blocks again (tfjs's wasm Concat of inner axes goes element by element too). */
function concatKernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const wb = wasmInternals(backend) as HeapInternals;
  const pieces = Object.keys(inputs)
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => inputs[k] as tf.TensorInfo);
  const axis = attrs?.axis as number;
  const first = pieces[0];
  const outer = first.shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const bytesPerIndex = first.shape.slice(axis + 1).reduce((a, b) => a * b, 1) * HEAP_BYTES[first.dtype];
  const length = pieces.reduce((a, p) => a + p.shape[axis], 0);
  const rowBytes = length * bytesPerIndex; // one outer row of the result
  const out = wb.makeOutput(first.shape.map((d, i) => (i === axis ? length : d)), first.dtype); // allocates: offsets after this
  const dst = wb.dataIdMap.get(out.dataId)?.memoryOffset as number;
  const heap = wb.wasm.HEAPU8;
  let start = 0; // bytes into each outer row where the current piece goes
  for (const p of pieces) {
    const bytes = p.shape[axis] * bytesPerIndex;
    const src = wb.dataIdMap.get(p.dataId)?.memoryOffset as number;
    if (bytes > 0) for (let o = 0; o < outer; o++) heap.copyWithin(dst + o * rowBytes + start, src + o * bytes, src + (o + 1) * bytes);
    start += bytes;
  }
  return out;
}

/** Pieces of one dtype side by side along `axis` with the DLConcat kernel (each piece's gradient: its part, by DLSplit). */
function concatPieces(pieces: tf.Tensor[], axis: number): tf.Tensor {
  const inputs: tf.NamedTensorMap = {};
  pieces.forEach((p, i) => (inputs[String(i)] = p));
  return tf.engine().runKernel(CONCAT_KERNEL, inputs, { axis, sizes: pieces.map((p) => p.shape[axis]) }) as tf.Tensor;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: CONCAT_KERNEL, backendName: 'wasm', kernelFunc: concatKernel as unknown as tf.KernelFunc });
  // The gradient puts the pieces' gradients back side by side (as row blocks while the kernels are on).
  tf.registerGradient({
    kernelName: KERNEL,
    gradFunc: (dy, _saved, attrs) => ({
      x: () => {
        const parts = Array.isArray(dy) ? dy : [dy]; // one piece: tfjs passes its gradient alone
        const axis = attrs.axis as number;
        return kernelsUsable() && parts.every((p) => p.dtype === parts[0].dtype) ? concatPieces(parts, axis) : tf.concat(parts, axis);
      },
    }),
  });
  tf.registerGradient({
    kernelName: CONCAT_KERNEL,
    gradFunc: (dy, _saved, attrs) => {
      const g = dy as tf.Tensor;
      const axis = attrs.axis as number;
      const sizes = attrs.sizes as number[];
      const parts = split(g, sizes, axis);
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  });
}

/**
 * Consecutive pieces of `x` along `axis` (PyTorch's `torch.split(x, sizes, dim)`, tfjs's `tf.split`):
 * `sizes` pieces of equal length when it is a number (which must divide `x.shape[axis]`), else pieces of
 * the given lengths, which must add up to `x.shape[axis]` (one of them may be −1: the rest). On the wasm
 * backend each piece is copied as whole rows (tfjs 4.22's Slice there copies a piece that is not
 * contiguous element by element); elsewhere it is `tf.split`. Differentiable.
 *
 * @param x any tensor of rank ≥ 1.
 * @param sizes the number of equal pieces, or the length of each piece.
 * @param axis the axis to split (negative counts from the end). Default 0.
 * @returns the pieces, each with x's shape except `shape[axis]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { split } from '@dl/core';
 * const qkv = tf.tensor2d([[1, 2, 3, 4, 5, 6]]); // [1, 6]: a fused projection
 * const [q, k, v] = split(qkv, 3, -1); // [1, 2] each: [[1, 2]], [[3, 4]], [[5, 6]]
 * const [a, b] = split(qkv, [4, -1], 1); // [1, 4] and [1, 2]
 * split(qkv, 4, 1); // throws "split: sizes must …"
 * ```
 */
export function split(x: tf.Tensor, sizes: number | number[], axis = 0): tf.Tensor[] {
  if (!isTensor(x)) throw new DLArgumentError('split', 'x', 'a tf.Tensor', x);
  if (x.rank < 1) throw new DLArgumentError('split', 'x', 'a tensor of rank ≥ 1', `a scalar`);
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) throw new DLArgumentError('split', 'axis', `an integer in [${-x.rank}, ${x.rank - 1}] for x of rank ${x.rank}`, axis);
  const ax = axis < 0 ? axis + x.rank : axis;
  const length = x.shape[ax];
  let pieces: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes < 1 || length % sizes !== 0) {
      throw new DLArgumentError('split', 'sizes', `a positive integer dividing x.shape[${ax}] = ${length}, or a list of lengths`, sizes);
    }
    pieces = Array.from({ length: sizes }, () => length / sizes);
  } else {
    const rest = Array.isArray(sizes) ? sizes.filter((s) => s === -1).length : 0;
    const known = Array.isArray(sizes) ? sizes.filter((s) => s !== -1) : [];
    const sum = known.reduce((a, b) => a + b, 0);
    if (!Array.isArray(sizes) || sizes.length === 0 || rest > 1 || known.some((s) => !Number.isInteger(s) || s < 0) || (rest === 0 ? sum !== length : sum > length)) {
      throw new DLArgumentError('split', 'sizes', `a positive integer, or non-negative lengths adding up to x.shape[${ax}] = ${length} (one may be -1: the rest)`, sizes);
    }
    pieces = sizes.map((s) => (s === -1 ? length - sum : s));
  }
  // One piece is x itself (tfjs 4.22's gradient of a one-piece tf.split fails: it passes concat a lone tensor).
  if (pieces.length === 1) return [tf.clone(x)];
  if (HEAP_BYTES[x.dtype] !== undefined && kernelsUsable()) {
    register();
    return tf.engine().runKernel(KERNEL, { x }, { sizes: pieces, axis: ax }) as unknown as tf.Tensor[];
  }
  return tf.split(x, pieces, ax);
}
