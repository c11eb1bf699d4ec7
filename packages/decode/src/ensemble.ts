import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, checkNumber, DLArgumentError, isTensor } from '@dl/core';
import { stateTensors } from './state.js';
import type { StepFn, StepInfo, StepOutput } from './types.js';

/** One model of an ensemble: its step function and its initial state (what a model's `decoding(src)` returns). */
export interface EnsembleMember<S = unknown> {
  /** The model's step function (a {@link StepFn}; declared as a method so members of any state type fit one list). */
  step(tokens: readonly (readonly number[])[], state: S, info: StepInfo): StepOutput<S> | Promise<StepOutput<S>>;
  /** Its initial state (one row per input; the caller keeps ownership, as with any decoder's `state`). */
  state: S;
}

/** Options of {@link ensemble}. */
export interface EnsembleOptions {
  /** One non-negative weight per member (not all zero); normalised to sum 1. Default: equal weights. */
  weights?: readonly number[];
  /**
   * How the members' next-token distributions are combined:
   * - `'mean'` (default): the weighted mean of the probabilities, log Σᵢ wᵢ pᵢ (fairseq's ensemble).
   * - `'logMean'`: the weighted mean of the log-probabilities, Σᵢ wᵢ log pᵢ, a product of experts whose
   *   softmax is the normalised weighted geometric mean.
   */
  combine?: 'mean' | 'logMean';
}

/** What {@link ensemble} returns: pass both to a decoder. */
export interface EnsembleDecoding {
  /** The ensemble's step function: every member's step on the same tokens, their distributions combined. */
  step: StepFn<unknown[]>;
  /** The initial state: the members' states, in order. */
  state: unknown[];
}

const ENSEMBLE_KEYS: readonly string[] = ['weights', 'combine'];

/**
 * Decodes with several models at once: every step runs each member's step function on the same tokens
 * and combines their next-token distributions (after a log-softmax of each member's logits) into one,
 * so greedy search, beam search and sampling choose tokens the ensemble agrees on. Members may be of
 * any kind (a Transformer with its KV cache beside an LSTM with its recurrent state) but must share the
 * vocabulary. The ensemble's state is the array of the members' states, so beam search reorders each of
 * them (KV caches through their `reorder`, other tensors by gathering rows) with the default
 * `reorderState`.
 *
 * The combined scores are log-probabilities `[rows, vocab]`: `log Σᵢ wᵢ softmax(zᵢ)` for `'mean'`,
 * `Σᵢ wᵢ log softmax(zᵢ)` for `'logMean'` (wᵢ the normalised weights, zᵢ member i's logits).
 *
 * @param members each model's `{ step, state }`, such as `model.decoding(src)` of @dl/transformer.
 * @returns the ensemble's `{ step, state }` for {@link greedy}, {@link beamSearch} or {@link sample}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { beamSearch, ensemble, type StepFn } from '@dl/decode';
 * // Two bigram "models" over 4 tokens that disagree; the ensemble averages their probabilities.
 * const bigram = (table: number[][]): StepFn<null> => (tokens) => ({
 *   logits: tf.tensor2d(tokens.map((t) => table[t[t.length - 1]])), // [rows, 4]
 *   state: null,
 * });
 * const a = bigram([[0, 3, 1, 0], [0, 0, 0, 3], [0, 0, 0, 3], [0, 0, 0, 0]]);
 * const b = bigram([[0, 1, 3, 0], [0, 0, 0, 3], [0, 0, 0, 3], [0, 0, 0, 0]]);
 * const { step, state } = ensemble([{ step: a, state: null }, { step: b, state: null }], { weights: [2, 1] });
 * const r = await beamSearch(step, [[0]], { state, numBeams: 2, eosTokenId: 3, maxNewTokens: 4 });
 * console.log(r.sequences[0][0].tokens); // [1, 3]: model a weighs twice as much
 * ```
 */
export function ensemble(members: readonly EnsembleMember[], options: EnsembleOptions = {}): EnsembleDecoding {
  const where = 'ensemble';
  if (!Array.isArray(members) || members.length === 0) throw new DLArgumentError(where, 'members', 'a non-empty list of { step, state }', members);
  for (const [i, m] of members.entries()) {
    if (m == null || typeof m !== 'object' || typeof m.step !== 'function') throw new DLArgumentError(where, `members[${i}]`, 'an object { step, state } with a step function', m);
  }
  checkKeys(where, options, ENSEMBLE_KEYS);
  const combine = options.combine ?? 'mean';
  if (combine !== 'mean' && combine !== 'logMean') throw new DLArgumentError(where, 'combine', "'mean' or 'logMean'", combine);
  const raw = options.weights ?? members.map(() => 1);
  if (!Array.isArray(raw) || raw.length !== members.length) throw new DLArgumentError(where, 'weights', `one weight per member (${members.length})`, raw);
  raw.forEach((w, i) => checkNumber(where, `weights[${i}]`, w, 0));
  const total = raw.reduce((a, b) => a + b, 0);
  if (!(total > 0) || !Number.isFinite(total)) throw new DLArgumentError(where, 'weights', 'finite weights with a positive sum', raw);
  const weights = raw.map((w) => w / total);
  const steps: StepFn<unknown>[] = members.map((m) => (tokens, state, info) => m.step(tokens, state, info));

  const step: StepFn<unknown[]> = async (tokens, state: unknown[], info: StepInfo) => {
    if (!Array.isArray(state) || state.length !== steps.length) throw new DLArgumentError(where, 'state', `the ensemble's state: an array of ${steps.length} member states`, state);
    const outs: StepOutput<unknown>[] = [];
    try {
      for (const [i, s] of steps.entries()) {
        const out = await s(tokens, state[i], info);
        if (out == null || !isTensor(out.logits) || out.logits.rank !== 2) {
          throw new DLArgumentError(where, `members[${i}].step`, 'to return { logits: [rows, vocab], state }', out?.logits);
        }
        outs.push(out);
        const [rows, vocab] = out.logits.shape;
        const [rows0, vocab0] = outs[0].logits.shape;
        if (rows !== rows0 || vocab !== vocab0) {
          throw new DLArgumentError(where, `members[${i}].step`, `logits of shape [${rows0}, ${vocab0}] like members[0]'s (the members must share the vocabulary)`, out.logits);
        }
      }
      const logits = tf.tidy(() => {
        const lp = outs.map((o) => tf.logSoftmax(o.logits)); // each [rows, vocab]
        if (combine === 'logMean') return tf.addN(lp.map((l, i) => tf.mul(l, weights[i]))); // [rows, vocab]
        // log Σᵢ wᵢ pᵢ = logsumexp over members of (log wᵢ + log pᵢ); a zero weight drops the member.
        const kept = lp.flatMap((l, i) => (weights[i] > 0 ? [tf.add(l, Math.log(weights[i]))] : [])); // each [rows, vocab]
        return kept.length === 1 ? kept[0] : tf.logSumExp(tf.stack(kept), 0); // [rows, vocab]
      });
      for (const o of outs) o.logits.dispose();
      return { logits, state: outs.map((o) => o.state) };
    } catch (e) {
      // Free what the members that did run made: their logits and the tensors of their new states.
      for (const [i, o] of outs.entries()) {
        o.logits.dispose();
        const before = stateTensors(state[i]);
        for (const t of stateTensors(o.state)) if (!before.has(t) && !t.isDisposed) t.dispose();
      }
      throw e;
    }
  };
  return { step, state: members.map((m) => m.state) };
}
