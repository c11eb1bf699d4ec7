import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, heapView, kernelsFor, kernelsUsable, scratchFor, wasmInternals, type Kernels, type WasmBackendInternals } from './wasm-kernels.js';
import { runParts, type GemmPart } from './wasm-pool.js';
import { installWasmSum } from './wasm-sum.js';

// Matrix products for tfjs's wasm backend in @dl/core's WebAssembly SIMD module (src/wasm/gemm.c).
// tfjs 4.22's wasm BatchMatMul is fast (~15–20 GFLOP/s) only for a plain 2-D product and runs every
// batched or transposed one at ~1.7 GFLOP/s; this kernel runs all of them at ~35–45 GFLOP/s on one core.
// The module runs on the backend's own memory: it reads the operands and writes the product in place.
// With tfjs's threaded build (useBackend('wasm', { threads }), Node) large products are split over a
// pool of workers on that memory (wasm-pool.ts).

/** Products with fewer multiply-adds than this run on the calling thread even when a pool runs. */
let THREADED_MIN_MACS = 1 << 22;

/** Sets the threshold in multiply-adds and returns the previous one (package-internal: tests use it). */
export function setThreadedMinMacs(macs: number): number {
  const previous = THREADED_MIN_MACS;
  THREADED_MIN_MACS = macs;
  return previous;
}

const prod = (s: number[]) => s.reduce((a, b) => a * b, 1);

/**
 * `gemm` over `count` products on `threads` threads (the pool's, when the product is large enough): each
 * thread takes a range of the batch when there are at least as many products as threads, else a band of
 * rows (a multiple of the 4-row tile) of every product. Each thread packs into a scratch area of its own,
 * `scratchFloats` long, the t-th starting at `T + t·scratchFloats`. A, B, C and T are float indices into
 * the memory, strides in floats.
 */
function runGemm(g: Kernels, threads: number, count: number, m: number, n: number, k: number, A: number, ta: boolean, strideA: number, B: number, tb: boolean, strideB: number, C: number, T: number, scratchFloats: number): void {
  if (threads === 1) {
    g.exports.gemm(count, m, n, k, A * 4, ta ? 1 : 0, strideA, B * 4, tb ? 1 : 0, strideB, C * 4, T * 4);
    return;
  }
  const parts: GemmPart[] = [];
  if (count >= threads) {
    for (let t = 0; t < threads; t++) {
      const b0 = Math.floor((t * count) / threads);
      const b1 = Math.floor(((t + 1) * count) / threads);
      parts.push([b1 - b0, m, n, k, (A + b0 * strideA) * 4, ta ? 1 : 0, strideA, (B + b0 * strideB) * 4, tb ? 1 : 0, strideB, (C + b0 * m * n) * 4, (T + t * scratchFloats) * 4, 0, m]);
    }
  } else {
    const band = Math.ceil(m / threads / 4) * 4;
    for (let t = 0; t * band < m; t++) {
      parts.push([count, m, n, k, A * 4, ta ? 1 : 0, strideA, B * 4, tb ? 1 : 0, strideB, C * 4, (T + t * scratchFloats) * 4, t * band, Math.min(m, (t + 1) * band)]);
    }
  }
  runParts(g.pool as NonNullable<Kernels['pool']>, g.exports.gemm_rows, parts);
}

/** The kernel's name in tfjs's registry (registered for the wasm backend on first use). */
const KERNEL = 'DLMatMul';

/**
 * The kernel: op(a)·op(b) in the module, where a is `[..., m, k]` (`[..., k, m]` with transposeA) and b
 * `[..., k, n]` (`[..., n, k]` with transposeB); the leading axes are equal, or one side's have a single
 * element (shared across the batch). Writes `[..., m, n]` straight into the backend's output.
 */
function kernel({ inputs, backend, attrs }: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const g = kernelsFor(wb) as Kernels;
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const ta = attrs?.transposeA === true;
  const tb = attrs?.transposeB === true;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = a.shape[ta ? ra - 1 : ra - 2];
  const k = a.shape[ta ? ra - 2 : ra - 1];
  const n = b.shape[tb ? rb - 2 : rb - 1];
  const leadA = a.shape.slice(0, -2);
  const leadB = b.shape.slice(0, -2);
  const Sa = prod(leadA);
  const Sb = prod(leadB);
  const S = Math.max(Sa, Sb);
  const lead = Sa > Sb || (Sa === Sb && leadA.length >= leadB.length) ? leadA : leadB; // see wasmGemmHandles
  const out = wb.makeOutput([...lead, m, n], 'float32'); // allocates: read offsets and views after this
  if (S * m * n === 0) return out;
  if (k === 0) {
    heapView(wb, out, S * m * n).fill(0);
    return out;
  }
  const threads = g.pool && S * m * n * k >= THREADED_MIN_MACS ? g.pool.threads : 1;
  const scratch = Math.ceil(n / 8) * 8 * k + (ta ? m * k : 0); // floats of packing per thread
  const T = scratchFor(wb, g, 4 * scratch * threads) / 4; // may grow the heap: offsets stay valid
  const A = heapOffset(wb, a) / 4;
  const B = heapOffset(wb, b) / 4;
  const C = heapOffset(wb, out) / 4;
  runGemm(g, threads, S, m, n, k, A, ta, Sa > 1 ? m * k : 0, B, tb, Sb > 1 ? k * n : 0, C, T, scratch);
  return out;
}

let registered = false;

/**
 * Registers the kernel for wasm and its gradient (on first use: importing @dl/core registers nothing).
 * The gradient is lazy per input, so the tape computes only the operands' gradients it needs (no dX for
 * a first layer's input).
 */
function register(): void {
  if (registered) return;
  registered = true;
  installWasmSum(); // the bias gradients of the products' layers sum over leading axes
  tf.registerKernel({ kernelName: KERNEL, backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: KERNEL,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [sa, sb] = saved;
      const ta = attrs.transposeA === true;
      const tb = attrs.transposeB === true;
      const d = dy as tf.Tensor;
      // C = op(A)·op(B): dop(A) = dC·op(B)ᵀ and dop(B) = op(A)ᵀ·dC, written with the transposes folded in.
      return {
        a: () => unbroadcast(ta ? broadcastMatMul(sb, d, tb, true) : broadcastMatMul(d, sb, false, !tb), sa), // [..., k, m] or [..., m, k]
        b: () => unbroadcast(tb ? broadcastMatMul(d, sa, true, ta) : broadcastMatMul(sa, d, !ta, false), sb), // [..., n, k] or [..., k, n]
      };
    },
  });
}

/**
 * The gradient of a broadcast product with respect to one operand: summed over the leading axes that
 * operand did not have or had as 1.
 */
function unbroadcast(grad: tf.Tensor, like: tf.Tensor): tf.Tensor {
  if (grad.rank === like.rank && grad.shape.every((d, i) => d === like.shape[i])) return grad;
  const lead = grad.rank - 2;
  const offset = lead - (like.rank - 2);
  const axes: number[] = [];
  for (let i = 0; i < lead; i++) if (i < offset || (like.shape[i - offset] === 1 && grad.shape[i] !== 1)) axes.push(i);
  return tf.reshape(axes.length ? tf.sum(grad, axes) : grad, like.shape);
}

/** Whether this call runs in the module: wasm backend, module on, operands it takes. */
function inModule(a: tf.Tensor, b: tf.Tensor): boolean {
  return kernelsUsable(a, b) && wasmGemmHandles(a, b);
}

const differentiable = new Map<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

/** `tf.matMul` for one (ta, tb) pair with a gradient summed over broadcast batch axes. */
function broadcastProduct(ta: boolean, tb: boolean): (a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  const key = `${ta}${tb}`;
  let f = differentiable.get(key);
  if (!f) {
    f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
      save([a, b]);
      return {
        value: tf.matMul(a, b, ta, tb), // [..., m, n]
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sa, sb] = saved;
          const da = ta ? broadcastMatMul(sb, dy, tb, true) : broadcastMatMul(dy, sb, false, !tb); // [..., k, m] or [..., m, k]
          const db = tb ? broadcastMatMul(dy, sa, true, ta) : broadcastMatMul(sa, dy, !ta, false); // [..., n, k] or [..., k, n]
          return [unbroadcast(da, sa), unbroadcast(db, sb)];
        },
      };
    }) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
    differentiable.set(key, f);
  }
  return f;
}

/**
 * Whether the module can take this pair of operands: float32, with equal leading axes, or one side's
 * leading axes all 1 and no more of them than the other side has (then broadcasting gives the other
 * side's leading shape, which is what the product returns).
 */
export function wasmGemmHandles(a: tf.Tensor, b: tf.Tensor): boolean {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return false;
  const leadA = a.shape.slice(0, -2);
  const leadB = b.shape.slice(0, -2);
  if (leadA.length === leadB.length && leadA.every((d, i) => d === leadB[i])) return true;
  return (prod(leadA) === 1 && leadA.length <= leadB.length) || (prod(leadB) === 1 && leadB.length <= leadA.length);
}

/**
 * op(a)·op(b) with broadcast leading axes and a correct gradient for them (tfjs 4.22's own gradient of a
 * broadcast BatchMatMul has the wrong shape): in the SIMD module on wasm where it can run, through
 * `tf.matMul` otherwise. Package-internal: {@link matMul} is the public entry.
 */
export function broadcastMatMul(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): tf.Tensor {
  if (inModule(a, b)) {
    register();
    return tf.engine().runKernel(KERNEL, { a, b }, { transposeA: ta, transposeB: tb }) as tf.Tensor;
  }
  return broadcastProduct(ta, tb)(a, b);
}
