import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError, getRng, Rng, type Reduction, isTensor } from '@dl/core';
import type { EncoderDecoder, EncoderDecoderCall } from './encoder-decoder.js';
import { tokenTensor, type TokenIds } from './tokens.js';

/** Options of {@link scheduledSamplingInputs} and {@link scheduledSamplingLoss}. */
export interface ScheduledSamplingOptions {
  /** The replacement probability p as a function of the training step: any `@dl/optim` schedule. */
  schedule: (step: number) => number;
  /** The training step the schedule is evaluated at (an integer ≥ 0). */
  step: number;
  /** How the first pass picks its tokens: `'argmax'` (default) or `'sample'` from its softmax. */
  mode?: 'argmax' | 'sample';
  /** Softmax temperature of `'sample'`. Default 1. */
  temperature?: number;
  /** The generator of the replacement draws and the samples. Default: the global one (`manualSeed`). */
  rng?: Rng;
  /** Real source lengths (as `EncoderDecoder.forward`). */
  srcLengths?: number[];
  /** Boolean `[B, Ls]`, true = source padding. */
  srcKeyPaddingMask?: tf.Tensor;
  /** Real target lengths (padding at the end); positions beyond are never replaced. */
  tgtLengths?: number[];
  /** Boolean `[B, Lt]`, true = target padding; such positions are never replaced. */
  tgtKeyPaddingMask?: tf.Tensor;
}

const KEYS = ['schedule', 'step', 'mode', 'temperature', 'rng', 'srcLengths', 'srcKeyPaddingMask', 'tgtLengths', 'tgtKeyPaddingMask'];

/**
 * The decoder inputs of the second pass of scheduled sampling for Transformers (Mihaylova & Martins
 * 2019, "Scheduled Sampling for Transformers"): a first, teacher-forced decoder pass predicts every
 * target token; then each input position t ≥ 1 (the gold token y_{t−1}) is replaced, with probability
 * p = `schedule(step)`, by the first pass's prediction for position t − 1 (its argmax, or a sample from its
 * softmax with `mode: 'sample'`). Position 0 (BOS) and target padding are never replaced.
 *
 * The first pass runs inside `tf.customGrad` with a zero gradient, so no gradient reaches the model
 * through it (nor is it recorded on the tape) even when this runs inside `tf.variableGrads`.
 * Randomness comes from `rng` (`@dl/core`'s seeded `Rng`): the B·Lt replacement draws are made on
 * every call (whatever p is), and `'sample'` adds B·Lt·V Gumbel draws (Gumbel-max sampling) when p > 0,
 * so a seed gives the same inputs on every backend. With p = 0 the first pass is skipped.
 *
 * @param model the encoder-decoder being trained.
 * @param src source ids `[B, Ls]`.
 * @param tgtIn gold target inputs `[B, Lt]` (BOS first).
 * @returns the mixed inputs, int32 `[B, Lt]` (the caller disposes).
 *
 * @example
 * ```ts
 * import { Rng } from '@dl/core';
 * import { linear } from '@dl/optim';
 * import { EncoderDecoder, scheduledSamplingInputs } from '@dl/transformer';
 * const model = new EncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 0 });
 * const mixed = scheduledSamplingInputs(model, [[4, 5, 6]], [[1, 6, 5]], { schedule: linear({ init: 0, end: 0.5, steps: 1000 }), step: 1000, rng: new Rng(3) });
 * mixed.shape; // [1, 3]: BOS, then each gold token kept or replaced by the first pass's prediction with p = 0.5
 * ```
 */
export function scheduledSamplingInputs(model: EncoderDecoder, src: TokenIds, tgtIn: TokenIds, options: ScheduledSamplingOptions): tf.Tensor2D {
  const where = 'scheduledSamplingInputs';
  const o = checkOptions(where, model, options);
  const V = model.config.tgtVocabSize;
  const tin = tokenTensor(where, 'tgtIn', tgtIn, V);
  try {
    const [B, Lt] = tin.ids.shape;
    checkTargetMasks(where, options, B, Lt);
    // The replacement draws: one per position, every call, so the generator advances alike whatever p is.
    const draws = o.rng.uniformArray(B * Lt);
    const replace = new Uint8Array(B * Lt);
    for (let i = 0; i < B * Lt; i++) replace[i] = i % Lt !== 0 && draws[i] < o.p ? 1 : 0;
    if (o.p === 0) return tf.clone(tin.ids);
    const gumbel = o.mode === 'sample' ? o.rng.uniformArray(B * Lt * V) : null;
    const call: EncoderDecoderCall = { srcLengths: options.srcLengths, srcKeyPaddingMask: options.srcKeyPaddingMask, tgtLengths: options.tgtLengths, tgtKeyPaddingMask: options.tgtKeyPaddingMask };
    // The first pass: teacher forcing, outside the tape (customGrad runs its function unrecorded).
    const firstPass = tf.customGrad((ids) => {
      const value = tf.tidy(() => {
        const { logits } = model.forward(src, ids as tf.Tensor2D, call); // [B, Lt, V]
        let scores = logits; // [B, Lt, V]
        if (gumbel) {
          // Gumbel-max: argmax(logits / τ − log(−log u)) is a sample from softmax(logits / τ).
          const u = tf.tensor3d(gumbel, [B, Lt, V]); // [B, Lt, V]
          scores = tf.sub(tf.div(logits, o.temperature), tf.log(tf.neg(tf.log(u)))); // [B, Lt, V]
        }
        return tf.cast(tf.argMax(scores, -1), 'int32'); // [B, Lt]
      });
      return { value, gradFunc: () => tf.zerosLike(ids as tf.Tensor) };
    });
    return tf.tidy(() => {
      const predicted = firstPass(tin.ids); // [B, Lt]: the prediction for each position
      // Input t holds y_{t−1}, so the candidate for input t is the prediction for position t − 1.
      const shifted = tf.concat([tf.slice(tin.ids, [0, 0], [B, 1]), tf.slice(predicted, [0, 0], [B, Lt - 1])], 1); // [B, Lt]
      let mask = tf.cast(tf.tensor2d(replace, [B, Lt], 'int32'), 'bool'); // [B, Lt]
      const padding = targetPadding(model, tin.ids, options); // [B, Lt] or null
      if (padding) mask = tf.logicalAnd(mask, tf.logicalNot(padding)); // [B, Lt]
      return tf.where(mask, shifted, tin.ids) as tf.Tensor2D; // [B, Lt]
    });
  } finally {
    if (tin.owned) tin.ids.dispose();
  }
}

/**
 * Scheduled sampling for Transformers (Mihaylova & Martins 2019): the loss of the second decoder pass,
 * which reads the mixed inputs of {@link scheduledSamplingInputs} (gold tokens, each replaced with
 * probability `schedule(step)` by the first pass's prediction), against the gold targets `tgtOut`:
 * `EncoderDecoder.loss`'s label-smoothed cross-entropy, padding ignored. The target padding mask comes
 * from the gold inputs, so a prediction that happens to be the padding id is still attended to.
 * Gradients flow only through the second pass. With p = 0 it is teacher forcing exactly.
 *
 * The schedule gives the probability of feeding a **prediction**; Bengio et al. 2015's schedules give
 * the probability ε of feeding the gold token, so pass `(t) => 1 − ε(t)`, e.g. for their inverse-sigmoid
 * decay ε(t) = k / (k + exp(t / k)). Mihaylova & Martins compare linear, exponential and
 * inverse-sigmoid decay.
 *
 * @param model the encoder-decoder being trained.
 * @param src source ids `[B, Ls]`.
 * @param tgtIn gold target inputs `[B, Lt]` (BOS first).
 * @param tgtOut gold targets `[B, Lt]` (EOS last).
 * @param options see {@link ScheduledSamplingOptions}, plus `labelSmoothing` and `reduction` of the loss.
 * @returns a scalar (or per-token losses with `reduction: 'none'`).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Rng } from '@dl/core';
 * import { AdamW, linear } from '@dl/optim';
 * import { EncoderDecoder, scheduledSamplingLoss } from '@dl/transformer';
 * const model = new EncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 0 });
 * const opt = new AdamW(model.parameters(), { lr: 1e-3 });
 * const rng = new Rng(7);
 * const schedule = linear({ init: 0, end: 0.25, steps: 100 }); // p rises from 0 to 0.25
 * for (let step = 0; step < 3; step++) {
 *   const loss = await opt.minimize(() => scheduledSamplingLoss(model, [[4, 5, 6]], [[1, 6, 5]], [[6, 5, 2]], { schedule, step, rng, mode: 'sample' }) as tf.Scalar);
 *   loss?.dispose();
 * }
 * ```
 */
export function scheduledSamplingLoss(
  model: EncoderDecoder,
  src: TokenIds,
  tgtIn: TokenIds,
  tgtOut: TokenIds,
  options: ScheduledSamplingOptions & { labelSmoothing?: number; reduction?: Reduction },
): tf.Tensor {
  const where = 'scheduledSamplingLoss';
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object { schedule, step, … }', options);
  checkKeys(where, options, [...KEYS, 'labelSmoothing', 'reduction']);
  const { labelSmoothing, reduction, ...rest } = options;
  const mixed = scheduledSamplingInputs(model, src, tgtIn, rest);
  // The gold inputs' padding, so a replaced token that equals padId is not mistaken for padding.
  const gold = tokenTensor(where, 'tgtIn', tgtIn, model.config.tgtVocabSize);
  const padding = options.tgtKeyPaddingMask || options.tgtLengths ? null : targetPadding(model, gold.ids, options);
  try {
    return model.loss(src, mixed, tgtOut, {
      srcLengths: options.srcLengths,
      srcKeyPaddingMask: options.srcKeyPaddingMask,
      tgtLengths: options.tgtLengths,
      tgtKeyPaddingMask: options.tgtKeyPaddingMask ?? padding ?? undefined,
      labelSmoothing,
      reduction,
    });
  } finally {
    tf.dispose([mixed, ...(padding ? [padding] : [])]);
    if (gold.owned) gold.ids.dispose();
  }
}

/** Boolean `[B, Lt]` target padding (true = padding) from the options or the model's padId, or null. */
function targetPadding(model: EncoderDecoder, ids: tf.Tensor2D, options: ScheduledSamplingOptions): tf.Tensor | null {
  if (options.tgtKeyPaddingMask) return tf.clone(options.tgtKeyPaddingMask);
  const [B, Lt] = ids.shape;
  if (options.tgtLengths) return tf.tidy(() => tf.greaterEqual(tf.reshape(tf.range(0, Lt, 1, 'int32'), [1, Lt]), tf.reshape(tf.tensor1d(options.tgtLengths!, 'int32'), [B, 1]))); // [B, Lt]
  const padId = model.config.padId;
  return padId === undefined ? null : tf.tidy(() => tf.equal(ids, tf.scalar(padId, 'int32'))); // [B, Lt]
}

function checkTargetMasks(where: string, options: ScheduledSamplingOptions, B: number, Lt: number): void {
  if (options.tgtLengths !== undefined && options.tgtKeyPaddingMask !== undefined) throw new DLArgumentError(where, 'tgtLengths', 'given either as tgtLengths or as tgtKeyPaddingMask, not both', 'both');
  const l = options.tgtLengths;
  if (l !== undefined && (!Array.isArray(l) || l.length !== B || l.some((n) => !Number.isInteger(n) || n < 1 || n > Lt))) throw new DLArgumentError(where, 'tgtLengths', `${B} integers in [1, ${Lt}]`, l);
  const m = options.tgtKeyPaddingMask;
  if (m !== undefined && (!isTensor(m, where, 'tgtKeyPaddingMask') || m.dtype !== 'bool' || m.shape.join(',') !== `${B},${Lt}`)) throw new DLArgumentError(where, 'tgtKeyPaddingMask', `a bool tensor [${B}, ${Lt}] (true = padding)`, m);
}

function checkOptions(where: string, model: EncoderDecoder, options: ScheduledSamplingOptions): { p: number; mode: 'argmax' | 'sample'; temperature: number; rng: Rng } {
  if (model == null || typeof model !== 'object' || typeof (model as EncoderDecoder).decode !== 'function' || !('transformer' in model)) throw new DLArgumentError(where, 'model', 'an EncoderDecoder', model);
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object { schedule, step, … }', options);
  checkKeys(where, options, KEYS);
  if (typeof options.schedule !== 'function') throw new DLArgumentError(where, 'schedule', 'a schedule (step) => probability, e.g. from @dl/optim', options.schedule);
  const step = checkInt(where, 'step', options.step, 0);
  const p = options.schedule(step);
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new DLArgumentError(where, 'schedule', `a probability in [0, 1] at step ${step}`, p);
  const mode = options.mode ?? 'argmax';
  if (mode !== 'argmax' && mode !== 'sample') throw new DLArgumentError(where, 'mode', "'argmax' or 'sample'", mode);
  const temperature = checkNumber(where, 'temperature', options.temperature ?? 1, 0, Infinity, true);
  if (options.temperature !== undefined && mode !== 'sample') throw new DLArgumentError(where, 'temperature', "given only with mode 'sample'", options.temperature);
  const rng = options.rng ?? getRng();
  if (!(rng instanceof Rng)) throw new DLArgumentError(where, 'rng', "an Rng from '@dl/core'", rng);
  return { p, mode, temperature, rng };
}
