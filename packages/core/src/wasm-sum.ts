import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, kernelsFor, wasmInternals, wasmKernelsActive, type WasmBackendInternals } from './wasm-kernels.js';

// Sums over leading axes on tfjs's wasm backend in @dl/core's SIMD module (src/wasm/reduce.c). tfjs 4.22's
// wasm Sum reduces only innermost axes natively and transposes the input first otherwise (~2–3 ms for
// 768 × 512 values): every bias gradient (dy summed over the batch rows) and LayerNorm's gain and shift
// gradients take that path. @dl/core wraps tfjs's wasm Sum kernel: float32 sums over leading axes run
// in the module (one pass, four columns at a time), everything else goes to tfjs's kernel unchanged.

let installed = false;

/** Whether tfjs's wasm Sum kernel is wrapped (package-internal: tests use it). */
export function wasmSumInstalled(): boolean {
  return installed;
}

/**
 * Wraps tfjs's wasm `Sum` kernel so that float32 sums over leading axes run in @dl/core's module
 * (package-internal: `useBackend('wasm')` and the first use of the kernels install it). Idempotent.
 */
export function installWasmSum(): void {
  if (installed) return;
  const original = tf.getKernel('Sum', 'wasm');
  if (!original) return; // tfjs-backend-wasm not loaded
  installed = true;
  tf.unregisterKernel('Sum', 'wasm');
  tf.registerKernel({ ...original, kernelFunc: (args) => sumLeading(args) ?? original.kernelFunc(args) });
}

/** The sum in the module, or null when tfjs's kernel should run (not float32, not leading axes, kernels off). */
function sumLeading({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo | null {
  const x = inputs.x as tf.TensorInfo;
  if (x.dtype !== 'float32' || !wasmKernelsActive()) return null;
  const axes = [...new Set(tf.util.parseAxisParam(attrs?.axis as number | number[], x.shape))].sort((a, b) => a - b);
  const k = axes.length;
  // Leading axes only, and not all of them (tfjs sums everything in one native pass already).
  if (k === 0 || k === x.shape.length || axes.some((a, i) => a !== i)) return null;
  const wb = wasmInternals(backend) as WasmBackendInternals | null;
  const g = wb ? kernelsFor(wb) : null;
  if (!wb || !g) return null;
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const rest = x.shape.slice(k);
  const cols = rest.reduce((a, b) => a * b, 1);
  const out = wb.makeOutput(attrs?.keepDims ? [...Array(k).fill(1), ...rest] : rest, 'float32'); // allocates: offsets after this
  if (cols > 0) g.exports.sum_rows(rows, cols, heapOffset(wb, x), heapOffset(wb, out));
  return out;
}
