import { DLArgumentError } from './errors.js';
import { importAtRuntime } from './runtime-import.js';

// Threads for @dl/core's WebAssembly kernels (Node). With tfjs-backend-wasm's threaded build
// (`useBackend('wasm', { threads })`) the backend's memory is a shared WebAssembly.Memory: each
// `worker_threads` worker instantiates the kernels' module (its shared-memory variant) on that same
// memory, with a stack of its own, and so reads the operands and writes the product where tfjs keeps
// them. A product is split into parts (bands of rows, or ranges of the batch); the calling thread runs
// the first part and blocks in `Atomics.wait` until the workers have run the others, so kernels stay
// synchronous, as tfjs requires. Browsers forbid `Atomics.wait` on the main thread: there the kernels
// run on the calling thread and tfjs's own kernels use the threads.

/** The most threads the pool runs (the calling thread included). */
export const MAX_KERNEL_THREADS = 16;

/** Int32 slots of the control block: generation, parts left, error flag, stop flag, then one row of arguments per worker. */
const HEADER = 16;
const ROW = 16;
const GENERATION = 0;
const LEFT = 1;
const ERROR = 2;
const STOP = 3;

/** One worker's code (run with `eval`): instantiate, then run `gemm_rows` parts as the control block says. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { module, memory, control, index, stackTop } = workerData;
const c = new Int32Array(control);
const x = new WebAssembly.Instance(module, { env: { memory } }).exports;
x.__stack_pointer.value = stackTop;
const p = ${HEADER} + ${ROW} * index;
let generation = Atomics.load(c, ${GENERATION});
parentPort.postMessage('ready'); // the pool runs nothing before every worker has read the generation
for (;;) {
  Atomics.wait(c, ${GENERATION}, generation);
  generation = Atomics.load(c, ${GENERATION});
  if (Atomics.load(c, ${STOP})) break;
  try {
    if (c[p] > 0) x.gemm_rows(c[p], c[p + 1], c[p + 2], c[p + 3], c[p + 4], c[p + 5], c[p + 6], c[p + 7], c[p + 8], c[p + 9], c[p + 10], c[p + 11], c[p + 12], c[p + 13]);
  } catch (e) {
    Atomics.store(c, ${ERROR}, 1);
  }
  if (Atomics.sub(c, ${LEFT}, 1) === 1) Atomics.notify(c, ${LEFT});
}
`;

/** `gemm_rows`'s arguments: batch, m, n, k, a, ta, strideA, b, tb, strideB, c, scratch, i0, i1 (pointers in bytes). */
export type GemmPart = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];

interface NodeWorker {
  unref(): void;
  terminate(): Promise<number>;
  once(event: string, listener: (value: unknown) => void): void;
}

/** A running pool: its workers on the backend's shared memory (the calling thread is the first of `threads`). */
export interface KernelPool {
  threads: number;
  control: Int32Array;
  workers: NodeWorker[];
}

const isNode = typeof process !== 'undefined' && process.versions?.node != null;

/** Whether this engine can run the pool: Node with SharedArrayBuffer and worker_threads. */
export function poolSupported(): boolean {
  return isNode && typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object';
}

/**
 * Starts a pool of `stackTops.length + 1` threads: the calling thread and one worker per stack, each
 * instantiating `module` (the shared-memory build) on `memory` with its stack pointer at the given
 * address. Resolves once every worker has done so.
 */
export async function startPool(module: WebAssembly.Module, memory: WebAssembly.Memory, stackTops: number[]): Promise<KernelPool> {
  const { Worker } = await importAtRuntime<{ Worker: new (src: string, options: object) => NodeWorker }>('node:worker_threads');
  const control = new Int32Array(new SharedArrayBuffer(4 * (HEADER + ROW * MAX_KERNEL_THREADS)));
  const workers: NodeWorker[] = [];
  try {
    for (const [i, stackTop] of stackTops.entries()) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control: control.buffer, index: i + 1, stackTop } });
      workers.push(worker);
      await new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
      });
      worker.unref(); // a script that used threads exits by itself
    }
  } catch (e) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  return { threads: stackTops.length + 1, control, workers };
}

/** Stops a pool's workers. */
export async function stopPool(pool: KernelPool): Promise<void> {
  Atomics.store(pool.control, STOP, 1);
  Atomics.add(pool.control, GENERATION, 1);
  Atomics.notify(pool.control, GENERATION);
  await Promise.all(pool.workers.map((w) => w.terminate()));
}

/**
 * Runs `parts[0]` on the calling thread (through `gemmRows`, its instance's export) and `parts[t]` on worker t, and returns when all are done. At most
 * `pool.threads` parts; a part with batch 0 is skipped.
 */
export function runParts(pool: KernelPool, gemmRows: (...args: GemmPart) => void, parts: GemmPart[]): void {
  if (parts.length > pool.threads) throw new DLArgumentError('runParts', 'parts', `at most ${pool.threads} parts (the pool's threads)`, parts.length);
  const c = pool.control;
  for (let t = 1; t < pool.threads; t++) {
    const row = HEADER + ROW * t;
    const part = parts[t];
    if (part) c.set(part, row);
    else c[row] = 0;
  }
  Atomics.store(c, ERROR, 0);
  Atomics.store(c, LEFT, pool.threads - 1);
  Atomics.add(c, GENERATION, 1);
  Atomics.notify(c, GENERATION);
  const first = parts[0];
  if (first && first[0] > 0) gemmRows(...first);
  for (let left = Atomics.load(c, LEFT); left !== 0; left = Atomics.load(c, LEFT)) Atomics.wait(c, LEFT, left);
  if (Atomics.load(c, ERROR)) throw new Error("@dl/core's wasm kernels: a worker thread failed in a matrix product");
}
