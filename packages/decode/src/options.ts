import { checkInt, checkNumber, DLArgumentError } from '@dl/core';
import type { CommonOptions, LogitsProcessor, StoppingCriterion } from './types.js';
import { repetitionPenalty } from './processors/repetition-penalty.js';
import { noRepeatNgram } from './processors/no-repeat-ngram.js';
import { minLength, minNewTokens } from './processors/min-length.js';
import { eosCriterion } from './stopping/eos.js';
import { stopSequences } from './stopping/stop-sequences.js';
import { maxNewTokens } from './stopping/max-length.js';
import { maxTime } from './stopping/time-budget.js';
import { abortSignal } from './stopping/abort-signal.js';
import { eosList } from './eos-ids.js';

/** Validates prompts: a non-empty list of lists of non-negative integers. Returns copies. */
export function checkInputIds(where: string, inputIds: unknown): number[][] {
  if (!Array.isArray(inputIds) || inputIds.length === 0 || !inputIds.every((r) => Array.isArray(r))) {
    throw new DLArgumentError(where, 'inputIds', 'a non-empty list of token-id lists (one prompt per input)', inputIds);
  }
  for (const row of inputIds as unknown[][]) {
    if (!row.every((t) => Number.isInteger(t) && (t as number) >= 0)) {
      throw new DLArgumentError(where, 'inputIds', 'lists of non-negative integer token ids', inputIds);
    }
  }
  return (inputIds as number[][]).map((r) => [...r]);
}

/** The options every decoder checks up front. */
export interface CheckedCommon {
  maxNewTokens: number;
  eos: number[];
  pad: number;
}

/** Every key of {@link CommonOptions} (the compiler keeps this list complete). */
const commonKeyset: Record<keyof CommonOptions<unknown>, true> = {
  state: true,
  reorderState: true,
  maxNewTokens: true,
  eosTokenId: true,
  padTokenId: true,
  minNewTokens: true,
  minLength: true,
  repetitionPenalty: true,
  noRepeatNgramSize: true,
  processors: true,
  stoppingCriteria: true,
  stopSequences: true,
  maxTimeMs: true,
  signal: true,
  onToken: true,
  vocabSize: true,
};

/** The option names every decoder accepts. */
export const COMMON_KEYS: readonly string[] = Object.keys(commonKeyset);

/** Validates the shared options. */
export function checkCommon<S>(where: string, o: CommonOptions<S>): CheckedCommon {
  const maxNew = checkInt(where, 'maxNewTokens', o.maxNewTokens ?? 20);
  const eos = eosList(where, o.eosTokenId);
  const pad = o.padTokenId ?? eos[0] ?? 0;
  checkInt(where, 'padTokenId', pad, 0);
  for (const key of ['minNewTokens', 'minLength'] as const) {
    if (o[key] === undefined) continue;
    checkInt(where, key, o[key], 0);
    if (eos.length === 0) throw new DLArgumentError(where, 'eosTokenId', `given when ${key} is`, o.eosTokenId);
  }
  if (o.noRepeatNgramSize !== undefined) checkOff(where, 'noRepeatNgramSize', o.noRepeatNgramSize);
  if (o.vocabSize !== undefined) checkInt(where, 'vocabSize', o.vocabSize);
  if (o.reorderState !== undefined && typeof o.reorderState !== 'function') throw new DLArgumentError(where, 'reorderState', 'a function (state, indices) => state', o.reorderState);
  if (o.onToken !== undefined && typeof o.onToken !== 'function') throw new DLArgumentError(where, 'onToken', 'a function', o.onToken);
  for (const [i, p] of (o.processors ?? []).entries()) {
    if (typeof p !== 'function') throw new DLArgumentError(where, `processors[${i}]`, 'a function (inputIds, scores, info) => scores', p);
  }
  for (const [i, c] of (o.stoppingCriteria ?? []).entries()) {
    if (c == null || typeof c.check !== 'function') throw new DLArgumentError(where, `stoppingCriteria[${i}]`, 'an object with check(inputIds, info)', c);
  }
  return { maxNewTokens: maxNew, eos, pad };
}

/** An integer ≥ 0 where 0 turns the feature off (HF's convention for `no_repeat_ngram_size` and `top_k`). */
export function checkOff(where: string, argument: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new DLArgumentError(where, argument, 'an integer ≥ 0 (0 = off)', value);
  return value;
}

/**
 * The processors the shared options ask for, in HF order: repetition penalty → no-repeat-n-gram →
 * min-length → min-new-tokens, then the caller's own processors, then `warpers` (the sampling warpers:
 * temperature → top-k → top-p → min-p → typical), as HF appends its warpers after a user's
 * `logits_processor` list.
 */
export function buildProcessors<S>(where: string, o: CommonOptions<S>, c: CheckedCommon, warpers: LogitsProcessor[] = []): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (o.repetitionPenalty !== undefined) {
    checkNumber(where, 'repetitionPenalty', o.repetitionPenalty, 0, Infinity, true);
    list.push(repetitionPenalty(o.repetitionPenalty));
  }
  if (o.noRepeatNgramSize) list.push(noRepeatNgram(o.noRepeatNgramSize));
  if (o.minLength) list.push(minLength(o.minLength, c.eos));
  if (o.minNewTokens) list.push(minNewTokens(o.minNewTokens, c.eos));
  list.push(...(o.processors ?? []), ...warpers);
  return list;
}

/**
 * Stopping criteria in the order their reasons win: EOS, stop sequences, length, time, abort, then the
 * caller's own. (Beam search handles EOS itself and passes `withEos = false`.)
 */
export function buildCriteria<S>(where: string, o: CommonOptions<S>, c: CheckedCommon, withEos = true): StoppingCriterion[] {
  const list: StoppingCriterion[] = [];
  if (withEos && c.eos.length) list.push(eosCriterion(c.eos));
  if (o.stopSequences !== undefined) {
    const ok = Array.isArray(o.stopSequences) && o.stopSequences.every((q) => Array.isArray(q) && q.length > 0 && q.every((t) => Number.isInteger(t) && t >= 0));
    if (!ok) throw new DLArgumentError(where, 'stopSequences', 'a list of non-empty token-id lists', o.stopSequences);
    list.push(stopSequences(o.stopSequences));
  }
  list.push(maxNewTokens(c.maxNewTokens));
  if (o.maxTimeMs !== undefined) list.push(maxTime(checkNumber(where, 'maxTimeMs', o.maxTimeMs, 0, Infinity, true)));
  if (o.signal !== undefined) {
    if (o.signal === null || typeof o.signal !== 'object' || typeof o.signal.aborted !== 'boolean') throw new DLArgumentError(where, 'signal', 'an AbortSignal', o.signal);
    list.push(abortSignal(o.signal));
  }
  list.push(...(o.stoppingCriteria ?? []));
  return list;
}
