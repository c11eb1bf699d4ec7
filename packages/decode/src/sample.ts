import { checkInt, checkKeys, checkNumber, DLArgumentError, getRng, Rng } from '@dl/core';
import type { CommonOptions, GenerateResult, LogitsProcessor, StepFn } from './types.js';
import { autoregressive } from './autoregressive.js';
import { checkOff, COMMON_KEYS } from './options.js';
import { softmaxRow } from './scores.js';
import { temperature } from './processors/temperature.js';
import { topK } from './processors/top-k.js';
import { topP } from './processors/top-p.js';
import { minP } from './processors/min-p.js';
import { typical } from './processors/typical.js';

/**
 * The sampling options {@link sample} and beam sampling (`beamSearch` with `doSample`) share: the
 * warpers (HF order temperature → top-k → top-p → min-p → typical, run after every other processor) and
 * the random generator.
 *
 * Generators: every call draws from its own generator, never from one another call is using. It is
 * `rng` if you pass one; else a fresh `Rng(seed)`; else a fresh `Rng` seeded with one draw from the
 * global generator (`manualSeed` from `@dl/core`) when the call starts. So decodes running side by side
 * never change each other's tokens, a seed reproduces a call exactly, and after `manualSeed(s)` a
 * program that starts its decodes in the same order gets the same tokens.
 *
 * @example
 * ```ts
 * import type { SamplingOptions } from '@dl/decode';
 * const creative: SamplingOptions = { temperature: 0.8, topP: 0.95, seed: 1 };
 * ```
 */
export interface SamplingOptions {
  /** Divide the log-probabilities by this (> 0). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (≥ 0; 0 = off, as HF). Default off (HF's default is 50; we do not cut silently). */
  topK?: number;
  /** Nucleus: keep the smallest set of tokens whose probability reaches p, p ∈ (0, 1]. Default 1 (off). */
  topP?: number;
  /** Drop tokens less likely than minP × the most likely one, minP ∈ [0, 1]. */
  minP?: number;
  /** Locally typical sampling mass ∈ (0, 1] (1 = off). */
  typicalP?: number;
  /** Seed of a fresh `Rng` (from `@dl/core`) for this call. Not together with `rng`. */
  seed?: number;
  /** The generator to draw from. Default: a fresh one from `seed`, else one seeded by the global generator. */
  rng?: Rng;
}

/** Options of {@link sample}. */
export interface SampleOptions<S> extends CommonOptions<S>, SamplingOptions {
  /** Samples per input (rows decoded side by side, the state copied per sample). Default 1. */
  numReturnSequences?: number;
}

/** The warper options (the keys {@link samplingProcessors} reads). */
export const WARPER_KEYS = ['temperature', 'topK', 'topP', 'minP', 'typicalP'] as const satisfies readonly (keyof SamplingOptions)[];
/** Every key of {@link SamplingOptions}. */
export const SAMPLING_KEYS: readonly string[] = [...WARPER_KEYS, 'seed', 'rng'] satisfies readonly (keyof SamplingOptions)[];

/**
 * The sampling warpers in HF order: temperature → top-k → top-p → min-p → typical. `topK: 0`,
 * `topP: 1`, `typicalP: 1` and `temperature: 1` are off, as in HF.
 *
 * @param o the warper options (other keys are rejected).
 * @param where the name errors start with. Default `'sample'`.
 * @param minTokensToKeep the fewest tokens top-k, top-p, min-p and typical keep (beam sampling keeps
 *   1 + the number of EOS ids, as HF). Default 1.
 *
 * @example
 * ```ts
 * import { samplingProcessors } from '@dl/decode';
 * const warpers = samplingProcessors({ temperature: 0.7, topP: 0.9 });
 * ```
 */
export function samplingProcessors(o: Pick<SamplingOptions, 'temperature' | 'topK' | 'topP' | 'minP' | 'typicalP'>, where = 'sample', minTokensToKeep = 1): LogitsProcessor[] {
  checkKeys(where, o, WARPER_KEYS);
  checkInt(where, 'minTokensToKeep', minTokensToKeep);
  const list: LogitsProcessor[] = [];
  if (o.temperature !== undefined) list.push(temperature(checkNumber(where, 'temperature', o.temperature, 0, Infinity, true)));
  if (o.topK !== undefined && checkOff(where, 'topK', o.topK) > 0) list.push(topK(o.topK, minTokensToKeep));
  if (o.topP !== undefined) list.push(topP(checkNumber(where, 'topP', o.topP, 0, 1, true), minTokensToKeep));
  if (o.minP !== undefined) list.push(minP(checkNumber(where, 'minP', o.minP, 0, 1), minTokensToKeep));
  if (o.typicalP !== undefined) list.push(typical(checkNumber(where, 'typicalP', o.typicalP, 0, 1, true), minTokensToKeep));
  return list;
}

/** The warper options of `o` alone (for {@link samplingProcessors}). */
export function warperOptions(o: SamplingOptions): Pick<SamplingOptions, (typeof WARPER_KEYS)[number]> {
  const out: Record<string, unknown> = {};
  for (const k of WARPER_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** The generator a sampling call draws from (see {@link SamplingOptions} for the rule). */
export function callRng(where: string, o: SamplingOptions): Rng {
  if (o.rng !== undefined) {
    if (!(o.rng instanceof Rng)) throw new DLArgumentError(where, 'rng', 'an Rng from @dl/core', o.rng);
    if (o.seed !== undefined) throw new DLArgumentError(where, 'seed', 'omitted when rng is given', o.seed);
    return o.rng;
  }
  if (o.seed !== undefined) return new Rng(checkInt(where, 'seed', o.seed, 0));
  return new Rng(getRng().nextUint32());
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
 * the HF processors (repetition penalty → no-repeat-n-gram → min-length → min-new-tokens), your
 * processors, and the warpers (temperature → top-k → top-p → min-p → typical). Draws happen on the host
 * from a seedable `Rng` (from `@dl/core`), so a seed reproduces the same text on cpu, wasm and webgpu
 * (given the same logits). Each call has its own generator (see {@link SamplingOptions}), so concurrent
 * decodes do not disturb each other.
 *
 * **When to use it.** Creative, open-ended generation (stories, dialogue, brainstorming) where many
 * outputs are right and variety matters; beam search and greedy would give bland, repetitive text.
 * Temperature trades diversity for coherence; top-p / min-p cut the unreliable tail adaptively; several
 * samples per input (`numReturnSequences`) give alternatives for reranking.
 *
 * @param step the model's step function (see {@link StepFn}).
 * @param inputIds one prompt per input.
 * @throws DLArgumentError for invalid or unknown options (temperature ≤ 0, topK < 0, topP ∉ (0, 1], `top_k`, …).
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
  checkKeys('sample', options, [...COMMON_KEYS, ...SAMPLING_KEYS, 'numReturnSequences']);
  const n = checkInt('sample', 'numReturnSequences', options.numReturnSequences ?? 1);
  const rng = callRng('sample', options);
  const warpers = samplingProcessors(warperOptions(options));
  return autoregressive('sample', step, inputIds, options, n, warpers, (s, r) => sampleRow(s.data, r * s.vocab, s.vocab, rng));
}
