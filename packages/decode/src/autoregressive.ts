import { DLArgumentError } from '@dl/core';
import type { CommonOptions, FinishReason, GenerateResult, Hypothesis, LogitsProcessor, ScoreMatrix, StepFn, StepInfo } from './types.js';
import { buildCriteria, buildProcessors, checkCommon, checkInputIds } from './options.js';
import { StateKeeper, reorderRows, repeatInterleave } from './state.js';
import { checkScores, now, PROCESSED, runStep } from './runner.js';
import { logSumExp } from './scores.js';

/** Picks the next token of one row from its processed scores. */
export type Chooser = (scores: ScoreMatrix, row: number) => number;

/**
 * The loop greedy search and sampling share (HF `_sample`): every row takes one token per step from its
 * processed scores until a stopping criterion ends it; finished rows are padded so rows stay aligned.
 */
export async function autoregressive<S>(
  where: string,
  step: StepFn<S>,
  inputIds: readonly (readonly number[])[],
  options: CommonOptions<S>,
  perInput: number,
  warpers: LogitsProcessor[],
  choose: Chooser,
): Promise<GenerateResult> {
  if (typeof step !== 'function') throw new DLArgumentError(where, 'step', 'a function (tokens, state, info) => { logits, state }', step);
  const prompts = checkInputIds(where, inputIds);
  const common = checkCommon(where, options);
  const processors = buildProcessors(where, options, common, warpers);
  const criteria = buildCriteria(where, options, common);
  const rows = prompts.length * perInput;
  const batchIndex = repeatInterleave(prompts.length, perInput);
  const tokens = batchIndex.map((b) => [...prompts[b]]);
  const promptLength = batchIndex.map((b) => prompts[b].length);
  const generated: number[][] = batchIndex.map(() => []);
  const logprobs: number[][] = batchIndex.map(() => []);
  const reason: (FinishReason | null)[] = batchIndex.map(() => null);
  const vocab = { size: options.vocabSize };
  const started = now();
  const keeper = new StateKeeper<S>(options.state as S);
  let steps = 0;
  try {
    if (perInput > 1) reorderRows(keeper, batchIndex, options.reorderState, rows);
    for (let t = 0; ; t++) {
      if (options.signal?.aborted) {
        for (let r = 0; r < rows; r++) reason[r] ??= 'abort';
        break;
      }
      const info: StepInfo = { step: t, batchIndex, promptLength, elapsedMs: now() - started };
      const logits = await runStep(where, step, tokens, keeper, info, vocab);
      steps++;
      const scores = processors.reduce((s, p) => p(tokens, s, info), logits);
      if (processors.length) checkScores(where, PROCESSED, scores, t);
      for (let r = 0; r < rows; r++) {
        if (reason[r] !== null) {
          tokens[r].push(common.pad);
          continue;
        }
        const lse = logSumExp(scores.data, r * scores.vocab, scores.vocab);
        if (!(lse > -Infinity)) {
          throw new Error(`${where}: every token is forbidden for row ${r} at step ${t} (all processed scores are -Infinity)`);
        }
        const token = choose(scores, r);
        const lp = scores.data[r * scores.vocab + token] - lse;
        tokens[r].push(token);
        generated[r].push(token);
        logprobs[r].push(lp);
        await options.onToken?.({ batchIndex: batchIndex[r], sequence: r % perInput, position: generated[r].length - 1, token, logprob: lp });
      }
      const after: StepInfo = { step: t + 1, batchIndex, promptLength, elapsedMs: now() - started };
      for (const c of criteria) {
        const flags = c.check(tokens, after);
        for (let r = 0; r < rows; r++) if (reason[r] === null && (flags === true || (Array.isArray(flags) && flags[r]))) reason[r] = c.reason;
      }
      if (reason.every((x) => x !== null)) break;
    }
  } finally {
    keeper.dispose();
  }
  const sequences: Hypothesis[][] = prompts.map(() => []);
  for (let r = 0; r < rows; r++) {
    const sum = logprobs[r].reduce((a, b) => a + b, 0);
    sequences[batchIndex[r]].push({ tokens: generated[r], tokenLogprobs: logprobs[r], sumLogprob: sum, score: sum, finishReason: reason[r] ?? 'length' });
  }
  return { sequences, steps };
}
