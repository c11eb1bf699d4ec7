import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkShape, DLArgumentError, isTensor } from '@dl/core';
import type { StepFn, StepInfo } from './types.js';

/** A source text mapped for the copy mechanism (see {@link extendSource}). */
export interface CopySource {
  /** Ids for the model's input: in-vocabulary ids, OOV words as `unkTokenId`. */
  modelIds: number[];
  /** Ids in the extended vocabulary: OOV words get `vocabSize + i`, i their index in `oovs`. */
  extendedIds: number[];
  /** This source's out-of-vocabulary words, in order of first appearance. */
  oovs: string[];
}

/**
 * Maps a source text to ids for the pointer-generator (See et al. 2017): in-vocabulary words keep their
 * id; each distinct out-of-vocabulary word gets a temporary id `vocabSize + i` in the extended vocabulary,
 * so the decoder can copy (emit) it even though the model cannot generate it.
 *
 * @param words the source tokens.
 * @param vocab word → id (a Map or a lookup returning undefined for OOV words).
 * @param vocabSize the model's vocabulary size V.
 * @param unkTokenId the id the model sees for OOV words.
 *
 * @example
 * ```ts
 * import { extendSource } from '@dl/decode';
 * const vocab = new Map([['<unk>', 0], ['the', 1], ['cat', 2]]);
 * const src = extendSource(['the', 'zorb', 'cat', 'zorb'], vocab, 3, 0);
 * // src.extendedIds = [1, 3, 2, 3], src.modelIds = [1, 0, 2, 0], src.oovs = ['zorb']
 * ```
 */
export function extendSource(
  words: readonly string[],
  vocab: ReadonlyMap<string, number> | ((word: string) => number | undefined),
  vocabSize: number,
  unkTokenId: number,
): CopySource {
  checkInt('extendSource', 'vocabSize', vocabSize);
  checkInt('extendSource', 'unkTokenId', unkTokenId, 0);
  if (!Array.isArray(words)) throw new DLArgumentError('extendSource', 'words', 'a list of strings', words);
  const lookup = typeof vocab === 'function' ? vocab : (w: string) => vocab.get(w);
  const oovs: string[] = [];
  const modelIds: number[] = [];
  const extendedIds: number[] = [];
  for (const w of words) {
    const id = lookup(w);
    if (id !== undefined && id < vocabSize) {
      modelIds.push(id);
      extendedIds.push(id);
    } else {
      let i = oovs.indexOf(w);
      if (i < 0) i = oovs.push(w) - 1;
      modelIds.push(unkTokenId);
      extendedIds.push(vocabSize + i);
    }
  }
  return { modelIds, extendedIds, oovs };
}

/**
 * Turns extended-vocabulary ids back into words: ids < V through `idToWord`, ids ≥ V from the source's
 * OOV list.
 *
 * @example
 * ```ts
 * import { extendedToWords } from '@dl/decode';
 * extendedToWords([1, 3], (id) => ['<unk>', 'the', 'cat'][id], 3, ['zorb']); // ['the', 'zorb']
 * ```
 */
export function extendedToWords(ids: readonly number[], idToWord: (id: number) => string, vocabSize: number, oovs: readonly string[]): string[] {
  return ids.map((id) => (id < vocabSize ? idToWord(id) : (oovs[id - vocabSize] ?? `<oov ${id - vocabSize}?>`)));
}

/** Backends that read a tensor synchronously without stalling a GPU (WebGPU in Node cannot at all). */
const SYNC_READ_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/**
 * The pointer-generator's final distribution (See et al. 2017, eq. 9):
 *
 * $$
 * P(w) = p_{\mathrm{gen}}\, P_{\mathrm{vocab}}(w) + (1 - p_{\mathrm{gen}}) \sum_{i:\, w_i = w} a_i
 * $$
 *
 * over the extended vocabulary
 * (`P_vocab` is 0 for OOV words, so they can only be copied). Differentiable in all three inputs.
 *
 * The attention is scattered onto the ids with one scatter-add (and gathered back for its gradient), so
 * the cost is linear in rows × (source length + extended vocabulary) on every backend.
 *
 * Source ids must lie in [−1, extendedVocabSize): an id outside would move probability into another row.
 * Ids given as arrays are checked on every backend; an int32 tensor is read back and checked on the
 * backends that read synchronously (cpu, wasm, tensorflow), while on GPU backends a row with such an id
 * comes out all NaN (a GPU cannot be read without stalling, and a NaN cannot go unnoticed).
 *
 * @param vocabProbs `[rows, V]` the generator's distribution (softmax of the vocabulary logits).
 * @param attention `[rows, S]` attention over source positions (rows sum to 1).
 * @param pGen `[rows]` or `[rows, 1]`, the generation probability in [0, 1].
 * @param sourceIds `[rows, S]` extended ids of the source tokens, an int32 tensor or arrays; −1 marks
 *   padding (ignored).
 * @param extendedVocabSize V + the largest number of OOV words of any row.
 * @returns `[rows, extendedVocabSize]` probabilities.
 * @throws DLArgumentError for shapes that disagree and for source ids outside [−1, extendedVocabSize).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { copyDistribution } from '@dl/decode';
 * const p = copyDistribution(
 *   tf.tensor2d([[0.5, 0.5, 0]]),          // P_vocab over V = 3
 *   tf.tensor2d([[0.25, 0.75]]),           // attention over 2 source tokens
 *   tf.tensor1d([0.6]),                    // p_gen
 *   [[1, 3]],                              // source = [word 1, OOV #0] (or an int32 tensor)
 *   4,
 * ); // [[0.3, 0.4, 0, 0.3]]
 * ```
 */
export function copyDistribution(
  vocabProbs: tf.Tensor,
  attention: tf.Tensor,
  pGen: tf.Tensor,
  sourceIds: tf.Tensor | readonly (readonly number[])[],
  extendedVocabSize: number,
): tf.Tensor2D {
  const where = 'copyDistribution';
  checkShape(where, 'vocabProbs', vocabProbs, { rank: 2 });
  const rows = vocabProbs.shape[0] as number;
  const V = vocabProbs.shape[1] as number;
  checkShape(where, 'attention', attention, { rank: 2, dims: { 0: rows } });
  const S = attention.shape[1] as number;
  checkShape(where, 'pGen', pGen, { rank: [1, 2], dims: { 0: rows } });
  if (pGen.rank === 2 && pGen.shape[1] !== 1) throw new DLArgumentError(where, 'pGen', `of shape [${rows}] or [${rows}, 1]`, pGen);
  const Vext = checkInt(where, 'extendedVocabSize', extendedVocabSize, V);
  let checked = true;
  if (isTensor(sourceIds)) {
    checkShape(where, 'sourceIds', sourceIds, { rank: 2, dims: { 0: rows, 1: S }, dtype: 'int32' });
    // One small read keeps a bad id from silently moving probability between rows.
    if (SYNC_READ_BACKENDS.has(tf.getBackend())) checkIds(where, sourceIds.dataSync(), S, Vext);
    else checked = false;
  } else {
    if (!Array.isArray(sourceIds) || sourceIds.length !== rows || !sourceIds.every((r) => Array.isArray(r) && r.length === S)) {
      throw new DLArgumentError(where, 'sourceIds', `of shape [${rows}, ${S}] (an int32 tensor or arrays)`, sourceIds);
    }
    checkIds(where, sourceIds.flat(), S, Vext);
  }
  if (rows === 0) return tf.zeros([0, Vext]) as tf.Tensor2D;
  return tf.tidy(() => {
    const ids = isTensor(sourceIds) ? sourceIds : tf.tensor2d(sourceIds.flat(), [rows, S], 'int32'); // [rows, S]
    const g = tf.reshape(pGen, [rows, 1]); // [rows, 1]
    const gen = tf.mul(g, tf.pad(vocabProbs, [[0, 0], [0, Vext - V]])); // [rows, Vext]
    // Each (row, position) adds its attention at row·(Vext + 1) + id; padding goes to the row's spare
    // column Vext, which is dropped.
    const cols = Vext + 1;
    const inRange = tf.logicalAnd(tf.greaterEqual(ids, tf.scalar(0, 'int32')), tf.less(ids, tf.scalar(Vext, 'int32'))); // [rows, S]
    const rowBase = tf.reshape(tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(cols, 'int32')), [rows, 1]); // [rows, 1]
    const target = tf.reshape(tf.add(rowBase, tf.where(inRange, ids, tf.fill([rows, S], Vext, 'int32'))), [rows * S, 1]); // [rows·S, 1]
    let copied = tf.slice(scatterAdd(attention, target, rows, S, cols), [0, 0], [rows, Vext]); // [rows, Vext]
    if (!checked) {
      const bad = tf.any(tf.logicalAnd(tf.logicalNot(inRange), tf.notEqual(ids, tf.scalar(-1, 'int32'))), 1, true); // [rows, 1]
      copied = tf.where(tf.tile(bad, [1, Vext]), tf.fill([rows, Vext], NaN), copied); // [rows, Vext]
    }
    return tf.add(gen, tf.mul(tf.sub(1, g), copied)) as tf.Tensor2D; // [rows, Vext]
  });
}

/** Throws unless every id is an integer in [−1, Vext). */
function checkIds(where: string, ids: ArrayLike<number>, S: number, Vext: number): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < -1 || id >= Vext) {
      throw new DLArgumentError(where, 'sourceIds', `ids in [-1, ${Vext}) (−1 = padding)`, asIs(`${id} at [${Math.floor(i / S)}, ${i % S}]`));
    }
  }
}

/**
 * `[rows, cols]` sums of `attention` `[rows, S]` at the flat positions `target` `[rows·S, 1]` (a
 * scatter-add, linear in its size on every backend), with the gradient a gather of the upstream gradient
 * at the same positions.
 */
function scatterAdd(attention: tf.Tensor, target: tf.Tensor, rows: number, S: number, cols: number): tf.Tensor {
  const scatter = tf.customGrad((a, save) => {
    (save as tf.GradSaveFunc)([target]);
    const value = tf.reshape(tf.scatterND(target, tf.reshape(a as tf.Tensor, [rows * S]), [rows * cols]), [rows, cols]); // [rows, cols]
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.reshape(tf.gather(tf.reshape(dy, [rows * cols]), tf.reshape(saved[0], [rows * S])), [rows, S]); // [rows, S]
    return { value, gradFunc };
  });
  return scatter(attention); // [rows, cols]
}

/** What a pointer-generator step returns (see {@link copyStep}). */
export interface PointerGeneratorOutput<S> {
  /** `[rows, V]` logits over the model's vocabulary. */
  logits: tf.Tensor;
  /** `[rows, S]` attention over the source positions of each row's input (probabilities). */
  attention: tf.Tensor;
  /** `[rows]` or `[rows, 1]` generation probability p_gen ∈ [0, 1]. */
  pGen: tf.Tensor;
  /** The new state (it may carry the coverage vector, see {@link accumulateCoverage}). */
  state: S;
}

/** A pointer-generator's step function: like {@link StepFn}, returning {@link PointerGeneratorOutput}. */
export type PointerGeneratorStepFn<S> = (tokens: readonly (readonly number[])[], state: S, info: StepInfo) => PointerGeneratorOutput<S> | Promise<PointerGeneratorOutput<S>>;

/** Options of {@link copyStep}. */
export interface CopyStepOptions {
  /**
   * Extended source ids per input (`CopySource.extendedIds`); rows find theirs through `info.batchIndex`.
   * Lists may differ in length, or be padded with −1 (ignored) to the attention's width.
   */
  sources: readonly (readonly number[])[];
  /** The model's vocabulary size V. */
  vocabSize: number;
  /** Fed to the model in place of copied OOV tokens (ids ≥ V). */
  unkTokenId: number;
  /** Width of the output. Default V + the most OOV ids of any source. */
  extendedVocabSize?: number;
}

/** Every key of {@link CopyStepOptions} (the compiler keeps this list complete). */
const copyStepKeyset: Record<keyof CopyStepOptions, true> = { sources: true, vocabSize: true, unkTokenId: true, extendedVocabSize: true };
const COPY_STEP_KEYS = Object.keys(copyStepKeyset);

/**
 * Wraps a pointer-generator step into a plain {@link StepFn} over the extended vocabulary, so every
 * decoder (greedy, beam search, sampling, with any processor) decodes with the copy mechanism: it feeds
 * the model `unkTokenId` for copied OOV tokens, builds the final distribution with
 * {@link copyDistribution} and returns its log (−∞ for impossible tokens). Tokens ≥ V in the results
 * are OOV words of the row's source (see {@link extendedToWords}). With p_gen = 1 this is plain decoding;
 * with p_gen = 0 it only copies. The inner step's `logits`, `attention` and `pGen` are disposed here.
 *
 * **When to use it.** Summarisation, dialogue and data-to-text where outputs reuse source words (names,
 * numbers, rare terms) that a fixed vocabulary lacks.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { beamSearch, copyStep, extendSource, type PointerGeneratorStepFn } from '@dl/decode';
 * const vocab = new Map([['<eos>', 0], ['<unk>', 1], ['hello', 2]]);
 * const src = extendSource(['hello', 'Zoë'], vocab, 3, 1); // 'Zoë' → id 3
 * const pg: PointerGeneratorStepFn<null> = (tokens) => ({
 *   logits: tf.zeros([tokens.length, 3]),
 *   attention: tf.tidy(() => tf.tile(tf.tensor2d([[0.1, 0.9]]), [tokens.length, 1])),
 *   pGen: tf.fill([tokens.length], 0.2),
 *   state: null,
 * });
 * const step = copyStep(pg, { sources: [src.extendedIds], vocabSize: 3, unkTokenId: 1 });
 * const { sequences } = await beamSearch(step, [[0]], { numBeams: 2, maxNewTokens: 3, eosTokenId: 0 });
 * ```
 */
export function copyStep<S>(step: PointerGeneratorStepFn<S>, options: CopyStepOptions): StepFn<S> {
  const where = 'copyStep';
  if (typeof step !== 'function') throw new DLArgumentError(where, 'step', 'a function returning { logits, attention, pGen, state }', step);
  if (options == null) throw new DLArgumentError(where, 'options', 'an object { sources, vocabSize, unkTokenId }', options);
  checkKeys(where, options, COPY_STEP_KEYS);
  const V = checkInt(where, 'vocabSize', options.vocabSize);
  const unk = checkInt(where, 'unkTokenId', options.unkTokenId, 0);
  if (unk >= V) throw new DLArgumentError(where, 'unkTokenId', `< vocabSize (${V})`, unk);
  const sources = options.sources;
  if (!Array.isArray(sources) || sources.length === 0 || !sources.every((s) => Array.isArray(s) && s.every((t) => Number.isInteger(t) && t >= -1))) {
    throw new DLArgumentError(where, 'sources', 'a non-empty list of extended source-id lists (one per input; −1 pads)', sources);
  }
  const maxId = Math.max(V - 1, ...sources.flat());
  const Vext = options.extendedVocabSize ?? maxId + 1;
  checkInt(where, 'extendedVocabSize', Vext, maxId + 1);
  const S = Math.max(...sources.map((s) => s.length));
  return async (tokens, state, info) => {
    const modelTokens = tokens.some((row) => row.some((t) => t >= V)) ? tokens.map((row) => row.map((t) => (t >= V ? unk : t))) : tokens;
    const out = await step(modelTokens, state, info);
    try {
      if (info.batchIndex.some((b) => b >= sources.length)) throw new DLArgumentError(where, 'sources', `one list per input (${Math.max(...info.batchIndex) + 1})`, sources.length);
      checkShape(where, 'step attention', out.attention, { rank: 2, dims: { 0: tokens.length, 1: S } });
      checkShape(where, 'step logits', out.logits, { rank: 2, dims: { 0: tokens.length, 1: V } });
      const ids = new Int32Array(tokens.length * S).fill(-1);
      info.batchIndex.forEach((b, r) => sources[b].forEach((id: number, i: number) => (ids[r * S + i] = id)));
      const logits = tf.tidy(() => {
        const src = Array.from({ length: tokens.length }, (_, r) => Array.from(ids.subarray(r * S, (r + 1) * S))); // [rows][S], checked on the host
        const p = copyDistribution(tf.softmax(out.logits), out.attention, out.pGen, src, Vext); // [rows, Vext]
        const positive = tf.greater(p, 0); // [rows, Vext]
        return tf.where(positive, tf.log(tf.maximum(p, 1e-37)), tf.fill(p.shape, -Infinity)); // [rows, Vext]
      });
      return { logits, state: out.state };
    } finally {
      tf.dispose([out.logits, out.attention, out.pGen]);
    }
  };
}

/**
 * The coverage update c^{t+1} = c^t + a^t (See et al. 2017): the attention each source position has
 * received so far. Keep it in the step state (beam search gathers it per beam) and feed it to the
 * attention so the model learns not to attend to the same words again.
 *
 * @param coverage `[rows, S]` (zeros at the first step).
 * @param attention `[rows, S]` this step's attention.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { accumulateCoverage } from '@dl/decode';
 * const c = accumulateCoverage(tf.zeros([1, 3]), tf.tensor2d([[0.2, 0.5, 0.3]]));
 * ```
 */
export function accumulateCoverage(coverage: tf.Tensor, attention: tf.Tensor): tf.Tensor {
  checkShape('accumulateCoverage', 'coverage', coverage, { rank: 2 });
  checkShape('accumulateCoverage', 'attention', attention, { rank: 2, dims: { 0: coverage.shape[0] as number, 1: coverage.shape[1] as number } });
  return tf.add(coverage, attention); // [rows, S]
}

/**
 * The coverage loss (See et al. 2017, eq. 12), averaged over the (unmasked) decoder steps $t$:
 *
 * $$
 * \mathrm{covloss}_t = \sum_i \min(a_i^t, c_i^t), \qquad c^t = \sum_{t' < t} a^{t'}
 * $$
 *
 * Add λ times it (λ = 1 in the paper) to the
 * NLL when training, to penalise attending to the same source words repeatedly. Differentiable.
 *
 * @param attention `[batch, T, S]` attention distributions of every decoder step.
 * @param mask optional `[batch, T]` (1 for real steps, 0 for padding).
 * @returns a scalar.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { coverageLoss } from '@dl/decode';
 * const a = tf.tensor3d([[[1, 0], [1, 0]]]); // attends twice to the same word
 * coverageLoss(a); // 0.5: step 0 costs 0, step 1 costs min(1, 1) = 1
 * ```
 */
export function coverageLoss(attention: tf.Tensor, mask?: tf.Tensor): tf.Scalar {
  checkShape('coverageLoss', 'attention', attention, { rank: 3 });
  const batch = attention.shape[0] as number;
  const T = attention.shape[1] as number;
  if (mask) checkShape('coverageLoss', 'mask', mask, { rank: 2, dims: { 0: batch, 1: T } });
  return tf.tidy(() => {
    // Exclusive prefix sums over T. The cumsum runs on the last axis: tfjs 4.22's Cumsum gradient is
    // wrong for any other axis (it transposes the gradient back with the wrong permutation).
    const aT = tf.transpose(attention, [0, 2, 1]); // [batch, S, T]
    const coverage = tf.transpose(tf.cumsum(aT, 2, true), [0, 2, 1]); // [batch, T, S]
    const perStep = tf.sum(tf.minimum(attention, coverage), -1); // [batch, T]
    if (!mask) return tf.mean(perStep) as tf.Scalar;
    const m = tf.cast(mask, 'float32'); // [batch, T]
    return tf.div(tf.sum(tf.mul(perStep, m)), tf.maximum(tf.sum(m), 1)) as tf.Scalar;
  });
}
