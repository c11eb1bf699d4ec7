import type * as tf from '@tensorflow/tfjs-core';

/**
 * Scores for every row of a decoding batch on the host: `data[row * vocab + token]`. Logits processors
 * read one and return a new one (they never mutate their input). `-Infinity` marks a forbidden token.
 *
 * @example
 * ```ts
 * import type { ScoreMatrix } from '@dl/decode';
 * const scores: ScoreMatrix = { rows: 1, vocab: 3, data: new Float32Array([0.5, -1, 2]) };
 * ```
 */
export interface ScoreMatrix {
  /** Number of rows (sequences decoded side by side: inputs × beams or × samples). */
  readonly rows: number;
  /** Scores per row (the vocabulary size, or the extended vocabulary with the copy mechanism). */
  readonly vocab: number;
  /** Row-major scores, `rows × vocab` values. */
  readonly data: Float32Array;
}

/**
 * What a step function, logits processor or stopping criterion learns about the current step.
 *
 * @example
 * ```ts
 * import type { StepInfo } from '@dl/decode';
 * const atStart = (info: StepInfo) => info.step === 0;
 * ```
 */
export interface StepInfo {
  /** Tokens generated so far per row (0 on the first call). */
  readonly step: number;
  /** For each row, the index of the input (batch element) it decodes. */
  readonly batchIndex: readonly number[];
  /** For each row, the length of its prompt (the part of `tokens` that was given, not generated). */
  readonly promptLength: readonly number[];
  /** Milliseconds since the decoder started. */
  readonly elapsedMs: number;
}

/** What a {@link StepFn} returns. */
export interface StepOutput<S> {
  /**
   * Next-token scores `[rows, vocab]` (logits, or log-probabilities: only their softmax matters). The
   * decoder reads it with `await data()` and disposes it.
   */
  logits: tf.Tensor;
  /** The state for the next step (a KV cache, an RNN state, encoder outputs, or anything). */
  state: S;
}

/**
 * One decoding step of any model: given the tokens so far for each row (prompt and generated tokens; a
 * cached model feeds only the last one) and the state, returns next-token logits `[rows, vocab]` and the
 * new state. Every row of the batch (every input, beam and sample) goes through one call.
 *
 * State ownership: the decoder disposes every tensor of a state that a step (or a reorder) replaced and
 * no longer references, and the final state's tensors; a state object with `reorder` and `dispose` (a
 * KV cache) that is no longer referenced is disposed through its `dispose()`. What the initial state the
 * caller passed in holds stays the caller's: its tensors, its objects and what those hold by the end (a
 * cache a step appended to in place stays usable, and the caller disposes it). A model (`Module`) the
 * state points at is never touched. A step function may also dispose what it replaces itself.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import type { StepFn } from '@dl/decode';
 * // A bigram model: the logits depend only on the last token.
 * const table = tf.randomNormal([5, 5]);
 * const step: StepFn<null> = (tokens) => ({
 *   logits: tf.tidy(() => tf.gather(table, tf.tensor1d(tokens.map((t) => t[t.length - 1]), 'int32'))), // [rows, 5]
 *   state: null,
 * });
 * ```
 */
export type StepFn<S = unknown> = (tokens: readonly (readonly number[])[], state: S, info: StepInfo) => StepOutput<S> | Promise<StepOutput<S>>;

/**
 * Gathers a state along its row axis: row `i` of the result is row `indices[i]` of `state`. Beam search
 * uses it to follow the surviving beams (and to copy each input's state once per beam at the start);
 * sampling uses it to copy each input's state once per sample. The default (`gatherState`) calls
 * `reorder(indices)` on every object that has one (the state itself or KV caches anywhere inside it) and
 * gathers every other tensor of a plain container on axis 0.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import type { ReorderStateFn } from '@dl/decode';
 * // A KV cache stored as [layers][rows, heads, len, dim] tensors.
 * const reorder: ReorderStateFn<tf.Tensor[]> = (cache, idx) =>
 *   cache.map((t) => tf.gather(t, tf.tensor1d(idx, 'int32'), 0));
 * ```
 */
export type ReorderStateFn<S> = (state: S, indices: readonly number[]) => S;

/**
 * A state that knows how to reorder its own rows (see {@link ReorderStateFn}), such as `KVCache` and
 * `LinearAttentionState` of `@dl/attention`. `reorder` returns a new object that does not depend on this
 * one (disposing either leaves the other intact); add a `dispose()` and the decoders free the copies
 * they drop.
 *
 * @example
 * ```ts
 * import type { Reorderable } from '@dl/decode';
 * class Rows implements Reorderable<Rows> {
 *   constructor(readonly values: number[]) {}
 *   reorder(idx: readonly number[]) { return new Rows(idx.map((i) => this.values[i])); }
 * }
 * ```
 */
export interface Reorderable<S> {
  /** Returns the state whose row `i` is row `indices[i]` of this one. */
  reorder(indices: readonly number[]): S;
}

/**
 * A logits processor: maps the scores of every row to new scores, given the tokens so far. Pure (returns
 * a new matrix). Compose several with {@link processorList}.
 *
 * @example
 * ```ts
 * import type { LogitsProcessor } from '@dl/decode';
 * // Forbid token 0 everywhere.
 * const noZero: LogitsProcessor = (ids, s) => {
 *   const data = Float32Array.from(s.data);
 *   for (let r = 0; r < s.rows; r++) data[r * s.vocab] = -Infinity;
 *   return { rows: s.rows, vocab: s.vocab, data };
 * };
 * ```
 */
export type LogitsProcessor = (inputIds: readonly (readonly number[])[], scores: ScoreMatrix, info: StepInfo) => ScoreMatrix;

/** Why a sequence ended: the EOS token, a stop sequence, the length limit, the time budget, an abort, or a custom criterion's reason. */
export type FinishReason = 'eos' | 'stop-sequence' | 'length' | 'time' | 'abort' | (string & {});

/**
 * A stopping criterion: after each step, says which rows are done (`true` for all rows, or one flag per
 * row). `reason` is reported in {@link Hypothesis.finishReason}.
 *
 * @example
 * ```ts
 * import type { StoppingCriterion } from '@dl/decode';
 * const afterFive: StoppingCriterion = { reason: 'five', check: (_ids, info) => info.step >= 5 };
 * ```
 */
export interface StoppingCriterion {
  /** Reported as the finish reason of the rows it stops. */
  readonly reason: FinishReason;
  /** Which rows are done after this step: one boolean for all rows, or one per row. */
  check(inputIds: readonly (readonly number[])[], info: StepInfo): boolean | readonly boolean[];
}

/**
 * One decoded sequence.
 *
 * @example
 * ```ts
 * import type { Hypothesis } from '@dl/decode';
 * const show = (h: Hypothesis) => `${h.tokens.join(' ')}  (score ${h.score.toFixed(3)})`;
 * ```
 */
export interface Hypothesis {
  /** Generated tokens (the prompt excluded; a final EOS included). */
  tokens: number[];
  /**
   * Per-token log-probability: for greedy and sampling, log-softmax of the processed scores the token
   * was chosen from; for beam search, the token's processed log-softmax score (its addend of the beam
   * score, as HF's `output_scores`).
   */
  tokenLogprobs: number[];
  /** Σ tokenLogprobs. */
  sumLogprob: number;
  /** The sequence score: sumLogprob for greedy and sampling; sumLogprob / length^lengthPenalty for beams. */
  score: number;
  /** Why it ended. */
  finishReason: FinishReason;
}

/**
 * What every decoder returns.
 *
 * @example
 * ```ts
 * import type { GenerateResult } from '@dl/decode';
 * const best = (r: GenerateResult) => r.sequences.map((hyps) => hyps[0].tokens);
 * ```
 */
export interface GenerateResult {
  /** `sequences[input][k]`: the k-th sequence of each input (best first for beam search). */
  sequences: Hypothesis[][];
  /** Number of step-function calls. */
  steps: number;
}

/**
 * A token as soon as it is decided, for streaming (see {@link streamTokens}).
 *
 * @example
 * ```ts
 * import type { TokenEvent } from '@dl/decode';
 * const print = (e: TokenEvent) => console.log(`#${e.batchIndex}.${e.sequence}[${e.position}] = ${e.token}`);
 * ```
 */
export interface TokenEvent {
  /** The input it belongs to. */
  batchIndex: number;
  /** Which returned sequence of that input (the sample number; 0 for greedy and beam search). */
  sequence: number;
  /** Index among the generated tokens. */
  position: number;
  /** The token id. */
  token: number;
  /** Its log-probability (as in {@link Hypothesis.tokenLogprobs}). */
  logprob: number;
}

/**
 * Options every decoder shares.
 *
 * @example
 * ```ts
 * import type { CommonOptions } from '@dl/decode';
 * const opts: CommonOptions<null> = { maxNewTokens: 16, eosTokenId: 2, repetitionPenalty: 1.2 };
 * ```
 */
export interface CommonOptions<S> {
  /** Initial state (the caller keeps ownership of its tensors). One row per input. */
  state?: S;
  /** Gathers state rows (see {@link ReorderStateFn}). Default: the state's `reorder`, or gather axis 0 of every tensor. */
  reorderState?: ReorderStateFn<S>;
  /** Maximum number of generated tokens. Default 20. */
  maxNewTokens?: number;
  /** End-of-sequence token id(s). */
  eosTokenId?: number | readonly number[];
  /** Token appended to finished rows so rows stay aligned for the step function. Default: the first EOS, else 0. */
  padTokenId?: number;
  /** The EOS token is forbidden until this many tokens were generated (HF `min_new_tokens`; 0 = off). Needs `eosTokenId`. */
  minNewTokens?: number;
  /** The EOS token is forbidden while a row, prompt included, is shorter than this (HF `min_length`; 0 = off). Needs `eosTokenId`. */
  minLength?: number;
  /** HF repetition penalty θ > 0: seen tokens' scores s become s/θ if s > 0, s·θ otherwise. */
  repetitionPenalty?: number;
  /** Forbid repeating any n-gram of this size (HF `no_repeat_ngram_size`; 0 = off). */
  noRepeatNgramSize?: number;
  /**
   * Your logits processors, run after the built-in ones (repetition penalty → no-repeat-n-gram →
   * min-length → min-new-tokens) and before the sampling warpers (temperature → top-k → top-p → min-p →
   * typical), as HF runs a `logits_processor` list.
   */
  processors?: readonly LogitsProcessor[];
  /** Extra stopping criteria. */
  stoppingCriteria?: readonly StoppingCriterion[];
  /** Stop when any of these token sequences was generated (it stays in the output). */
  stopSequences?: readonly (readonly number[])[];
  /** Stop every row after this many milliseconds. */
  maxTimeMs?: number;
  /** Stop every row when aborted; what was decoded so far is returned. */
  signal?: AbortSignal;
  /** Called with every token as soon as it is decided; a returned promise is awaited (back-pressure). */
  onToken?: (event: TokenEvent) => void | Promise<void>;
  /** Expected logits width; a step returning another width throws. Default: the first step's width. */
  vocabSize?: number;
}
