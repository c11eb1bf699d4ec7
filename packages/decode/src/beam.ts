import { checkInt, checkKeys, checkNumber, DLArgumentError, type Rng } from '@dl/core';
import type { CommonOptions, FinishReason, GenerateResult, Hypothesis, StepFn, StepInfo } from './types.js';
import { BeamHypotheses, type EarlyStopping } from './beam-hypotheses.js';
import { buildCriteria, buildProcessors, checkCommon, checkInputIds, COMMON_KEYS } from './options.js';
import { StateKeeper, reorderRows, repeatInterleave } from './state.js';
import { checkScores, now, PROCESSED, runStep } from './runner.js';
import { logSoftmaxRows, logSumExp } from './scores.js';
import { callRng, SAMPLING_KEYS, samplingProcessors, warperOptions, type SamplingOptions } from './sample.js';

/** Options of {@link beamSearch}. */
export interface BeamSearchOptions<S> extends CommonOptions<S>, SamplingOptions {
  /** Beam width K ≥ 1 (K = 1 is greedy search). Default 4. */
  numBeams?: number;
  /** α in score = Σ log p / generatedLength^α. > 0 favours longer outputs, < 0 shorter. Default 1 (HF). */
  lengthPenalty?: number;
  /** HF `early_stopping`: `false` (default, HF's heuristic), `true` (stop once K hypotheses finished) or `'never'`. */
  earlyStopping?: EarlyStopping;
  /** Hypotheses returned per input, best first, ≤ numBeams. Default 1. */
  numReturnSequences?: number;
  /**
   * Beam sampling (HF `do_sample=True` with `num_beams > 1`): candidates are drawn from the softmax of
   * the beams' scores instead of taken best first, after the warpers (`temperature`, `topK`, `topP`,
   * `minP`, `typicalP`, which need it). Default false.
   */
  doSample?: boolean;
}

const BEAM_KEYS = ['numBeams', 'lengthPenalty', 'earlyStopping', 'numReturnSequences', 'doSample'] as const satisfies readonly (keyof BeamSearchOptions<unknown>)[];

interface Beam {
  row: number;
  token: number;
  score: number;
  logprob: number;
  /** A row of a finished input, kept aligned with a pad token. */
  padding?: boolean;
}

/**
 * Beam search, exactly HF `generate(num_beams=K)` (`_beam_search` with `BeamSearchScorer`):
 *
 * - every step scores each beam's continuations with log-softmax(logits), runs the processors on those
 *   log-probs (repetition penalty, no-repeat-n-gram, min-length, min-new-tokens, yours, then with
 *   `doSample` the warpers) and adds the beam's running sum; at the start only the first beam of each
 *   input is live (the others start at −1e9);
 * - over the K × vocab candidates of an input it takes the top `n = max(2, 1 + #EOS) · K` (with
 *   `doSample`: draws `n` without replacement from the softmax of those scores, as `torch.multinomial`,
 *   and ranks the draws by score; should fewer than `n` have a non-zero probability, the best of the
 *   rest fill up, where torch would fail); a candidate ending in EOS becomes a finished hypothesis if it
 *   ranks among the top K (else it is skipped), the others fill the K new beams in order;
 * - finished hypotheses score `Σ log p / generatedLength^lengthPenalty` (generated tokens, EOS included,
 *   prompt excluded) and an input stops by HF's `is_done` rule for `earlyStopping` (see
 *   {@link BeamHypotheses.isDone}); at `maxNewTokens` the live beams join the hypotheses;
 * - all beams of all inputs go through one call of the step function (`inputs × K` rows), and the state
 *   follows the surviving beams through `reorderState` (a KV cache is gathered per beam).
 *
 * Stopping criteria (stop sequences, time, abort, yours) end the whole search when they flag every live
 * row, as HF's `all(stopping_criteria(...))`; the live beams then join the hypotheses with that reason.
 * Streaming (`onToken`) emits a token once every live beam and kept hypothesis of the input agrees on it:
 * from then on it is certain to be in the best sequence.
 *
 * **When to use it.** Tasks with one right answer: translation, summarisation, speech recognition, and
 * the copy-heavy tasks of a pointer-generator. Beam search finds higher-probability sequences than
 * greedy at about K× the compute (less when batching hides it). For open-ended, creative text it gives
 * dull and repetitive output; sample instead, or use beam sampling (`doSample`) for varied outputs that
 * still favour likely ones. With warpers, `minTokensToKeep` is 1 + the number of EOS ids (as HF), and
 * the reported log-probs are the warped ones (HF's `scores`). With `numBeams: 1`, `doSample` keeps the
 * better of 2 draws at each step (a case HF routes to plain sampling: use {@link sample} for that).
 *
 * @param step the model's step function (called with `inputs × numBeams` rows).
 * @param inputIds one prompt per input.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { beamSearch, type StepFn } from '@dl/decode';
 * const table = tf.tensor2d([[0, 2, 1], [1, 0, 3], [5, 0, 0]]); // bigram logits, token 0 = EOS
 * const step: StepFn<null> = (tokens) => ({
 *   logits: tf.tidy(() => tf.gather(table, tf.tensor1d(tokens.map((t) => t[t.length - 1]), 'int32'))), // [rows, 3]
 *   state: null,
 * });
 * const { sequences } = await beamSearch(step, [[1]], { numBeams: 2, numReturnSequences: 2, eosTokenId: 0, maxNewTokens: 6 });
 * for (const h of sequences[0]) console.log(h.tokens, h.score);
 * // Beam sampling: candidates drawn from the beams' softmax (after the warpers) instead of taken best first.
 * const sampled = await beamSearch(step, [[1]], { numBeams: 2, doSample: true, temperature: 0.8, topK: 2, seed: 1, eosTokenId: 0, maxNewTokens: 6 });
 * // Unknown options are refused, naming the valid ones:
 * await beamSearch(step, [[1]], { num_beams: 2 } as never); // throws "beamSearch: options.num_beams must be one of the known options …"
 * ```
 */
export async function beamSearch<S = unknown>(step: StepFn<S>, inputIds: readonly (readonly number[])[], options: BeamSearchOptions<S> = {}): Promise<GenerateResult> {
  const where = 'beamSearch';
  checkKeys(where, options, [...COMMON_KEYS, ...BEAM_KEYS, ...SAMPLING_KEYS]);
  if (typeof step !== 'function') throw new DLArgumentError(where, 'step', 'a function (tokens, state, info) => { logits, state }', step);
  const K = checkInt(where, 'numBeams', options.numBeams ?? 4);
  const doSample = options.doSample ?? false;
  if (typeof doSample !== 'boolean') throw new DLArgumentError(where, 'doSample', 'a boolean', doSample);
  if (!doSample) {
    for (const key of SAMPLING_KEYS) {
      const value = options[key as keyof SamplingOptions];
      if (value !== undefined) throw new DLArgumentError(where, key, 'given with doSample: true (beam sampling)', value);
    }
  }
  const nReturn = checkInt(where, 'numReturnSequences', options.numReturnSequences ?? 1);
  if (nReturn > K) throw new DLArgumentError(where, 'numReturnSequences', `≤ numBeams (${K})`, nReturn);
  const alpha = checkNumber(where, 'lengthPenalty', options.lengthPenalty ?? 1);
  const early = options.earlyStopping ?? false;
  if (early !== true && early !== false && early !== 'never') throw new DLArgumentError(where, 'earlyStopping', "true, false or 'never'", early);
  const prompts = checkInputIds(where, inputIds);
  const common = checkCommon(where, options);
  const eos = new Set(common.eos);
  const rng = doSample ? callRng(where, options) : null;
  const warpers = doSample ? samplingProcessors(warperOptions(options), where, eos.size + 1) : [];
  const processors = buildProcessors(where, options, common, warpers);
  const criteria = buildCriteria(where, options, common, false);
  const B = prompts.length;
  const rows = B * K;
  const batchIndex = repeatInterleave(B, K);
  const promptLength = batchIndex.map((b) => prompts[b].length);
  let tokens = batchIndex.map((b) => [...prompts[b]]);
  let generated: number[][] = batchIndex.map(() => []);
  let logprobs: number[][] = batchIndex.map(() => []);
  let beamScores: number[] = batchIndex.map((_, r) => (r % K === 0 ? 0 : -1e9));
  const hyps = prompts.map(() => new BeamHypotheses(K, alpha, early, common.maxNewTokens));
  const done = prompts.map(() => false);
  const emitted = prompts.map(() => 0);
  const vocab = { size: options.vocabSize };
  const started = now();
  const keeper = new StateKeeper<S>(options.state as S);
  const nKeep = Math.max(2, 1 + eos.size) * K;
  let steps = 0;
  let stopReason: FinishReason = 'length';
  try {
    reorderRows(keeper, batchIndex, options.reorderState, rows);
    for (let t = 0; t < common.maxNewTokens; t++) {
      if (options.signal?.aborted) {
        stopReason = 'abort';
        break;
      }
      const info: StepInfo = { step: t, batchIndex, promptLength, elapsedMs: now() - started };
      const logits = await runStep(where, step, tokens, keeper, info, vocab);
      steps++;
      const V = logits.vocab;
      // A token's log-prob is scores[row, token] + shift[row]. Without processors the log-softmax is not
      // materialised (a pass over rows × vocab saved): shift = −logsumexp of the raw logits.
      const scores = processors.length ? processors.reduce((s, p) => p(tokens, s, info), logSoftmaxRows(logits)) : logits;
      if (processors.length) checkScores(where, PROCESSED, scores, t);
      const shift = beamScores.map((_, r) => {
        if (processors.length) return 0;
        const lse = logSumExp(logits.data, r * V, V);
        return lse === -Infinity ? -Infinity : -lse; // a row of only −∞ stays −∞ (never −∞ + ∞)
      });
      const next: Beam[] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          for (let k = 0; k < K; k++) next.push({ row: b * K + k, token: common.pad, score: beamScores[b * K + k], logprob: 0, padding: true });
          continue;
        }
        const top = rng ? sampleCandidates(scores.data, shift, beamScores, b * K, K, V, nKeep, rng) : topCandidates(scores.data, shift, beamScores, b * K, K, V, nKeep);
        const chosen: Beam[] = [];
        for (let rank = 0; rank < top.length && chosen.length < K; rank++) {
          const c = top[rank];
          if (eos.has(c.token)) {
            if (rank >= K) continue;
            hyps[b].add([...generated[c.row], c.token], [...logprobs[c.row], c.logprob], c.score, t + 1, 'eos');
          } else {
            chosen.push(c);
          }
        }
        if (chosen.length < K) throw new Error(`${where}: fewer than ${K} non-EOS candidates for input ${b} at step ${t} (vocabulary too small for the beam width?)`);
        next.push(...chosen);
        done[b] = hyps[b].isDone(top[0].score, t + 1);
      }
      // Follow the surviving beams: new row i continues row next[i].row.
      const parents = next.map((c) => c.row);
      tokens = next.map((c) => [...tokens[c.row], c.token]);
      const newGenerated = next.map((c) => (c.padding ? generated[c.row] : [...generated[c.row], c.token]));
      logprobs = next.map((c) => (c.padding ? logprobs[c.row] : [...logprobs[c.row], c.logprob]));
      generated = newGenerated;
      beamScores = next.map((c) => c.score);
      reorderRows(keeper, parents, options.reorderState, rows);
      if (options.onToken) await emitDecided(options.onToken, hyps, generated, logprobs, done, emitted, K);
      if (done.every(Boolean)) break;
      const after: StepInfo = { step: t + 1, batchIndex, promptLength, elapsedMs: now() - started };
      const stop = criteria.find((c) => {
        const flags = c.check(tokens, after);
        // Rows of inputs already done are padding: only the live rows must all be flagged.
        return flags === true || (Array.isArray(flags) && flags.every((f: boolean, r: number) => f || done[batchIndex[r]]));
      });
      if (stop) {
        stopReason = stop.reason;
        break;
      }
    }
    // Live beams of unfinished inputs join their hypotheses (HF `finalize`).
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      for (let k = 0; k < K; k++) {
        const r = b * K + k;
        hyps[b].add(generated[r], logprobs[r], beamScores[r], Math.max(generated[r].length, 1), stopReason);
      }
    }
  } finally {
    keeper.dispose();
  }
  const sequences: Hypothesis[][] = hyps.map((h) => h.sorted().slice(0, nReturn).map((x) => ({ ...x })));
  if (options.onToken) {
    for (let b = 0; b < B; b++) {
      const best = sequences[b][0];
      for (let i = emitted[b]; i < best.tokens.length; i++) {
        await options.onToken({ batchIndex: b, sequence: 0, position: i, token: best.tokens[i], logprob: best.tokenLogprobs[i] });
      }
    }
  }
  return { sequences, steps };
}

/**
 * The `n` best (beam, token) continuations of one input: scores[row, token] + shift[row] + beamScores[row]
 * over its K rows, best first; ties go to the lower flat index (beam-major), like a stable top-k. The
 * returned score is recomputed as beamScore + float32 log-prob, so it equals the sum of the per-token log-probs.
 */
function topCandidates(scores: Float32Array, shift: number[], beamScores: number[], firstRow: number, K: number, V: number, n: number): Beam[] {
  const vals: number[] = [];
  const flat: number[] = [];
  for (let k = 0; k < K; k++) {
    const row = firstRow + k;
    const base = shift[row] + beamScores[row];
    const o = row * V;
    for (let j = 0; j < V; j++) {
      const v = scores[o + j] + base;
      if (vals.length === n && !(v > vals[n - 1])) continue;
      let pos = vals.length === n ? n - 1 : vals.length;
      while (pos > 0 && vals[pos - 1] < v) pos--;
      if (vals.length === n) {
        vals.pop();
        flat.pop();
      }
      vals.splice(pos, 0, v);
      flat.splice(pos, 0, k * V + j);
    }
  }
  return flat.map((f, i) => {
    const row = firstRow + Math.floor(f / V);
    const token = f % V;
    const logprob = Math.fround(scores[row * V + token] + shift[row]);
    return { row, token, score: beamScores[row] + logprob, logprob };
  });
}

/**
 * Beam sampling's candidates of one input (HF `_beam_search` with `do_sample`): `n` (beam, token) pairs
 * drawn without replacement from the softmax of scores[row, token] + shift[row] + beamScores[row] over
 * its K rows (`torch.multinomial(probs, n)`: each draw picks from what is left, in proportion to its
 * probability), then sorted by score, best first (ties: lower flat index). When fewer than `n` pairs have
 * a non-zero probability, the highest-scoring of the rest fill up.
 */
function sampleCandidates(scores: Float32Array, shift: number[], beamScores: number[], firstRow: number, K: number, V: number, n: number, rng: Rng): Beam[] {
  const total = K * V;
  const value = new Float64Array(total);
  let max = -Infinity;
  for (let k = 0; k < K; k++) {
    const row = firstRow + k;
    const base = shift[row] + beamScores[row];
    for (let j = 0; j < V; j++) {
      const v = scores[row * V + j] + base;
      value[k * V + j] = v;
      if (v > max) max = v;
    }
  }
  const weight = new Float64Array(total);
  if (max > -Infinity) for (let f = 0; f < total; f++) weight[f] = Math.exp(value[f] - max);
  const taken = new Uint8Array(total);
  const picked: number[] = [];
  while (picked.length < Math.min(n, total)) {
    let mass = 0;
    for (let f = 0; f < total; f++) if (!taken[f]) mass += weight[f];
    let choice = -1;
    if (mass > 0) {
      const u = rng.uniform() * mass;
      let cum = 0;
      for (let f = 0; f < total; f++) {
        if (taken[f] || weight[f] === 0) continue;
        cum += weight[f];
        choice = f; // the last possible one if rounding leaves u ≥ the sum
        if (u < cum) break;
      }
    } else {
      for (let f = 0; f < total; f++) if (!taken[f] && (choice < 0 || value[f] > value[choice])) choice = f;
    }
    taken[choice] = 1;
    picked.push(choice);
  }
  picked.sort((a, b) => value[b] - value[a] || a - b);
  return picked.map((f) => {
    const row = firstRow + Math.floor(f / V);
    const token = f % V;
    const logprob = Math.fround(scores[row * V + token] + shift[row]);
    return { row, token, score: beamScores[row] + logprob, logprob };
  });
}

/** Emits, per input, the tokens every live beam and kept hypothesis agrees on (certain to be in the best). */
async function emitDecided(
  onToken: NonNullable<CommonOptions<unknown>['onToken']>,
  hyps: BeamHypotheses[],
  generated: number[][],
  logprobs: number[][],
  done: boolean[],
  emitted: number[],
  K: number,
): Promise<void> {
  for (let b = 0; b < hyps.length; b++) {
    if (done[b]) continue; // the final best is emitted at the end
    const candidates: { tokens: number[]; lps: number[] }[] = hyps[b].beams.map((h) => ({ tokens: h.tokens, lps: h.tokenLogprobs }));
    for (let k = 0; k < K; k++) candidates.push({ tokens: generated[b * K + k], lps: logprobs[b * K + k] });
    const first = candidates[0];
    let common = first.tokens.length;
    for (const c of candidates) {
      let i = 0;
      while (i < common && i < c.tokens.length && c.tokens[i] === first.tokens[i]) i++;
      common = i;
    }
    for (let i = emitted[b]; i < common; i++) await onToken({ batchIndex: b, sequence: 0, position: i, token: first.tokens[i], logprob: first.lps[i] });
    emitted[b] = Math.max(emitted[b], common);
  }
}
