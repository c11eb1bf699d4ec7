/**
 * The backend picker every page shows: auto (default), webgpu, webgl, wasm, cpu, and a line saying
 * which backend the worker started and why the better ones were unavailable. The initial choice can
 * come from the page's query (`#/cnn?backend=wasm`), which the tests use.
 */
import type { BackendReport } from '@dl/core';
import type { BackendChoice } from '../worker/protocol';
import { h } from './dom';

const CHOICES: BackendChoice[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

export interface BackendPicker {
  el: HTMLElement;
  /** The current choice. */
  value(): BackendChoice;
  /** Shows what the worker chose. */
  show(report: BackendReport, threads?: number): void;
  /** Shows that a run is starting on the current choice. */
  pending(): void;
}

export function backendPicker(initial: string | null): BackendPicker {
  const select = h('select', { class: 'backend', 'aria-label': 'backend' }, ...CHOICES.map((c) => h('option', { value: c }, c)));
  select.value = CHOICES.includes(initial as BackendChoice) ? (initial as string) : 'auto';
  const status = h('span', { class: 'backend-status' }, 'not started');
  return {
    el: h('div', { class: 'backend-picker' }, h('label', {}, 'backend ', select), status),
    value: () => select.value as BackendChoice,
    pending() {
      status.textContent = `starting ${select.value}…`;
    },
    show(report, threads) {
      const why = report.attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.reason}`);
      const chosen = select.value === 'auto' ? `auto chose ${report.name}` : `running on ${report.name}`;
      const extra = threads != null ? ` (${threads} thread${threads === 1 ? '' : 's'}${threads === 1 && !crossOriginIsolated ? ', page not cross-origin isolated' : ''})` : '';
      status.textContent = `${chosen}${extra}${why.length ? ` — skipped ${why.join('; ')}` : ''}`;
      status.dataset.backend = report.name;
    },
  };
}
