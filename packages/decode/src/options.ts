import { checkInt, checkNumber, DLArgumentError } from '@dl/core';
import type { CommonOptions, LogitsProcessor, StoppingCriterion } from './types.js';
import { repetitionPenalty } from './processors/repetition-penalty.js';
import { noRepeatNgram } from './processors/no-repeat-ngram.js';
import { minNewTokens } from './processors/min-length.js';
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

/** Validates the shared options. */
export function checkCommon<S>(where: string, o: CommonOptions<S>): CheckedCommon {
  const maxNew = checkInt(where, 'maxNewTokens', o.maxNewTokens ?? 20);
  const eos = eosList(where, o.eosTokenId);
  const pad = o.padTokenId ?? eos[0] ?? 0;
  checkInt(where, 'padTokenId', pad, 0);
  if (o.minNewTokens !== undefined) {
    checkInt(where, 'minNewTokens', o.minNewTokens, 0);
    if (eos.length === 0) throw new DLArgumentError(where, 'eosTokenId', 'given when minNewTokens is', o.eosTokenId);
  }
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

/**
 * The processors the shared options ask for, in HF order: repetition penalty → no-repeat-n-gram →
 * min-new-tokens, then `extra` (the strategy's warpers), then the caller's own processors.
 */
export function buildProcessors<S>(where: string, o: CommonOptions<S>, c: CheckedCommon, extra: LogitsProcessor[] = []): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (o.repetitionPenalty !== undefined) {
    checkNumber(where, 'repetitionPenalty', o.repetitionPenalty, 0, Infinity, true);
    list.push(repetitionPenalty(o.repetitionPenalty));
  }
  if (o.noRepeatNgramSize !== undefined) list.push(noRepeatNgram(checkInt(where, 'noRepeatNgramSize', o.noRepeatNgramSize)));
  if (o.minNewTokens !== undefined && o.minNewTokens > 0) list.push(minNewTokens(o.minNewTokens, c.eos));
  list.push(...extra, ...(o.processors ?? []));
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
