import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapView, kernelsFor, kernelWrapped, wasmInternals, wasmKernelsActive, wrapKernel, type WasmBackendInternals } from './wasm-kernels.js';

// Sums over leading axes on tfjs's wasm backend in @dl/core's SIMD module (src/wasm/reduce.c). tfjs 4.22's
// wasm Sum reduces only innermost axes natively and transposes the input first otherwise (~2–3 ms for
// 768 × 512 values): every bias gradient (dy summed over the batch rows) and LayerNorm's gain and shift
// gradients take that path. @dl/core wraps tfjs's wasm Sum kernel: float32 sums over leading axes run
// in the module (one pass, four columns at a time), everything else goes to tfjs's kernel unchanged.
// The same goes for UnsortedSegmentSum (the gradient of a gather), which tfjs-backend-wasm lacks: the
// kernel registered for it (@dl/core's cpu fallback) is wrapped, and float32 sums run in the module.

/**
 * Wraps tfjs's wasm `Sum` kernel so that float32 sums over leading axes run in @dl/core's module
 * (package-internal: `useBackend('wasm')` and the first use of the kernels install it). Idempotent.
 */
export function installWasmSum(): void {
  wrapKernel('Sum', sumLeading);
}

/** Whether tfjs's wasm Sum kernel is wrapped (package-internal: tests use it). */
export function wasmSumInstalled(): boolean {
  return kernelWrapped('Sum');
}

/**
 * Wraps the wasm `UnsortedSegmentSum` kernel (@dl/core's cpu fallback, registered by `useBackend`) so
 * that float32 segment sums run in @dl/core's module (package-internal). Idempotent; a no-op while no
 * such kernel is registered.
 */
export function installWasmSegmentSum(): void {
  wrapKernel('UnsortedSegmentSum', segmentSum);
}

/** Whether the wasm UnsortedSegmentSum kernel is wrapped (package-internal: tests use it). */
export function wasmSegmentSumInstalled(): boolean {
  return kernelWrapped('UnsortedSegmentSum');
}

/** The segment sum in the module, or null when the wrapped kernel should run. */
function segmentSum({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const x = inputs.x as tf.TensorInfo;
  const ids = inputs.segmentIds as tf.TensorInfo;
  const segments = attrs?.numSegments as number;
  // tfjs's op takes 1-D ids, one per row of x (its first axis).
  if (x.dtype !== 'float32' || ids.dtype !== 'int32' || !wasmKernelsActive() || ids.shape.length !== 1 || x.shape.length < 1 || ids.shape[0] !== x.shape[0]) return null;
  const wb = wasmInternals(backend) as WasmBackendInternals | null;
  const g = wb ? kernelsFor(wb) : null;
  if (!wb || !g) return null;
  const n = ids.shape[0];
  const rest = x.shape.slice(1);
  const width = rest.reduce((a, b) => a * b, 1);
  const out = wb.makeOutput([segments, ...rest], 'float32'); // allocates: offsets after this
  if (segments * width > 0) g.exports.segment_sum_rows(n, width, segments, n * width > 0 ? heapOffset(wb, x) : 0, n > 0 ? heapOffset(wb, ids) : 0, heapOffset(wb, out));
  return out;
}

/** The sum in the module, or null when tfjs's kernel should run (not float32, not leading axes, kernels off). */
function sumLeading({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || !wasmKernelsActive()) return null;
  const axes = [...new Set(tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape))].sort((a, b) => a - b);
  const k = axes.length;
  const wb = wasmInternals(backend) as WasmBackendInternals | null;
  const g = wb ? kernelsFor(wb) : null;
  if (!wb || !g) return null;
  // An empty input sums to zeros over any axes: tfjs 4.22's wasm Sum leaves its output uninitialised then.
  if (x.shape.some((d) => d === 0) && k > 0) {
    const kept = x.shape.flatMap((d, a) => (axes.includes(a) ? (attrs?.keepDims ? [1] : []) : [d]));
    const out = wb.makeOutput(kept, 'float32');
    const size = kept.reduce((a, b) => a * b, 1);
    if (size > 0) heapView(wb, out, size).fill(0);
    return out;
  }
  // Leading axes only, and not all of them (tfjs sums everything in one native pass already).
  if (k === 0 || k === x.shape.length || axes.some((a, i) => a !== i)) return null;
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(k);
  const cols = rest.reduce((a, b) => a * b, 1);
  const out = wb.makeOutput(attrs?.keepDims ? [...Array(k).fill(1), ...rest] : rest, 'float32'); // allocates: offsets after this
  if (cols > 0) g.exports.sum_rows(rows, cols, heapOffset(wb, x), heapOffset(wb, out));
  return out;
}
