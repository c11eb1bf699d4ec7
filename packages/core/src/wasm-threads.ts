import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { importAtRuntime } from './runtime-import.js';

/**
 * Multi-threaded wasm for {@link useBackend}'s `threads` option.
 *
 * tfjs-backend-wasm ships a threaded SIMD build (emscripten pthreads on XNNPACK's threadpool) but never
 * uses it in Node: its `WASM_HAS_MULTITHREAD_SUPPORT` flag is hard-wired to false there
 * (tensorflow/tfjs#3830), and its loader hands emscripten `blob:` URLs for the pthread worker script and
 * for the main script, which `worker_threads` cannot load. The emscripten glue itself supports Node
 * (it creates `worker_threads` workers, and its worker script sets up `self`, `importScripts` and
 * `postMessage` over `parentPort`), so no Web Worker shim is needed: in Node this module loads the
 * package's threaded glue (`wasm-out/tfjs-backend-wasm-threaded-simd.js`) from its file, gives emscripten
 * the worker script as a `data:` URL, and builds the package's own `BackendWasm` on the result. Node
 * built-ins are imported at run time only, so browser bundles never see them.
 */

/** The most threads tfjs-backend-wasm can use: its pthread pool has 8 workers and backend.cc caps at 8. */
export const MAX_WASM_THREADS = 8;

const isNode = typeof process !== 'undefined' && process.versions?.node != null;

/** The logical processors this process may use (Node's `os.availableParallelism()`, a browser's `navigator.hardwareConcurrency`). */
export async function availableParallelism(): Promise<number> {
  if (isNode) {
    const os = await importAtRuntime<{ availableParallelism?: () => number; cpus(): unknown[] }>('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
}

/** Checks the form of `options.threads` (the upper bound needs the processor count: {@link resolveWasmThreads}). */
export function checkThreadsOption(threads: unknown): void {
  if (threads === undefined || threads === 'auto') return;
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1) {
    throw new DLArgumentError('useBackend', 'options.threads', `a positive integer or 'auto'`, threads);
  }
}

/** The thread count `threads` asks for: at most the processors available and {@link MAX_WASM_THREADS}. */
export async function resolveWasmThreads(threads: number | 'auto'): Promise<number> {
  const cores = await availableParallelism();
  const limit = Math.max(1, Math.min(cores, MAX_WASM_THREADS));
  if (threads === 'auto') return limit;
  if (threads > limit) {
    throw new DLArgumentError('useBackend', 'options.threads', `a positive integer ≤ ${limit} (${cores} logical processors here, tfjs-backend-wasm uses at most ${MAX_WASM_THREADS}) or 'auto'`, threads);
  }
  return threads;
}

type FactoryEntry = { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number };
type Engine = { registry: Record<string, tf.KernelBackend>; registryFactory: Record<string, FactoryEntry>; backendName: string | null };
type WasmPackage = { BackendWasm: new (module: EmscriptenModule) => tf.KernelBackend; setThreadsCount(n: number): void };

/** The parts of the emscripten module that the package's `BackendWasm` and this loader use. */
interface EmscriptenModule {
  cwrap(name: string, returns: string | null, args: string[]): (...args: number[]) => number;
  tfjs?: Record<string, (...args: number[]) => number>;
  PThread: { runningWorkers: NodeWorker[]; unusedWorkers: NodeWorker[] };
}
type NodeWorker = { unref(): void; ref(): void };

/** The package's own factory, kept to restore it. */
let packageFactory: FactoryEntry | null = null;
/** The thread counts the registered wasm factory was set up for (`threads/tfjsThreads`); null when it is the package's untouched. */
let configured: string | null = null;

/** What {@link configureWasmThreads} did. */
export interface WasmThreadsSetup {
  /** The thread count asked for after any fallback. */
  threads: number;
  /** An initialised wasm backend was disposed to start again with the new count (its tensors are gone). */
  reinitialised: boolean;
  /** Why fewer threads than asked for will run (no cross-origin isolation in a browser). */
  warning?: string;
}

/**
 * Registers the wasm backend factory that gives `threads` threads (`tfjsThreads` of them to tfjs's own
 * kernels, XNNPACK's pool), disposing an initialised wasm backend set up for other counts. Call after
 * `@tensorflow/tfjs-backend-wasm` is loaded, before `tf.setBackend`.
 */
export async function configureWasmThreads(threads: number, tfjsThreads = threads): Promise<WasmThreadsSetup> {
  const engine = tf.engine() as unknown as Engine;
  packageFactory ??= engine.registryFactory.wasm ?? null;
  if (packageFactory == null) throw new Error('useBackend: @tensorflow/tfjs-backend-wasm registered no wasm backend');
  let warning: string | undefined;
  if (!isNode && threads > 1 && !crossOriginIsolated()) {
    warning = `wasm threads need SharedArrayBuffer, which browsers give only to cross-origin isolated pages (serve them with 'Cross-Origin-Opener-Policy: same-origin' and 'Cross-Origin-Embedder-Policy: require-corp'); running 1 thread instead of ${threads}`;
    threads = 1;
  }
  if (threads === 1) tfjsThreads = 1;
  const key = `${threads}/${tfjsThreads}`;
  // Node's default is one thread (tfjs never uses threads there); a browser's default depends on the page.
  if (configured === key || (configured === null && isNode && threads === 1)) {
    configured = key;
    return { threads, reinitialised: false, warning };
  }
  const pkg = await importAtRuntime<WasmPackage>('@tensorflow/tfjs-backend-wasm').catch(() => null);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', threads > 1);
  // In a bundle the package cannot be imported by name here: tfjs then picks its default count.
  pkg?.setThreadsCount(tfjsThreads);
  const reinitialised = engine.registry.wasm != null;
  tf.removeBackend('wasm');
  const factory: FactoryEntry['factory'] = isNode && threads > 1 ? () => createNodeThreadedBackend(tfjsThreads) : packageFactory.factory;
  tf.registerBackend('wasm', factory, packageFactory.priority);
  configured = key;
  return { threads, reinitialised, warning };
}

/** Puts the package's own wasm factory back (after a threaded start failed), so a plain `useBackend('wasm')` works. */
export function restorePackageWasm(): void {
  if (packageFactory == null || configured === null) return;
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', packageFactory.factory, packageFactory.priority);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  configured = null;
}

/** The threads the active wasm backend's XNNPACK threadpool runs, or undefined when wasm is not active. */
export function activeWasmThreads(): number | undefined {
  const engine = tf.engine() as unknown as Engine;
  if (engine.backendName !== 'wasm') return undefined;
  return (engine.registry.wasm as unknown as { wasm?: EmscriptenModule } | undefined)?.wasm?.tfjs?.getThreadsCount?.();
}

function crossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
}

type Fs = { readFileSync(p: string): Uint8Array };

/**
 * Starts the threaded SIMD build in Node (its memory is shared, so @dl/core's kernels can use threads of
 * their own) with `tfjsThreads` threads for XNNPACK's pool, and wraps it in the package's `BackendWasm`.
 */
async function createNodeThreadedBackend(tfjsThreads: number): Promise<tf.KernelBackend> {
  const out = '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd';
  const missing = (e: unknown) => new Error(`useBackend: wasm threads need ${out}.js and .worker.js from @tensorflow/tfjs-backend-wasm: ${(e as Error).message.split('\n')[0]}`);
  const [fs, pkg, glue, worker] = await Promise.all([
    importAtRuntime<Fs>('node:fs'),
    importAtRuntime<WasmPackage>('@tensorflow/tfjs-backend-wasm'),
    importAtRuntime<{ default: (config: object) => Promise<EmscriptenModule> }>(`${out}.js`).catch((e) => Promise.reject(missing(e))),
    importAtRuntime<{ default: { wasmWorkerContents: string } }>(`${out}.worker.js`).catch((e) => Promise.reject(missing(e))),
  ]);
  // The package stores the worker script as a template literal, so its "\n" escapes became newlines
  // inside string literals; the package's browser loader escapes them again before making a Blob.
  const workerCode = worker.default.wasmWorkerContents.replace(/\n/g, '\\n');
  // emscripten runs `new Worker(locateFile('….worker.js'))`, and Node's Worker takes a `data:` URL only as
  // a URL object (an ES module). The script needs CommonJS `require` (it requires worker_threads and fs,
  // and its importScripts evaluates the glue, which requires fs and path). `dir` is the glue's folder,
  // which emscripten passes to locateFile; the worker loads the glue from its own path (`_scriptDir`).
  const workerUrl = (dir: string) => {
    const self = JSON.stringify(`${dir}tfjs-backend-wasm-threaded-simd.worker.js`);
    const source = [`import { createRequire } from 'node:module';`, `new Function('require', '__filename', ${JSON.stringify(workerCode)})(createRequire(${self}), ${self});`];
    return new URL(`data:text/javascript,${encodeURIComponent(source.join('\n'))}`);
  };

  const listeners = { uncaughtException: process.listeners('uncaughtException'), unhandledRejection: process.listeners('unhandledRejection') };
  let failed!: (e: unknown) => void;
  const failure = new Promise<never>((_, reject) => (failed = reject));
  let module: EmscriptenModule;
  let wasmFile = ''; // emscripten locates it (wasm-out/, next to the glue) before instantiating
  try {
    module = await Promise.race([
      failure,
      glue.default({
        locateFile: (file: string, dir: string) => {
          if (file.endsWith('.worker.js')) return workerUrl(dir);
          if (file.endsWith('.wasm')) wasmFile = dir + file;
          return dir + file;
        },
        instantiateWasm: (imports: { env: Record<string, unknown> }, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) => {
          // backend.cc caps the threadpool at emscripten_num_logical_cores() / 2 (it assumes two hardware
          // threads per core), so on 2 logical processors it never runs more than one thread. Report twice
          // the threads asked for; the count was checked against the processors available.
          imports.env.emscripten_num_logical_cores = () => 2 * tfjsThreads;
          const bytes = fs.readFileSync(wasmFile) as Uint8Array<ArrayBuffer>;
          WebAssembly.instantiate(bytes, imports as WebAssembly.Imports).then((r) => receive(r.instance, r.module), failed);
          return {};
        },
        onAbort: (what: unknown) => failed(new Error(`the threaded wasm module aborted: ${String(what)}`)),
      }),
    ]);
  } finally {
    // The glue adds process handlers that rethrow every uncaught error from inside the handler (Node then
    // exits with code 7 and no useful trace); tfjs's own loader leaves them too. Take them off again.
    for (const l of process.listeners('uncaughtException')) if (!listeners.uncaughtException.includes(l)) process.removeListener('uncaughtException', l);
    for (const l of process.listeners('unhandledRejection')) if (!listeners.unhandledRejection.includes(l)) process.removeListener('unhandledRejection', l);
  }
  const cwrap = module.cwrap.bind(module);
  // The same bridge as the package's own loader (tf-backend-wasm init()).
  module.tfjs = {
    init: cwrap('init', null, []),
    initWithThreadsCount: cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: cwrap('get_threads_count', 'number', []),
    registerTensor: cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: cwrap('dispose_data', null, ['number']),
    dispose: cwrap('dispose', null, []),
  };
  pkg.setThreadsCount(tfjsThreads);
  const backend = new pkg.BackendWasm(module); // creates XNNPACK's threadpool: tfjsThreads − 1 pthreads
  // emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads run until disposal, so
  // they would keep Node alive after the program ends. They only work while the main thread waits in a
  // kernel, so they need not: unref them, and keep them unref'd.
  for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) {
    worker.unref();
    worker.ref = () => undefined;
  }
  return backend;
}
