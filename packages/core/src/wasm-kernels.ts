import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { MAX_KERNEL_THREADS, poolSupported, startPool, stopPool, type KernelPool } from './wasm-pool.js';
import { KERNELS_SHARED_WASM_BASE64, KERNELS_WASM_BASE64 } from './wasm/kernels-wasm.js';

// @dl/core's own WebAssembly SIMD kernels for tfjs's wasm backend (C sources in src/wasm/, one module
// of ~7 KB built by scripts/build-wasm-kernels.mjs): matrix products (wasm-gemm.ts), GELU (wasm-gelu.ts)
// and sums over leading axes (wasm-sum.ts). The module is instantiated on the backend's own memory, so a
// kernel reads its inputs and writes its output where tfjs keeps them: no copies. Its stack and the
// products' packing scratch are blocks of the backend's malloc. With tfjs-backend-wasm's threaded build
// that memory is shared, and a pool of workers (wasm-pool.ts) instantiates the module on it too,
// splitting the products.

/** What the module exports. */
export interface KernelExports {
  gemm_rows(batch: number, m: number, n: number, k: number, a: number, ta: number, strideA: number, b: number, tb: number, strideB: number, c: number, scratch: number, i0: number, i1: number): void;
  gemm(batch: number, m: number, n: number, k: number, a: number, ta: number, strideA: number, b: number, tb: number, strideB: number, c: number, scratch: number): void;
  gelu(n: number, x: number, y: number): void;
  gelu_grad(n: number, x: number, dy: number, dx: number): void;
  sum_rows(rows: number, cols: number, x: number, out: number): void;
  segment_sum_rows(n: number, width: number, segments: number, x: number, ids: number, out: number): void;
  im2col(...geometryThenPointers: number[]): void;
  col2im(...geometryThenPointers: number[]): void;
  max_pool(...geometryThenPointers: number[]): void;
  adam_step(n: number, g: number, m: number, v: number, b1: number, c1: number, b2: number, c2: number, eps: number, scale: number, mOut: number, vOut: number, u: number): void;
  relu_grad(n: number, x: number, dy: number, dx: number): void;
  max_pool_grad(n: number, hw: number, c: number, ohw: number, dy: number, idx: number, dx: number): void;
  depthwise_filter_grad(...geometryMultiplierThenPointers: number[]): void;
  depthwise_input_grad(...geometryMultiplierThenPointers: number[]): void;
  layer_norm(rows: number, cols: number, x: number, gamma: number, beta: number, eps: number, y: number): void;
  __stack_pointer: WebAssembly.Global;
}

/** The module instantiated on one wasm backend's memory. */
export interface Kernels {
  exports: KernelExports;
  /** The worker pool on the same memory, when threads run (null: the calling thread only). */
  pool: KernelPool | null;
  /** A block of the backend's heap for packing (byte offset), and its size in bytes. */
  scratch: number;
  scratchBytes: number;
  scratchBlock?: number;
}

/** Bytes of stack each instance gets (the kernels use a few hundred). */
export const STACK_BYTES = 64 * 1024;

type Compiled = WebAssembly.Module | null | undefined; // undefined: not tried yet; null: unavailable here
const compiled: { plain: Compiled; shared: Compiled } = { plain: undefined, shared: undefined };
const pending: { plain: Promise<void> | null; shared: Promise<void> | null } = { plain: null, shared: null };
let enabled = true;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * The compiled module, for a plain or a shared memory. Compiled on first use, synchronously where the
 * engine allows it (Node; browsers may refuse synchronous compilation of more than 4 KB on the main
 * thread): then compilation continues asynchronously and tfjs's kernels run until it is done.
 */
export function compiledModule(kind: 'plain' | 'shared'): WebAssembly.Module | null {
  const have = compiled[kind];
  if (have !== undefined) return have;
  if (pending[kind]) return null;
  if (typeof WebAssembly !== 'object') return (compiled[kind] = null);
  const bytes = decodeBase64(kind === 'plain' ? KERNELS_WASM_BASE64 : KERNELS_SHARED_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) return (compiled[kind] = null); // no SIMD (or no threads) in this engine
  try {
    compiled[kind] = new WebAssembly.Module(bytes);
  } catch {
    pending[kind] = WebAssembly.compile(bytes).then(
      (m) => {
        compiled[kind] = m;
      },
      () => {
        compiled[kind] = null;
      },
    );
  }
  return compiled[kind] ?? null;
}

/** The backend's memory: the single-threaded build exports it, the threaded one creates it (shared). */
function backendMemory(wb: WasmBackendInternals): WebAssembly.Memory | null {
  const memory = wb.wasm.wasmMemory ?? wb.wasm.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
}

/** A block of `bytes` from the backend's malloc, 16-byte aligned (the block is 16 bytes larger). */
export function mallocAligned(wb: WasmBackendInternals, bytes: number): { block: number; start: number } {
  const block = wb.wasm._malloc(bytes + 16);
  if (!block) throw new Error(`@dl/core's wasm kernels: the wasm backend could not allocate ${bytes} bytes`);
  return { block, start: (block + 15) & ~15 };
}

const instances = new WeakMap<object, Kernels | null>(); // per backend module (a restarted backend has a new one)

/** The module instantiated on this backend's memory (made on first use), or null where it cannot run. */
export function kernelsFor(wb: WasmBackendInternals): Kernels | null {
  const have = instances.get(wb.wasm);
  if (have !== undefined) return have;
  const memory = backendMemory(wb);
  const module = memory ? compiledModule(isShared(memory) ? 'shared' : 'plain') : null;
  if (!memory || !module) {
    if (!memory) instances.set(wb.wasm, null);
    return null; // compiling: try again at the next kernel
  }
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
  exports.__stack_pointer.value = mallocAligned(wb, STACK_BYTES).start + STACK_BYTES; // the stack grows down
  const k: Kernels = { exports, pool: null, scratch: 0, scratchBytes: 0 };
  instances.set(wb.wasm, k);
  return k;
}

/** A scratch block of at least `bytes` in the backend's heap (kept and reused; replaced when too small). */
export function scratchFor(wb: WasmBackendInternals, k: Kernels, bytes: number): number {
  if (k.scratchBytes < bytes) {
    if (k.scratchBytes) wb.wasm._free(k.scratchBlock as number);
    const size = Math.max(bytes, 2 * k.scratchBytes);
    const { block, start } = mallocAligned(wb, size);
    k.scratchBlock = block;
    k.scratch = start;
    k.scratchBytes = size;
  }
  return k.scratch;
}

let poolInUse: { pool: KernelPool; kernels: Kernels } | null = null;

/**
 * Sets how many threads @dl/core's WebAssembly kernels (the matrix products of {@link matMul}, and so of
 * `linear`, `Linear` and every package) use on the active wasm backend, and resolves to the count now
 * running. `useBackend('wasm', { threads })` already calls it with its count; call it to change only
 * the kernels' count (e.g. `1`, to compare).
 *
 * The products split into bands of rows or ranges of the batch, which a pool of `worker_threads` workers
 * runs beside the calling thread on the backend's own memory; products under ~4 M multiply-adds stay on
 * the calling thread, where waking the workers costs more than it saves. This needs the memory to be
 * shared, i.e. tfjs-backend-wasm's threaded build (`useBackend('wasm', { threads: 2 })`, with
 * `tfjsThreads: 1` if tfjs's own kernels should stay on one thread), and Node: browsers forbid blocking
 * the main thread. Elsewhere it resolves to 1 and the kernels run on the calling thread. `threads` must be
 * an integer from 1 to 16 (more than the processors is allowed but only adds waiting). The workers are
 * unref'd: a script that used them exits by itself.
 *
 * @example
 * ```ts
 * import { useBackend, useWasmKernelThreads } from '@dl/core';
 * const report = await useBackend('wasm', { threads: 2, tfjsThreads: 1 });
 * console.log(report.summary, report.kernelThreads); // "wasm, 2 threads (tfjs's kernels: 1)" 2 (in Node)
 * await useWasmKernelThreads(1); // products back on the calling thread
 * ```
 */
export async function useWasmKernelThreads(threads: number): Promise<number> {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_KERNEL_THREADS) throw new DLArgumentError('useWasmKernelThreads', 'threads', `an integer from 1 to ${MAX_KERNEL_THREADS}`, threads);
  const wb = tf.getBackend() === 'wasm' ? wasmInternals(tf.backend()) : null;
  if (pending.shared) await pending.shared;
  if (pending.plain) await pending.plain;
  const k = wb && enabled ? kernelsFor(wb) : null;
  if (poolInUse && (poolInUse.kernels !== k || threads === 1 || poolInUse.pool.threads !== threads)) {
    const old = poolInUse;
    poolInUse = null;
    old.kernels.pool = null;
    await stopPool(old.pool);
  }
  const memory = wb ? backendMemory(wb) : null;
  if (!wb || !k || !memory || threads === 1 || !isShared(memory) || !poolSupported()) return 1;
  if (k.pool) return k.pool.threads;
  const stacks = Array.from({ length: threads - 1 }, () => mallocAligned(wb, STACK_BYTES).start + STACK_BYTES);
  const pool = await startPool(compiledModule('shared') as WebAssembly.Module, memory, stacks);
  k.pool = pool;
  poolInUse = { pool, kernels: k };
  return pool.threads;
}

/**
 * How many threads @dl/core's WebAssembly kernels (matrix products) run on now, on the active wasm
 * backend: 1 unless {@link useWasmKernelThreads} (or `useBackend('wasm', { threads })`) started more.
 *
 * @example
 * ```ts
 * import { useBackend, wasmKernelThreads } from '@dl/core';
 * await useBackend('wasm');
 * console.log(wasmKernelThreads()); // 1: the single-threaded build's memory is not shared
 * ```
 */
export function wasmKernelThreads(): number {
  const wb = tf.getBackend() === 'wasm' ? wasmInternals(tf.backend()) : null;
  return (wb && instances.get(wb.wasm)?.pool?.threads) || 1;
}

/**
 * Whether @dl/core's WebAssembly SIMD kernels run on the wasm backend: {@link matMul} (and so `linear`,
 * `Linear` and every package's products) and {@link gelu}. True where the JavaScript engine runs
 * WebAssembly SIMD, unless turned off with {@link useWasmKernels}.
 *
 * @example
 * ```ts
 * import { wasmKernelsActive } from '@dl/core';
 * console.log(wasmKernelsActive()); // true in Node 20 and current browsers
 * ```
 */
export function wasmKernelsActive(): boolean {
  return enabled && compiledModule('plain') !== null;
}

/**
 * Turns @dl/core's WebAssembly SIMD kernels on the wasm backend on or off (default on). Off, matrix
 * products go back to tfjs's BatchMatMul (plain 2-D products through XNNPACK, the rest through a scalar
 * loop) and GELU to tfjs's Erf and elementwise kernels. Returns the previous setting. Other backends are
 * not affected.
 *
 * @example
 * ```ts
 * import { useWasmKernels } from '@dl/core';
 * const previous = useWasmKernels(false); // tfjs's own kernels, e.g. to compare speeds
 * useWasmKernels(previous);
 * ```
 */
export function useWasmKernels(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new DLArgumentError('useWasmKernels', 'on', 'a boolean', on);
  const previous = enabled;
  enabled = on;
  return previous;
}

/** The parts of tfjs-backend-wasm 4.22's backend the kernels use (checked before every use). */
export interface WasmBackendInternals {
  dataIdMap: { get(id: object): { memoryOffset?: number } | undefined };
  wasm: { HEAPU8: Uint8Array; _malloc(bytes: number): number; _free(pointer: number): void; asm?: { memory?: unknown }; wasmMemory?: unknown };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** Bytes per element of the dtypes the block-copy kernels (indexSelect, split) move in the heap. */
export const HEAP_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** The backend's internals with `makeOutput` for any dtype (the block-copy kernels' outputs). */
export interface HeapInternals extends WasmBackendInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** The wasm backend's internals, or null if this is not a backend the kernels know how to use. */
export function wasmInternals(backend: unknown): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  return b && b.dataIdMap && b.wasm?.HEAPU8 && typeof b.wasm._malloc === 'function' && typeof b.wasm._free === 'function' && typeof b.makeOutput === 'function' ? (b as WasmBackendInternals) : null;
}

/** Whether a kernel can run now: wasm backend, kernels on and loaded, float32 inputs. */
export function kernelsUsable(...inputs: tf.Tensor[]): boolean {
  if (tf.getBackend() !== 'wasm' || !enabled || !inputs.every((t) => t.dtype === 'float32')) return false;
  const wb = wasmInternals(tf.backend());
  return wb !== null && kernelsFor(wb) !== null;
}

/** Where a tensor's values start in the wasm backend's heap (bytes). */
export function heapOffset(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
  if (typeof offset !== 'number') throw new Error("@dl/core's wasm kernels: an input is not in the wasm backend's memory");
  return offset;
}

/** A float32 tensor's values in the wasm backend's heap (a view: valid until the heap next grows). */
export function heapView(backend: WasmBackendInternals, t: tf.TensorInfo, size: number): Float32Array {
  const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
  if (typeof offset !== 'number') throw new Error("@dl/core's wasm kernels: an input is not in the wasm backend's memory");
  return new Float32Array(backend.wasm.HEAPU8.buffer, offset, size);
}

/**
 * Runs an elementwise function of the module inside a wasm kernel: makes `outputs` float32 tensors of the
 * first input's shape, then, when they are not empty, calls `call` with the module's exports, the element
 * count and the heap offsets of the inputs and outputs. The offsets are read after every output is
 * allocated, since an allocation may grow (and move) the heap (package-internal).
 */
export function runElementwise(backend: unknown, inputs: tf.TensorInfo[], outputs: number, call: (k: KernelExports, n: number, ins: number[], outs: number[]) => void): tf.TensorInfo[] {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const k = kernelsFor(wb)!;
  const shape = inputs[0].shape;
  const n = shape.reduce((a, b) => a * b, 1);
  const outs = Array.from({ length: outputs }, () => wb.makeOutput(shape, 'float32')); // allocates: offsets after this
  if (n > 0) call(k.exports, n, inputs.map((t) => heapOffset(wb, t)), outs.map((o) => heapOffset(wb, o)));
  return outs;
}

const wrapped = new Set<string>();

/**
 * Replaces the wasm kernel `name` with one that runs `fast` first and the original kernel whenever `fast`
 * returns null. Idempotent; a no-op while no such kernel is registered. Returns whether it is wrapped
 * (package-internal: wasm-sum.ts and wasm-shared-buffers.ts use it).
 */
export function wrapKernel(name: string, fast: (args: Parameters<tf.KernelFunc>[0]) => tf.TensorInfo | null): boolean {
  if (wrapped.has(name)) return true;
  const original = tf.getKernel(name, 'wasm');
  if (!original) return false;
  wrapped.add(name);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({ ...original, kernelFunc: (args) => fast(args) ?? original.kernelFunc(args) });
  return true;
}

/** Whether the wasm kernel `name` is wrapped by {@link wrapKernel} (package-internal: tests use it). */
export function kernelWrapped(name: string): boolean {
  return wrapped.has(name);
}
