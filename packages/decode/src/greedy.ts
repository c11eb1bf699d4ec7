import { checkKeys } from '@dl/core';
import type { CommonOptions, GenerateResult, StepFn } from './types.js';
import { COMMON_KEYS } from './options.js';
import { autoregressive } from './autoregressive.js';
import { argmaxRow } from './scores.js';

/** Options of {@link greedy}: the shared ones (see {@link CommonOptions}). */
export type GreedyOptions<S> = CommonOptions<S>;

/**
 * Greedy search: every step takes the most likely token (the first on ties, as `torch.argmax`), after
 * the logits processors (repetition penalty, no-repeat-n-gram, min-length, min-new-tokens, your own).
 * Unknown option keys are rejected (`maxLength` is a stopping criterion: `stoppingCriteria: [maxLength(n)]`).
 *
 * **When to use it.** The cheapest strategy (one row per input per step) and deterministic. Good for
 * short outputs with one right answer and for debugging a model; it can miss the best sequence when a
 * good continuation starts with a less likely token (beam search looks further), and it tends to repeat
 * itself in open-ended text (sample instead).
 *
 * Each result row is one sequence with its tokens (prompt excluded), per-token log-probabilities
 * (log-softmax of the processed scores) and score (their sum). Rows that finish early (EOS, stop
 * sequence) are padded with `padTokenId` for the step function, never in the result.
 *
 * @param step the model's step function (see {@link StepFn}).
 * @param inputIds one prompt per input (a decoder-only prompt, or the decoder start token of an encoder-decoder).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { greedy, type StepFn } from '@dl/decode';
 * const table = tf.tensor2d([[0, 2, 1], [0, 0, 3], [5, 0, 0]]); // bigram logits, token 0 = EOS
 * const step: StepFn<null> = (tokens) => ({
 *   logits: tf.tidy(() => tf.gather(table, tf.tensor1d(tokens.map((t) => t[t.length - 1]), 'int32'))), // [rows, 3]
 *   state: null,
 * });
 * const { sequences } = await greedy(step, [[1]], { eosTokenId: 0, maxNewTokens: 5 });
 * sequences[0][0].tokens; // [2, 0]
 * ```
 */
export async function greedy<S = unknown>(step: StepFn<S>, inputIds: readonly (readonly number[])[], options: GreedyOptions<S> = {}): Promise<GenerateResult> {
  checkKeys('greedy', options, COMMON_KEYS);
  return autoregressive('greedy', step, inputIds, options, 1, [], (s, r) => argmaxRow(s.data, r * s.vocab, s.vocab));
}
