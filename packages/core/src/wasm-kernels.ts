import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { KERNELS_WASM_BASE64 } from './wasm/kernels-wasm.js';

// @dl/core's own WebAssembly SIMD kernels for tfjs's wasm backend (C sources in src/wasm/, one module
// of ~5 KB built by scripts/build-wasm-kernels.mjs): matrix products (wasm-gemm.ts) and GELU
// (wasm-gelu.ts). The module has its own memory: a kernel copies its inputs from the backend's heap into
// it, runs, and copies the result into the backend's output tensor.

/** What the module exports. */
export interface KernelExports {
  gemm(batch: number, m: number, n: number, k: number, a: number, ta: number, strideA: number, b: number, tb: number, strideB: number, c: number, scratch: number): void;
  gelu(n: number, x: number, y: number): void;
  gelu_grad(n: number, x: number, dy: number, dx: number): void;
  __heap_base: WebAssembly.Global;
}

interface Kernels {
  exports: KernelExports;
  memory: WebAssembly.Memory;
}

let loaded: Kernels | null | undefined; // undefined: not tried yet; null: unavailable here
let pending: Promise<void> | null = null;
let enabled = true;

function decodeBase64(s: string): Uint8Array<ArrayBuffer> {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instantiate(module: WebAssembly.Module): Kernels {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { exports: instance.exports as unknown as KernelExports, memory };
}

/**
 * The module, compiled on first use. Synchronously where the engine allows it (Node; browsers may refuse
 * synchronous compilation of more than 4 KB on the main thread): then compilation continues
 * asynchronously and tfjs's kernels run until it is done.
 */
export function kernels(): Kernels | null {
  if (loaded !== undefined) return loaded;
  if (pending) return null;
  if (typeof WebAssembly !== 'object') return (loaded = null);
  const bytes = decodeBase64(KERNELS_WASM_BASE64);
  if (!WebAssembly.validate(bytes)) return (loaded = null); // no SIMD in this engine
  try {
    loaded = instantiate(new WebAssembly.Module(bytes));
  } catch {
    pending = WebAssembly.compile(bytes).then(
      (m) => {
        loaded = instantiate(m);
      },
      () => {
        loaded = null;
      },
    );
  }
  return loaded ?? null;
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
  return enabled && kernels() !== null;
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
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** The wasm backend's internals, or null if this is not a backend the kernels know how to use. */
export function wasmInternals(backend: unknown): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  return b && b.dataIdMap && b.wasm?.HEAPU8 && typeof b.makeOutput === 'function' ? (b as WasmBackendInternals) : null;
}

/** Whether a kernel can run now: wasm backend, kernels on and loaded, float32 inputs. */
export function kernelsUsable(...inputs: tf.Tensor[]): boolean {
  return tf.getBackend() === 'wasm' && wasmKernelsActive() && inputs.every((t) => t.dtype === 'float32') && wasmInternals(tf.backend()) !== null;
}

/** A float32 tensor's values in the wasm backend's heap (a view: valid until the heap next grows). */
export function heapView(backend: WasmBackendInternals, t: tf.TensorInfo, size: number): Float32Array {
  const offset = backend.dataIdMap.get(t.dataId)?.memoryOffset;
  if (typeof offset !== 'number') throw new Error("@dl/core's wasm kernels: an input is not in the wasm backend's memory");
  return new Float32Array(backend.wasm.HEAPU8.buffer, offset, size);
}

/**
 * The module's memory from `__heap_base` on, grown to hold at least `floats` floats: returns the view
 * and the float index where the caller's space starts (16-byte aligned).
 */
export function reserve(k: Kernels, floats: number): { mine: Float32Array; start: number } {
  const base = ((k.exports.__heap_base.value as number) + 15) & ~15;
  const bytes = base + 4 * floats;
  if (bytes > k.memory.buffer.byteLength) k.memory.grow(Math.ceil((bytes - k.memory.buffer.byteLength) / 65536));
  return { mine: new Float32Array(k.memory.buffer), start: base / 4 };
}
