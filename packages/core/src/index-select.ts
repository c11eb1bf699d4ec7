import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import { HEAP_BYTES, kernelsUsable, wasmInternals, type HeapInternals } from './wasm-kernels.js';

// Rows of a tensor along one axis by a list of indices (PyTorch's `index_select`). Beam search reorders
// every cached key and value this way at every step; tfjs 4.22's wasm GatherV2 copies element by element
// (~35 ns each: 80 % of a cached beam-search step at 256 tokens), so on wasm the rows are moved as whole
// blocks with `copyWithin` inside the backend's heap.

const KERNEL = 'DLIndexSelect';

function kernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const wb = wasmInternals(backend) as HeapInternals;
  const x = inputs.x as tf.TensorInfo;
  const axis = attrs?.axis as number;
  const indices = attrs?.indices as number[];
  const shape = [...x.shape];
  const rows = shape[axis];
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const bytesPerRow = shape.slice(axis + 1).reduce((a, b) => a * b, 1) * HEAP_BYTES[x.dtype];
  shape[axis] = indices.length;
  const out = wb.makeOutput(shape, x.dtype); // allocates: read the offsets only after this
  const src = wb.dataIdMap.get(x.dataId)?.memoryOffset as number;
  const dst = wb.dataIdMap.get(out.dataId)?.memoryOffset as number;
  const heap = wb.wasm.HEAPU8;
  const n = indices.length;
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < n; r++) {
      const from = src + (o * rows + indices[r]) * bytesPerRow;
      heap.copyWithin(dst + (o * n + r) * bytesPerRow, from, from + bytesPerRow);
    }
  }
  return out;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
  // The gradient scatters dy's rows back, adding rows picked more than once.
  tf.registerGradient({
    kernelName: KERNEL,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => ({
      x: () =>
        tf.tidy(() => {
          const [x] = saved;
          const axis = attrs.axis as number;
          const perm = [axis, ...x.shape.keys()].filter((d, i) => i === 0 || d !== axis); // axis first
          const inverse = perm.map((_, i) => perm.indexOf(i));
          const moved = tf.transpose(dy as tf.Tensor, perm); // [n, ...]
          const summed = tf.unsortedSegmentSum(moved, tf.tensor1d(attrs.indices as number[], 'int32'), x.shape[axis]); // [rows, ...]
          return tf.transpose(summed, inverse); // x's shape
        }),
    }),
  });
}

/**
 * The slices of `x` at `indices` along `axis`, in that order (PyTorch's `x.index_select(axis, indices)`,
 * tfjs's `tf.gather` with a list of indices). Indices may repeat. On the wasm backend the slices are
 * copied as whole blocks (tfjs 4.22's GatherV2 there copies element by element, ~35 ns each): beam search
 * reorders its caches with it at every step. Differentiable.
 *
 * @param x any tensor of rank ≥ 1 (float32, int32 or bool).
 * @param indices integers in [0, x.shape[axis]).
 * @param axis the axis to select along (negative counts from the end). Default 0.
 * @returns x's shape with `shape[axis] = indices.length`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { indexSelect } from '@dl/core';
 * const x = tf.tensor2d([[1, 2], [3, 4], [5, 6]]);
 * indexSelect(x, [2, 0, 2]).print(); // [[5, 6], [1, 2], [5, 6]]
 * ```
 */
export function indexSelect(x: tf.Tensor, indices: readonly number[] | Int32Array, axis = 0): tf.Tensor {
  if (!isTensor(x, 'indexSelect', 'x')) throw new DLArgumentError('indexSelect', 'x', 'a tensor', x);
  if (x.rank === 0) throw new DLArgumentError('indexSelect', 'x', 'a tensor of rank ≥ 1', x);
  if (!Number.isInteger(axis) || axis < -x.rank || axis >= x.rank) throw new DLArgumentError('indexSelect', 'axis', `an integer in [${-x.rank}, ${x.rank})`, axis);
  const ax = axis < 0 ? axis + x.rank : axis;
  const rows = x.shape[ax];
  const list = Array.from(indices as ArrayLike<number>);
  if (!(Array.isArray(indices) || indices instanceof Int32Array) || list.some((i) => !Number.isInteger(i) || i < 0 || i >= rows)) {
    throw new DLArgumentError('indexSelect', 'indices', `integers in [0, ${rows}) (x's axis ${ax})`, indices);
  }
  if (HEAP_BYTES[x.dtype] !== undefined && tf.getBackend() === 'wasm' && kernelsUsable() && list.length > 0) {
    register();
    return tf.engine().runKernel(KERNEL, { x }, { axis: ax, indices: list }) as tf.Tensor;
  }
  return tf.tidy(() => tf.gather(x, tf.tensor1d(list, 'int32'), ax));
}
