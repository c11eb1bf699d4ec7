import { DLArgumentError } from '@dl/core';
import type { Schedule } from '../types.js';
import { checkSchedule, named } from './validate.js';

/**
 * Joins schedules at boundaries (optax's `join_schedules`): before `boundaries[0]` the first schedule
 * runs; from `boundaries[i−1]` the i-th runs, counting its steps from that boundary (as PyTorch's
 * `SequentialLR` restarts each scheduler at its milestone).
 *
 * @example
 * ```ts
 * import { join, linearWarmup, exponential } from '@dl/optim';
 * const lr = join([linearWarmup({ peak: 1e-3, steps: 100 }), exponential({ init: 1e-3, gamma: 0.999 })], [100]);
 * ```
 */
export function join(schedules: Schedule[], boundaries: number[]): Schedule {
  if (!Array.isArray(schedules) || schedules.length === 0) throw new DLArgumentError('join', 'schedules', 'a non-empty array of schedules', schedules);
  schedules.forEach((s, i) => checkSchedule('join', `schedules[${i}]`, s));
  if (!Array.isArray(boundaries) || boundaries.length !== schedules.length - 1) {
    throw new DLArgumentError('join', 'boundaries', `an array of ${schedules.length - 1} step(s) (one fewer than schedules)`, boundaries);
  }
  if (!boundaries.every((b, i) => Number.isInteger(b) && b >= 0 && (i === 0 || b > boundaries[i - 1]))) {
    throw new DLArgumentError('join', 'boundaries', 'strictly increasing integers ≥ 0', boundaries);
  }
  const bs = [...boundaries];
  const ss = [...schedules];
  return named('join', (t) => {
    let i = 0;
    while (i < bs.length && t >= bs[i]) i++;
    return ss[i](i === 0 ? t : t - bs[i - 1]);
  });
}

/**
 * Runs schedules one after another for the given numbers of steps (the last one keeps running):
 * `sequence([[warmup, 100], [decay, 900]])` is `join([warmup, decay], [100])`.
 *
 * @example
 * ```ts
 * import { sequence, linear, cosine } from '@dl/optim';
 * const lr = sequence([[linear({ init: 0, end: 1e-3, steps: 100 }), 100], [cosine({ init: 1e-3, steps: 900 }), 900]]);
 * ```
 */
export function sequence(parts: [Schedule, number][]): Schedule {
  if (!Array.isArray(parts) || parts.length === 0) throw new DLArgumentError('sequence', 'parts', 'a non-empty array of [schedule, steps] pairs', parts);
  const boundaries: number[] = [];
  let at = 0;
  parts.forEach((p, i) => {
    if (!Array.isArray(p) || p.length !== 2) throw new DLArgumentError('sequence', `parts[${i}]`, 'a [schedule, steps] pair', p);
    checkSchedule('sequence', `parts[${i}][0]`, p[0]);
    if (!Number.isInteger(p[1]) || p[1] < 1) throw new DLArgumentError('sequence', `parts[${i}][1]`, 'a positive integer number of steps', p[1]);
    at += p[1];
    if (i < parts.length - 1) boundaries.push(at);
  });
  return join(
    parts.map((p) => p[0]),
    boundaries,
  );
}

/**
 * The product of schedules, step by step: v(t) = Π sᵢ(t). Use it to scale a base value by factor
 * schedules, e.g. warmup × decay; with factor schedules it is PyTorch's `ChainedScheduler` of
 * multiplicative schedulers.
 *
 * @example
 * ```ts
 * import { multiply, constant, linearWarmup, exponential } from '@dl/optim';
 * const lr = multiply(constant(1e-3), linearWarmup({ peak: 1, steps: 100 }), exponential({ init: 1, gamma: 0.999 }));
 * ```
 */
export function multiply(...schedules: Schedule[]): Schedule {
  if (schedules.length === 0) throw new DLArgumentError('multiply', 'schedules', 'at least one schedule', 0);
  schedules.forEach((s, i) => checkSchedule('multiply', `schedules[${i}]`, s));
  return named('multiply', (t) => schedules.reduce((v, s) => v * s(t), 1));
}
