/**
 * The worker side of the training protocol: a loop that calls a page's `step` while running, yields to
 * the event loop between steps (so pause, resume and requests are handled promptly), and posts progress.
 */
import { startBackend, wasmThreads } from './backend';
import type { FromWorker, RunState, ToWorker } from './protocol';

/** What a page's worker implements. */
export interface Trainer {
  /** Builds the model and data for `config` on the active backend. */
  init(config: unknown): Promise<void>;
  /** Runs one unit of work and returns what the page plots; `done: true` ends the run. */
  step(): Promise<{ done?: boolean } & Record<string, unknown>>;
  /** Answers a page-specific request (between steps, also while paused or done). */
  request?(payload: unknown): Promise<unknown>;
}

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);
const nextTask = () => new Promise<void>((r) => setTimeout(r, 0));

/** Serves `trainer` on this worker's message port. */
export function serveTrainer(trainer: Trainer): void {
  let state: RunState = 'starting';
  let ready: Promise<void> | null = null;
  const setState = (s: RunState) => {
    state = s;
    post({ type: 'state', state: s });
  };
  const fail = (e: unknown) => {
    post({ type: 'error', message: e instanceof Error ? e.message : String(e) });
    setState('failed');
  };

  // A pause takes effect between steps, so 'paused' means no step is in flight and no progress follows.
  let pauseRequested = false;
  async function loop() {
    while (state === 'running') {
      if (pauseRequested) {
        pauseRequested = false;
        setState('paused');
        break;
      }
      const progress = await trainer.step();
      post({ type: 'progress', data: progress });
      if (progress.done) setState('done');
      await nextTask();
    }
  }

  self.onmessage = async (ev: MessageEvent<ToWorker>) => {
    const msg = ev.data;
    try {
      if (msg.type === 'start') {
        ready = (async () => {
          const report = await startBackend(msg.backend, msg.wasmPath);
          post({ type: 'backend', report, threads: await wasmThreads() });
          await trainer.init(msg.config);
        })();
        await ready;
        setState('running');
        await loop();
      } else if (msg.type === 'pause') {
        if (state === 'running') pauseRequested = true;
      } else if (msg.type === 'resume') {
        pauseRequested = false;
        if (state === 'paused') {
          setState('running');
          await loop();
        }
      } else if (msg.type === 'request') {
        try {
          await ready;
          const result = await trainer.request?.(msg.payload);
          post({ type: 'reply', id: msg.id, result });
        } catch (e) {
          post({ type: 'reply', id: msg.id, error: e instanceof Error ? e.message : String(e) });
        }
      }
    } catch (e) {
      fail(e);
    }
  };
}
