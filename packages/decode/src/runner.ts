import * as tf from '@tensorflow/tfjs-core';
import { backendGeneration, DLArgumentError, isTensor } from '@dl/core';
import type { ScoreMatrix, StepFn, StepInfo } from './types.js';
import type { StateKeeper } from './state.js';

/** The backend each decode (known by its state keeper) started on, and @dl/core's switch count then. */
const startedOn = new WeakMap<object, { generation: number; backend: string }>();

/**
 * Throws when `useBackend` switched backends since this decode's first step: the decode's state and
 * logits were made on the old backend, so it stops with a clear error instead of mixing backends.
 */
function checkBackend(where: string, keeper: object, step: number): void {
  const started = startedOn.get(keeper);
  if (!started) {
    startedOn.set(keeper, { generation: backendGeneration(), backend: tf.getBackend() });
    return;
  }
  if (backendGeneration() !== started.generation) {
    throw new Error(`${where}: the backend changed from ${started.backend} to ${tf.getBackend()} during the decode (at step ${step}); its state was made on ${started.backend}. Switch backends (useBackend) between decodes, not during one`);
  }
}

/**
 * Calls the step function once for every row, checks the logits, reads them to the host and disposes
 * them, and hands the new state to the keeper. Fails when the backend changed since the decode began.
 */
export async function runStep<S>(
  where: string,
  step: StepFn<S>,
  tokens: readonly (readonly number[])[],
  keeper: StateKeeper<S>,
  info: StepInfo,
  vocab: { size?: number },
): Promise<ScoreMatrix> {
  checkBackend(where, keeper, info.step);
  const out = await step(tokens, keeper.state, info);
  if (out == null || typeof out !== 'object' || !isTensor(out.logits)) {
    throw new DLArgumentError(where, 'step', 'a function returning { logits: tf.Tensor, state }', out == null ? out : Object.keys(out));
  }
  keeper.replace(out.state);
  const logits = out.logits;
  const rows = tokens.length;
  try {
    checkBackend(where, keeper, info.step);
    const width = logits.shape[1] as number;
    if (logits.rank !== 2 || logits.shape[0] !== rows || (vocab.size !== undefined && width !== vocab.size)) {
      const expected = vocab.size === undefined ? `[${rows}, vocab]` : `[${rows}, ${vocab.size}]`;
      throw new DLArgumentError(where, 'step logits', `of shape ${expected} (rows × vocabulary, as on the first step or vocabSize)`, logits);
    }
    vocab.size ??= width;
    const raw = await logits.data();
    checkBackend(where, keeper, info.step);
    const data = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
    const scores = { rows, vocab: width, data };
    checkScores(where, STEP_LOGITS, scores, info.step);
    return scores;
  } finally {
    logits.dispose();
  }
}

/** What {@link checkScores} blames: the step function's raw logits. */
export const STEP_LOGITS = "the step function's logits";
/** What {@link checkScores} blames: the scores after the logits processors. */
export const PROCESSED = "the logits processors' scores";

/**
 * Throws a clear error when scores hold NaN or +Infinity (a softmax of them is NaN, so decoding would
 * silently rank or sample garbage). `-Infinity` is a forbidden token and fine.
 */
export function checkScores(where: string, what: typeof STEP_LOGITS | typeof PROCESSED, s: ScoreMatrix, step: number): void {
  const data = s.data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v === v && v !== Infinity) continue;
    const rule = what === STEP_LOGITS ? 'logits must be finite or -Infinity' : 'processors must return finite scores or -Infinity';
    throw new Error(`${where}: ${what} hold ${v === Infinity ? '+Infinity' : 'NaN'} at step ${step} (row ${Math.floor(i / s.vocab)}, token ${i % s.vocab}); ${rule}`);
  }
}

/** Log-probability of `token` under the softmax of a row. */
export function rowLogprob(s: ScoreMatrix, row: number, token: number, lse: number): number {
  return s.data[row * s.vocab + token] - lse;
}

/** A clock in milliseconds. */
export const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());
