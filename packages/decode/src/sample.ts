import { checkInt, checkNumber, DLArgumentError, getRng, Rng } from '@dl/core';
import type { CommonOptions, GenerateResult, LogitsProcessor, StepFn } from './types.js';
import { autoregressive } from './autoregressive.js';
import { softmaxRow } from './scores.js';
import { temperature } from './processors/temperature.js';
import { topK } from './processors/top-k.js';
import { topP } from './processors/top-p.js';
import { minP } from './processors/min-p.js';
import { typical } from './processors/typical.js';

/** Options of {@link sample}. */
export interface SampleOptions<S> extends CommonOptions<S> {
  /** Divide the logits by this (> 0). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (≥ 1). Default: no cut (HF's default is 50; we do not cut silently). */
  topK?: number;
  /** Nucleus: keep the smallest set of tokens whose probability reaches p, p ∈ (0, 1]. Default 1. */
  topP?: number;
  /** Drop tokens less likely than minP × the most likely one, minP ∈ [0, 1]. */
  minP?: number;
  /** Locally typical sampling mass ∈ (0, 1]. */
  typicalP?: number;
  /** Samples per input (rows decoded side by side, the state copied per sample). Default 1. */
  numReturnSequences?: number;
  /** Seed of a fresh `Rng` (from `@dl/core`) for this call. */
  seed?: number;
  /** The generator to draw from (default: a fresh one from `seed`, else the global one of `manualSeed`). */
  rng?: Rng;
}

/**
 * The sampling warpers in HF order: temperature → top-k → top-p → min-p → typical.
 *
 * @example
 * ```ts
 * import { samplingProcessors } from '@dl/decode';
 * const warpers = samplingProcessors({ temperature: 0.7, topP: 0.9 });
 * ```
 */
export function samplingProcessors(o: Pick<SampleOptions<unknown>, 'temperature' | 'topK' | 'topP' | 'minP' | 'typicalP'>, where = 'sample'): LogitsProcessor[] {
  const list: LogitsProcessor[] = [];
  if (o.temperature !== undefined) list.push(temperature(checkNumber(where, 'temperature', o.temperature, 0, Infinity, true)));
  if (o.topK !== undefined) list.push(topK(checkInt(where, 'topK', o.topK)));
  if (o.topP !== undefined) list.push(topP(checkNumber(where, 'topP', o.topP, 0, 1, true)));
  if (o.minP !== undefined) list.push(minP(checkNumber(where, 'minP', o.minP, 0, 1)));
  if (o.typicalP !== undefined) list.push(typical(checkNumber(where, 'typicalP', o.typicalP, 0, 1, true)));
  return list;
}

/**
 * Draws an index from a row's softmax by inverse CDF with one uniform from `rng` (on the host, so a
 * seed gives the same tokens on every backend). Tokens of probability 0 are never drawn.
 *
 * @example
 * ```ts
 * import { Rng } from '@dl/core';
 * import { sampleRow } from '@dl/decode';
 * const token = sampleRow(new Float32Array([0, 1, -Infinity]), 0, 3, new Rng(1)); // 0 or 1, never 2
 * ```
 */
export function sampleRow(scores: ArrayLike<number>, offset: number, n: number, rng: Rng): number {
  const p = softmaxRow(scores, offset, n);
  const u = rng.uniform();
  let cum = 0;
  let last = -1;
  for (let j = 0; j < n; j++) {
    if (p[j] <= 0) continue;
    cum += p[j];
    last = j;
    if (u < cum) return j;
  }
  return last; // rounding left u ≥ Σp: the last possible token
}

/**
 * Ancestral sampling: every step draws the next token from the softmax of the processed scores, after
 * the HF processors (repetition penalty → no-repeat-n-gram → min-new-tokens) and warpers (temperature →
 * top-k → top-p → min-p → typical). Draws happen on the host from a seedable `Rng` (from `@dl/core`), so a seed
 * reproduces the same text on cpu, wasm and webgpu (given the same logits).
 *
 * **When to use it.** Creative, open-ended generation (stories, dialogue, brainstorming) where many
 * outputs are right and variety matters; beam search and greedy would give bland, repetitive text.
 * Temperature trades diversity for coherence; top-p / min-p cut the unreliable tail adaptively; several
 * samples per input (`numReturnSequences`) give alternatives for reranking.
 *
 * @param step the model's step function (see {@link StepFn}).
 * @param inputIds one prompt per input.
 * @throws DLArgumentError for invalid options (temperature ≤ 0, topK < 1, topP ∉ (0, 1], …).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { sample, type StepFn } from '@dl/decode';
 * const step: StepFn<null> = (tokens) => ({ logits: tf.zeros([tokens.length, 10]), state: null });
 * const { sequences } = await sample(step, [[1]], { maxNewTokens: 8, topP: 0.9, temperature: 0.8, seed: 7, numReturnSequences: 3 });
 * sequences[0].length; // 3 samples
 * ```
 */
export async function sample<S = unknown>(step: StepFn<S>, inputIds: readonly (readonly number[])[], options: SampleOptions<S> = {}): Promise<GenerateResult> {
  const n = checkInt('sample', 'numReturnSequences', options.numReturnSequences ?? 1);
  if (options.seed !== undefined) checkInt('sample', 'seed', options.seed, 0);
  if (options.rng !== undefined && !(options.rng instanceof Rng)) throw new DLArgumentError('sample', 'rng', 'an Rng from @dl/core', options.rng);
  const rng = options.rng ?? (options.seed !== undefined ? new Rng(options.seed) : getRng());
  const warpers = samplingProcessors(options);
  return autoregressive('sample', step, inputIds, options, n, warpers, (s, r) => sampleRow(s.data, r * s.vocab, s.vocab, rng));
}
