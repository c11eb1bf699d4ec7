/** Start / stop / resume buttons and the run's state, shared by the pages. */
import type { RunState } from '../worker/protocol';
import { h } from './dom';

export interface RunControls {
  el: HTMLElement;
  /** Reflects the worker's state in the buttons (and in `data-state`, which the tests read). */
  setState(state: RunState | 'idle'): void;
  /** Shows an error under the buttons. */
  error(message: string): void;
}

export function runControls(labels: { start: string }, actions: { start(): void; pause(): void; resume(): void }): RunControls {
  const start = h('button', { class: 'start', onclick: () => actions.start() }, labels.start);
  const pause = h('button', { class: 'pause', disabled: true, onclick: () => actions.pause() }, 'stop');
  const resume = h('button', { class: 'resume', disabled: true, onclick: () => actions.resume() }, 'resume');
  const state = h('span', { class: 'run-state' }, 'idle');
  const err = h('div', { class: 'error', role: 'alert' });
  const el = h('div', { class: 'run-controls', 'data-state': 'idle' }, start, pause, resume, state, err);
  return {
    el,
    setState(s) {
      el.dataset.state = s;
      state.textContent = s;
      pause.disabled = s !== 'running';
      resume.disabled = s !== 'paused';
      start.textContent = s === 'idle' ? labels.start : `restart`;
      if (s === 'starting') err.textContent = '';
    },
    error(message) {
      err.textContent = message;
    },
  };
}
