/**
 * The page side of the training protocol: owns a worker, starts, pauses and resumes its run, and turns
 * requests into promises. A new run terminates the old worker, so no state leaks between runs.
 */
import type { BackendReport } from '@dl/core';
import type { BackendChoice, FromWorker, RunState, ToWorker } from '../worker/protocol';

export interface TrainerEvents<P> {
  onBackend?(report: BackendReport, threads?: number): void;
  onProgress?(data: P): void;
  onState?(state: RunState): void;
  onError?(message: string): void;
}

/** Where the tfjs wasm binaries are served (public/generated/, copied there by scripts/prepare-assets.mjs). */
export const WASM_PATH = new URL('generated/', document.baseURI).href;

export class TrainerClient<P> {
  private worker: Worker | null = null;
  private nextId = 0;
  private pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  state: RunState | 'idle' = 'idle';

  /** @param makeWorker creates the page's worker (`new Worker(new URL(…), { type: 'module' })`, so Vite bundles it). */
  constructor(
    private readonly makeWorker: () => Worker,
    private readonly events: TrainerEvents<P>,
  ) {}

  /** Starts a fresh run on `backend` (terminating any previous one). */
  start(backend: BackendChoice, config: unknown): void {
    this.stop();
    const worker = this.makeWorker();
    this.worker = worker;
    this.state = 'starting';
    this.events.onState?.('starting');
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.handle(ev.data);
    worker.onerror = (ev) => this.events.onError?.(ev.message || 'the worker failed to load');
    this.send({ type: 'start', backend, wasmPath: WASM_PATH, config });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  /** Ends the run and the worker. */
  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const p of this.pending.values()) p.reject(new Error('the run was stopped'));
    this.pending.clear();
    this.state = 'idle';
  }

  /** Asks the worker a page-specific question; answered between training steps. */
  request<R>(payload: unknown): Promise<R> {
    if (!this.worker) return Promise.reject(new Error('no run: start training or load a model first'));
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ type: 'request', id, payload });
    });
  }

  private send(m: ToWorker) {
    this.worker?.postMessage(m);
  }

  private handle(m: FromWorker) {
    if (m.type === 'backend') this.events.onBackend?.(m.report, m.threads);
    else if (m.type === 'progress') this.events.onProgress?.(m.data as P);
    else if (m.type === 'state') {
      this.state = m.state;
      this.events.onState?.(m.state);
    } else if (m.type === 'error') this.events.onError?.(m.message);
    else if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error !== undefined) p?.reject(new Error(m.error));
      else p?.resolve(m.result);
    }
  }
}
