import * as tf from '@tensorflow/tfjs-core';
import { ensureGradients } from './gradients.js';
import { installCpuFallbacks } from './kernel-fallbacks.js';
import { checkKeys, DLArgumentError } from './errors.js';
import { importAtRuntime } from './runtime-import.js';
import { useWasmKernelThreads, wasmKernelThreads } from './wasm-kernels.js';
import { installWasmSharedBuffers } from './wasm-shared-buffers.js';
import { installWasmSegmentSum, installWasmSum } from './wasm-sum.js';
import { poolSupported } from './wasm-pool.js';
import { activeWasmThreads, checkThreadsOption, configureWasmThreads, resolveWasmThreads, restorePackageWasm } from './wasm-threads.js';

/** A backend `@dl` knows how to pick. `tensorflow` is tfjs-node / tfjs-node-gpu (installed by the user). */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu' | 'tensorflow';

/** One backend that {@link useBackend} tried, and why it was not taken if it was not. */
export interface BackendAttempt {
  /** The backend's name. */
  name: BackendName;
  /** Whether it initialised. */
  ok: boolean;
  /** Why it was unavailable (package not installed, no `navigator.gpu`, init error…). */
  reason?: string;
}

/** What {@link useBackend} chose and why. */
export interface BackendReport {
  /** The backend now active. */
  name: BackendName;
  /** Every backend tried, in order, including the chosen one (last). */
  attempts: BackendAttempt[];
  /** Kernels the backend lacked that now run through the cpu kernels (see {@link installCpuFallbacks}). */
  fallbackKernels: string[];
  /** One line for logs, e.g. `wasm (webgpu: no navigator.gpu; tensorflow: not installed)`; with `threads`, `wasm, 2 threads`. */
  summary: string;
  /** With the `threads` option and wasm chosen: the threads its XNNPACK threadpool runs. */
  threads?: number;
  /**
   * With the `threads` option and wasm chosen: the threads @dl/core's own WebAssembly kernels (matrix
   * products) run on. In Node the same count as `threads` ({@link useWasmKernelThreads}); 1 in browsers.
   */
  kernelThreads?: number;
  /** Why fewer threads run than asked for (a browser page without cross-origin isolation), when so. */
  threadsWarning?: string;
}

/** Options of {@link useBackend}. */
export interface UseBackendOptions {
  /** Order in which `'auto'` tries backends. Default: Node `tensorflow, webgpu, wasm, cpu`; browser `webgpu, webgl, wasm, cpu`. */
  order?: BackendName[];
  /** In Node, give `navigator.gpu` from the `webgpu` npm package (Dawn) when it is installed. Default true. */
  nodeWebGPU?: boolean;
  /** Register cpu fallbacks for kernels the chosen backend lacks. Default true. */
  cpuFallbacks?: boolean;
  /**
   * wasm only: run tfjs-backend-wasm's threaded SIMD build with this many threads (a positive integer up to
   * the logical processors available and 8), or `'auto'` for all of them (up to 8). `1` selects the
   * single-threaded SIMD build. Without it, wasm starts as tfjs chooses (one thread in Node; in a
   * cross-origin isolated page, threads for half the processors) and an already started wasm stays as it
   * is. Changing the count of an initialised wasm backend starts it again: its tensors are lost, and
   * {@link backendGeneration} counts the switch. In Node this works out of the box; in a browser the page
   * must be cross-origin isolated (COOP/COEP headers), or wasm runs one thread and the report says why.
   * In Node, @dl/core's own kernels (the matrix products of `matMul`) run on the same number of threads
   * ({@link useWasmKernelThreads}).
   */
  threads?: number | 'auto';
  /**
   * wasm only, with `threads`: how many of them tfjs-backend-wasm's own kernels (XNNPACK's pool) use; default
   * all. On few cores `1` can be faster: XNNPACK's threads wait for each other at every small elementwise
   * kernel, while @dl/core's matrix products still split over all `threads` (Node). A positive integer up to
   * `threads`.
   */
  tfjsThreads?: number;
}

const PACKAGES: Record<BackendName, string[]> = {
  webgpu: ['@tensorflow/tfjs-backend-webgpu'],
  webgl: ['@tensorflow/tfjs-backend-webgl'],
  wasm: ['@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
  tensorflow: ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'],
};
const NAMES = Object.keys(PACKAGES) as BackendName[];

const isNode = typeof process !== 'undefined' && process.versions?.node != null;

const importOptional = importAtRuntime;

/** Whether WebGPU is available, and if not, why. */
export interface WebGPUAvailability {
  /** True when `navigator.gpu` exists. */
  ok: boolean;
  /** Why not, when `ok` is false. */
  reason?: string;
}

/**
 * In Node, installs `navigator.gpu` from the `webgpu` npm package (Google's Dawn), so
 * `@tensorflow/tfjs-backend-webgpu` runs on the machine's Vulkan driver, or on SwiftShader (a CPU
 * implementation of Vulkan) when `VK_ICD_FILENAMES` points at it. Browsers have `navigator.gpu` already.
 *
 * @returns whether `navigator.gpu` is now available, and if not, why.
 *
 * @example
 * ```ts
 * import { installNodeWebGPU } from '@dl/core';
 * const { ok, reason } = await installNodeWebGPU();
 * ```
 */
export async function installNodeWebGPU(): Promise<WebGPUAvailability> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator?.gpu) return { ok: true };
  if (!isNode) return { ok: false, reason: 'no navigator.gpu in this browser' };
  let dawn: { create: (flags: string[]) => unknown; globals: Record<string, unknown> };
  try {
    dawn = (await importOptional('webgpu')) as typeof dawn;
  } catch {
    return { ok: false, reason: "no navigator.gpu (install the 'webgpu' npm package for WebGPU in Node)" };
  }
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create([]);
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return { ok: true };
}

/** What a wasm attempt with `threads` found out beyond ok/reason. */
interface AttemptState {
  /** `options.threads` resolved to a count (checked against the processors available), if given. */
  threads?: number;
  /** `options.tfjsThreads`, or `threads`. */
  tfjsThreads?: number;
  threadsWarning?: string;
}

async function tryBackend(name: BackendName, options: UseBackendOptions, state: AttemptState): Promise<BackendAttempt> {
  if (name === 'webgl' && isNode) return { name, ok: false, reason: 'WebGL needs a browser' };
  // tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is imported.
  if (name === 'webgpu' && options.nodeWebGPU !== false) {
    const gpu = await installNodeWebGPU();
    if (!gpu.ok) return { name, ok: false, reason: gpu.reason };
  }
  if (name === 'webgpu') {
    // Without an adapter tfjs fails with a bare TypeError; say what is missing instead.
    const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
    if (!gpu) return { name, ok: false, reason: 'no navigator.gpu' };
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) {
      return { name, ok: false, reason: isNode ? 'no WebGPU adapter (no GPU Vulkan driver; without a GPU, VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json runs it on SwiftShader)' : 'no WebGPU adapter in this browser' };
    }
  }
  if (tf.findBackendFactory(name) == null) {
    let loaded = false;
    let lastError = '';
    for (const spec of PACKAGES[name]) {
      try {
        await importOptional(spec);
        loaded = true;
        break;
      } catch (e) {
        lastError = (e as Error).message.split('\n')[0];
      }
    }
    const pkgs = PACKAGES[name].join(' or ');
    if (!loaded) {
      return { name, ok: false, reason: /Cannot find|not found|ERR_MODULE_NOT_FOUND/i.test(lastError) ? `${pkgs} not installed` : `${pkgs} failed to load: ${lastError}` };
    }
    if (tf.findBackendFactory(name) == null) return { name, ok: false, reason: `${pkgs} loaded but registered no backend (unsupported here)` };
  }
  let threaded = false;
  if (name === 'wasm' && state.threads !== undefined) {
    const setup = await configureWasmThreads(state.threads, state.tfjsThreads);
    threaded = setup.threads > 1;
    // The wasm backend that was active is gone, even though the name stays: count it as a switch.
    if (setup.reinitialised) generation++;
    if (setup.warning) {
      console.warn(`useBackend: ${setup.warning}`);
      state.threadsWarning = setup.warning;
    }
  }
  // tfjs reports init failures with console.warn; catch the message to explain the choice.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.map(String).join(' '));
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    if (!ok && threaded) restorePackageWasm();
    return ok ? { name, ok } : { name, ok, reason: warnings.filter((w) => !/Initialization of backend/.test(w))[0]?.split('\n')[0] ?? 'initialisation failed' };
  } catch (e) {
    if (threaded) restorePackageWasm();
    return { name, ok: false, reason: (e as Error).message.split('\n')[0] };
  } finally {
    console.warn = warn;
  }
}

const USE_BACKEND_KEYS = ['order', 'nodeWebGPU', 'cpuFallbacks', 'threads', 'tfjsThreads'] as const satisfies readonly (keyof UseBackendOptions)[];

/** The tail of the queue of backend switches: each {@link useBackend} call starts after the previous one settled. */
let switching: Promise<unknown> = Promise.resolve();
let generation = 0;

/** The engine's active backend name without initialising one (tf.getBackend() would pick and start one). */
function activeBackendName(): string | null {
  return (tf.engine() as unknown as { backendName: string | null }).backendName ?? null;
}

/**
 * How many times {@link useBackend} has changed the active backend in this process (selecting the backend
 * that is already active does not count). Work that spans several awaits (a decode, a training loop) reads
 * it when it starts and compares between steps: a different number means the tensors it holds were made
 * on another backend, and it should stop with a clear error. `@dl/decode`'s decoders do this at every step.
 *
 * @example
 * ```ts
 * import { backendGeneration, useBackend } from '@dl/core';
 * const started = backendGeneration();
 * await useBackend('cpu');
 * if (backendGeneration() !== started) console.log('the backend changed since this work started');
 * ```
 */
export function backendGeneration(): number {
  return generation;
}

/**
 * Picks and initialises a backend by name, or the best available with `'auto'`, and reports which one it
 * chose and why the better ones were unavailable. Backend packages are optional peer dependencies loaded
 * on demand; in a browser bundle import the backend package yourself (e.g.
 * `import '@tensorflow/tfjs-backend-webgpu'`) and it is found here. Library code never imports a backend.
 *
 * Calls are serialised: a call made while another is still initialising waits for it to settle (succeed
 * or fail) and then runs, so overlapping calls end with the backend of the call made last, and the engine
 * and `tf.getBackend()` always agree. Each call that changes the active backend increments
 * {@link backendGeneration}; work in flight on the old backend (a decode in `@dl/decode`) fails at its next
 * step with an error saying the backend changed. Selecting `'cpu'` does not print tfjs-backend-cpu's
 * "install tfjs-node" banner: the report already says why tfjs-node was not used.
 *
 * @param name a backend, or `'auto'` (default).
 * @param options see {@link UseBackendOptions}; unknown keys throw.
 * @throws {@link DLArgumentError} for an unknown name or option, and an Error listing every reason when none could start.
 *
 * @example
 * ```ts
 * import { useBackend } from '@dl/core';
 * const report = await useBackend('auto');
 * console.log(`backend: ${report.summary}`); // e.g. "wasm (tensorflow: @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node not installed; webgpu: …)"
 * // Multi-threaded wasm (Node, or a cross-origin isolated page): await useBackend('wasm', { threads: 'auto' });
 * ```
 */
export async function useBackend(name: BackendName | 'auto' = 'auto', options: UseBackendOptions = {}): Promise<BackendReport> {
  ensureGradients();
  checkKeys('useBackend', options, USE_BACKEND_KEYS);
  if (name !== 'auto' && !NAMES.includes(name)) {
    throw new DLArgumentError('useBackend', 'name', `one of 'auto', ${NAMES.map((n) => `'${n}'`).join(', ')}`, name);
  }
  const order = name === 'auto' ? (options.order ?? (isNode ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : ['webgpu', 'webgl', 'wasm', 'cpu'])) : [name];
  if (!Array.isArray(order) || order.length === 0 || order.some((n) => !NAMES.includes(n))) {
    throw new DLArgumentError('useBackend', 'options.order', `a list of ${NAMES.join(', ')}`, order);
  }
  checkThreadsOption(options.threads);
  if (options.tfjsThreads !== undefined && (options.threads === undefined || typeof options.tfjsThreads !== 'number' || !Number.isInteger(options.tfjsThreads) || options.tfjsThreads < 1)) {
    throw new DLArgumentError('useBackend', 'options.tfjsThreads', 'a positive integer, given with options.threads', options.tfjsThreads);
  }
  if (options.threads !== undefined && !order.includes('wasm')) {
    throw new DLArgumentError('useBackend', 'options.threads', `used with 'wasm' or with 'auto' when its order has wasm (threads are a wasm setting)`, options.threads);
  }
  const run = switching.then(() => switchBackend(name, order, options));
  switching = run.catch(() => undefined);
  return run;
}

async function switchBackend(name: BackendName | 'auto', order: BackendName[], options: UseBackendOptions): Promise<BackendReport> {
  const before = activeBackendName();
  const attempts: BackendAttempt[] = [];
  // Checked before any backend is tried, so a bad count changes nothing.
  const state: AttemptState = { threads: options.threads === undefined ? undefined : await resolveWasmThreads(options.threads) };
  if (options.tfjsThreads !== undefined && options.tfjsThreads > (state.threads as number)) {
    throw new DLArgumentError('useBackend', 'options.tfjsThreads', `a positive integer ≤ threads (${state.threads})`, options.tfjsThreads);
  }
  state.tfjsThreads = options.tfjsThreads ?? state.threads;
  try {
    for (const n of order) {
      const attempt = await tryBackend(n, options, state);
      attempts.push(attempt);
      if (attempt.ok) {
        if (n === 'cpu') quietCpu();
        // cpu fallbacks need the cpu backend registered; load it quietly if it is installed.
        if (options.cpuFallbacks !== false && n !== 'cpu' && tf.findBackendFactory('cpu') == null) {
          await importOptional('@tensorflow/tfjs-backend-cpu').catch(() => undefined);
        }
        const fallbackKernels = options.cpuFallbacks === false || n === 'tensorflow' || n === 'webgpu' || n === 'webgl' ? [] : installCpuFallbacks(n);
        const failed = attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
        if (n === 'wasm') {
          installWasmSum();
          installWasmSegmentSum(); // wraps the cpu fallback just registered
          installWasmSharedBuffers();
        }
        // In Node, @dl/core's own kernels (the matrix products) get the same count (browsers: tfjs's only).
        if (n === 'wasm' && state.threads !== undefined && poolSupported()) {
          // A pool that cannot start (no worker_threads here, say) leaves the products on one thread.
          await useWasmKernelThreads(state.threads).catch((e: Error) => {
            state.threadsWarning = `@dl/core's kernel threads could not start (${e.message.split('\n')[0]}); its products run on one thread`;
            console.warn(`useBackend: ${state.threadsWarning}`);
          });
        }
        const threads = n === 'wasm' && options.threads !== undefined ? activeWasmThreads() : undefined;
        const kernelThreads = threads === undefined ? undefined : Math.max(threads, wasmKernelThreads());
        const label = threads === undefined ? n : `${n}, ${kernelThreads} thread${kernelThreads === 1 ? '' : 's'}${kernelThreads !== threads ? ` (tfjs's kernels: ${threads})` : ''}`;
        const report: BackendReport = { name: n, attempts, fallbackKernels, summary: failed.length ? `${label} (${failed.join('; ')})` : label };
        if (threads !== undefined) report.threads = threads;
        if (threads !== undefined) report.kernelThreads = wasmKernelThreads();
        if (n === 'wasm' && state.threadsWarning) report.threadsWarning = state.threadsWarning;
        return report;
      }
    }
    // tf.setBackend names a backend before initialising it and leaves that name, with no backend behind
    // it, when initialisation fails: go back to the backend that was active.
    if (before !== null && activeBackendName() !== before && tf.engine().registry[before] != null) await tf.setBackend(before);
    throw new Error(`useBackend(${JSON.stringify(name)}): no backend could start: ${attempts.map((a) => `${a.name}: ${a.reason}`).join('; ')}`);
  } finally {
    // A failed attempt can leave tfjs's engine on another backend too (setBackend sets the name first).
    if (activeBackendName() !== before) generation++;
  }
}

/**
 * tfjs-backend-cpu prints "looks like you are running TensorFlow.js in Node.js … install tfjs-node" on its
 * first write. Whoever calls useBackend('cpu') chose it (and 'auto' reports why tfjs-node was skipped).
 */
function quietCpu(): void {
  const cpu = tf.findBackend('cpu') as (tf.KernelBackend & { firstUse?: boolean }) | null;
  if (cpu && cpu.firstUse) cpu.firstUse = false;
}
