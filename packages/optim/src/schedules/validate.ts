import { DLArgumentError, checkInt, checkNumber } from '@dl/core';
import { checkKeys } from '../types.js';
import type { Schedule } from '../types.js';

/** Wraps a schedule body so a bad step (negative, not finite) is rejected with the schedule's name. */
export function named(where: string, body: (t: number) => number): Schedule {
  const f = (t: number): number => {
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) throw new DLArgumentError(where, 'step', 'a finite number ≥ 0', t);
    return body(t);
  };
  Object.defineProperty(f, 'name', { value: where });
  return f;
}

/** Checks `options` is an object with only `known` keys and the `required` ones present. */
export function checkOptions(where: string, options: unknown, known: readonly string[], required: readonly string[] = []): void {
  if (options === undefined || options === null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object', options);
  checkKeys(where, options, known);
  for (const k of required) if ((options as Record<string, unknown>)[k] === undefined) throw new DLArgumentError(where, k, 'given', undefined);
}

/** A finite number (any sign). */
export function num(where: string, arg: string, v: unknown): number {
  return checkNumber(where, arg, v);
}

/** A finite number ≥ 0. */
export function nonNeg(where: string, arg: string, v: unknown): number {
  return checkNumber(where, arg, v, 0);
}

/** A positive integer. */
export function posInt(where: string, arg: string, v: unknown): number {
  return checkInt(where, arg, v, 1);
}

/** Throws unless `s` is a function (a schedule). */
export function checkSchedule(where: string, arg: string, s: unknown): Schedule {
  if (typeof s !== 'function') throw new DLArgumentError(where, arg, 'a schedule (step) => number', s);
  return s as Schedule;
}
