/**
 * Messages between a page and its training worker. The page starts a run with a config, pauses and
 * resumes it, and asks page-specific questions (classify this drawing, analyse this point) that the
 * worker answers between training steps. The worker reports the backend it chose, progress after
 * every step, and its state.
 */
import type { BackendReport } from '@dl/core';

/** What the page may ask for; `auto` tries webgpu → webgl → wasm → cpu. */
export type BackendChoice = 'auto' | 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export type ToWorker =
  | { type: 'start'; backend: BackendChoice; wasmPath: string; config: unknown }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'request'; id: number; payload: unknown };

export type RunState = 'starting' | 'running' | 'paused' | 'done' | 'failed';

export type FromWorker =
  | { type: 'backend'; report: BackendReport; threads?: number }
  | { type: 'progress'; data: unknown }
  | { type: 'state'; state: RunState }
  | { type: 'reply'; id: number; result?: unknown; error?: string }
  | { type: 'error'; message: string };
