import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkNumber, crossEntropy, DLArgumentError, getRng, Linear, matMul, Module, Rng } from '@dl/core';
import type { EncoderDecoder, EncoderDecoderCall } from './encoder-decoder.js';
import type { TokenIds } from './tokens.js';

/** Constructor options of {@link CMLM}. */
export interface CMLMOptions {
  /** The [MASK] token of the target vocabulary (not the model's padId). */
  maskId: number;
  /** The longest target: the length classifier predicts 1 … maxTargetLength. */
  maxTargetLength: number;
  /** Weight of the length loss beside the token loss. Default 0.1 (fairseq's `length_loss_factor`). */
  lengthLossWeight?: number;
  /** Seed of the length classifier's initial weights and of the training masks. Default: the global generator. */
  seed?: number;
}

/** Source masks of a {@link CMLM} call (as `EncoderDecoder`'s). */
export type CMLMCall = Pick<EncoderDecoderCall, 'srcLengths' | 'srcKeyPaddingMask'>;

/** What {@link CMLM.forward} returns (the caller disposes both). */
export interface CMLMForward {
  /** `[B, Lt, V]` token logits of every target position, read bidirectionally. */
  logits: tf.Tensor;
  /** `[B, maxTargetLength]` length logits: entry i scores length i + 1. */
  lengthLogits: tf.Tensor;
}

/** A training batch's decoder input and targets (see {@link CMLM.maskTargets}). */
export interface MaskedTargets {
  /** Decoder input: the target with the chosen positions replaced by maskId (padding kept). */
  input: number[][];
  /** The target at the chosen positions, −100 (ignored) elsewhere. */
  targets: number[][];
  /** Real target length of each row. */
  lengths: number[];
}

/** Options of {@link CMLM.loss}. */
export type CMLMLossOptions = CMLMCall & {
  /** Label smoothing of the token loss. Default 0. */
  labelSmoothing?: number;
  /** The generator of the masks. Default the one seeded by `seed`, else the global one. */
  rng?: Rng;
};

/** Options of {@link CMLM.generate}. */
export type MaskPredictOptions = CMLMCall & {
  /** T, the decoding iterations (the paper's default is 10). Default 10. */
  iterations?: number;
  /** ℓ, the length candidates decoded in parallel per source (the paper uses 5). Default 3. */
  lengthCandidates?: number;
  /** Target lengths to decode with (one per source) instead of predicted ones. */
  lengths?: number[];
  /** Token ids never predicted (besides maskId and padId, e.g. BOS/EOS). */
  suppressTokenIds?: number[];
};

/** One decoded length candidate of {@link CMLM.generate}. */
export interface MaskPredictCandidate {
  /** Its tokens (its length, no padding). */
  tokens: number[];
  /** Its average token log-probability. */
  score: number;
}

/** What {@link CMLM.generate} returns. */
export interface MaskPredictResult {
  /** The best candidate's tokens per source (its length, no padding). */
  sequences: number[][];
  /** Their lengths. */
  lengths: number[];
  /** Their average token log-probability (the score candidates are ranked by). */
  scores: number[];
  /** Every candidate per source, best first: tokens and score. */
  candidates: MaskPredictCandidate[][];
}

const LOSS_KEYS = ['srcLengths', 'srcKeyPaddingMask', 'labelSmoothing', 'rng'];
const GENERATE_KEYS = ['srcLengths', 'srcKeyPaddingMask', 'iterations', 'lengthCandidates', 'lengths', 'suppressTokenIds'];

/**
 * A conditional masked language model with mask-predict decoding (Ghazvininejad et al. 2019,
 * "Mask-Predict: Parallel Decoding of Conditional Masked Language Models"): a non-autoregressive
 * decoder on an {@link EncoderDecoder}.
 *
 * In words. The encoder reads the source as usual; a length classifier on its mean-pooled output (over
 * real positions) predicts the target length. The decoder reads a target of that length in which some
 * tokens are [MASK], **without a causal mask** (every position sees every other, and the source through
 * cross-attention), and predicts every masked token at once. Training: for each target, a number n of
 * positions is drawn uniformly from 1 … length, n random positions are masked, and the loss is the
 * cross-entropy of the masked tokens plus `lengthLossWeight` times the length cross-entropy. Decoding
 * (mask-predict): start from all [MASK]; at iteration t = 1 … T − 1, re-mask the n = ⌊N·(T − t)/T⌋
 * tokens with the lowest probabilities and predict them again (the others keep their tokens and
 * probabilities); decode ℓ length candidates side by side and keep the one with the highest average
 * log-probability. All positions are predicted in parallel, so a target costs T decoder passes
 * whatever its length.
 *
 * Parameters: the model under `model.` and `length_predictor.weight` `[maxTargetLength, E]`,
 * `length_predictor.bias`. Targets are plain token sequences (no BOS/EOS needed), padded with the
 * model's `padId` at the end, and must be host arrays (the masks are drawn on the host).
 *
 * @example
 * ```ts
 * import { EncoderDecoder, CMLM } from '@dl/transformer';
 * // Target vocabulary: 0 pad, 1 [MASK], 2–9 tokens.
 * const model = new EncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 10, dModel: 16, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 0 });
 * const cmlm = new CMLM(model, { maskId: 1, maxTargetLength: 8, seed: 1 });
 * const loss = cmlm.loss([[4, 5, 6]], [[6, 5, 4]]); // masked-token CE + 0.1 · length CE
 * cmlm.eval();
 * const out = await cmlm.generate([[4, 5, 6]], { iterations: 4, lengthCandidates: 2 });
 * out.sequences[0]; // the best candidate's tokens
 * ```
 */
export class CMLM extends Module {
  /** The encoder-decoder (registered as `model`); its decoder runs bidirectionally. */
  readonly model: EncoderDecoder;
  /** The length classifier on the mean-pooled encoder output. */
  readonly lengthPredictor: Linear;
  /** The [MASK] token. */
  readonly maskId: number;
  /** The longest target. */
  readonly maxTargetLength: number;
  /** The length loss weight. */
  readonly lengthLossWeight: number;
  private readonly padId: number;
  private readonly ownRng: Rng | null;

  /**
   * @param model an encoder-decoder with a `padId` and at least one decoder layer.
   * @param options see {@link CMLMOptions}.
   */
  constructor(model: EncoderDecoder, options: CMLMOptions) {
    super();
    const where = 'CMLM';
    if (model == null || typeof model !== 'object' || typeof (model as EncoderDecoder).decode !== 'function' || !('transformer' in model)) {
      throw new DLArgumentError(where, 'model', 'an EncoderDecoder', model);
    }
    if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object { maskId, maxTargetLength }', options);
    checkKeys(where, options, ['maskId', 'maxTargetLength', 'lengthLossWeight', 'seed']);
    if (model.config.padId === undefined) throw new DLArgumentError(where, 'model', 'an EncoderDecoder with a padId (targets are padded with it)', 'no padId');
    if (model.config.numDecoderLayers < 1) throw new DLArgumentError(where, 'model', 'an EncoderDecoder with at least one decoder layer', `${model.config.numDecoderLayers} decoder layers`);
    const V = model.config.tgtVocabSize;
    this.padId = model.config.padId;
    this.maskId = checkInt(where, 'maskId', options.maskId, 0);
    if (this.maskId >= V || this.maskId === this.padId) throw new DLArgumentError(where, 'maskId', `a target id in [0, ${V}) other than padId (${this.padId})`, this.maskId);
    this.maxTargetLength = checkInt(where, 'maxTargetLength', options.maxTargetLength);
    this.lengthLossWeight = checkNumber(where, 'lengthLossWeight', options.lengthLossWeight ?? 0.1, 0);
    const seed = options.seed === undefined ? undefined : checkInt(where, 'seed', options.seed, 0);
    const init = seed === undefined ? undefined : new Rng(seed);
    this.ownRng = seed === undefined ? null : new Rng(seed + 1);
    this.model = this.registerModule('model', model);
    this.lengthPredictor = this.registerModule('length_predictor', new Linear(model.config.dModel, this.maxTargetLength, { rng: init }));
  }

  /**
   * Length logits from an encoder output: the length classifier on the mean over real positions.
   *
   * @param memory `[B, Ls, E]` encoder output.
   * @param memoryKeyPaddingMask boolean `[B, Ls]`, true = padding, or null.
   * @returns `[B, maxTargetLength]`: entry i scores length i + 1.
   */
  lengthLogits(memory: tf.Tensor, memoryKeyPaddingMask: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      const [B, Ls] = memory.shape;
      // Weights 1 on real positions, 0 on padding, made with where (tfjs-webgpu 4.22 miscompiles a reduction
      // over a cast-from-bool tensor), pooled by a batched matMul.
      const keep = memoryKeyPaddingMask ? tf.where(memoryKeyPaddingMask, tf.zeros([B, Ls]), tf.ones([B, Ls])) : tf.ones([B, Ls]); // [B, Ls]
      const summed = tf.reshape(matMul(tf.reshape(keep, [B, 1, Ls]), memory), [B, -1]); // [B, E]
      const pooled = tf.div(summed, tf.maximum(tf.sum(keep, -1, true), 1)); // [B, E]
      return this.lengthPredictor.forward(pooled); // [B, maxTargetLength]
    });
  }

  /**
   * Token logits of a (partly masked) target and the length logits.
   *
   * @param src source ids `[B, Ls]`.
   * @param tgt decoder input `[B, Lt]`: target tokens, maskId where masked, padId after the end.
   * @param call source masks.
   */
  forward(src: TokenIds, tgt: TokenIds, call: CMLMCall = {}): CMLMForward {
    checkKeys('CMLM.forward', call, ['srcLengths', 'srcKeyPaddingMask']);
    const enc = this.model.encode(src, call);
    try {
      const lengthLogits = this.lengthLogits(enc.memory, enc.memoryKeyPaddingMask);
      try {
        const { logits } = this.model.decode(tgt, enc.memory, { memoryKeyPaddingMask: enc.memoryKeyPaddingMask, causal: false });
        return { logits, lengthLogits };
      } catch (e) {
        lengthLogits.dispose();
        throw e;
      }
    } finally {
      tf.dispose([enc.memory, ...(enc.memoryKeyPaddingMask ? [enc.memoryKeyPaddingMask] : []), ...(enc.weights ?? [])]);
    }
  }

  /**
   * The training masks of Mask-Predict: for each target, n uniform in 1 … length, then n distinct
   * positions uniformly at random are replaced by maskId in the input and kept as targets.
   *
   * @param tgt targets `[B, Lt]` as arrays, padded with padId at the end.
   * @param rng the generator. Default the one seeded by `seed`, else the global one (`manualSeed`).
   */
  maskTargets(tgt: readonly (readonly number[])[], rng: Rng = this.ownRng ?? getRng()): MaskedTargets {
    const where = 'CMLM.maskTargets';
    const lengths = this.targetLengths(where, tgt);
    if (!(rng instanceof Rng)) throw new DLArgumentError(where, 'rng', "an Rng from '@dl/core'", rng);
    const input: number[][] = [];
    const targets: number[][] = [];
    tgt.forEach((row, b) => {
      const L = lengths[b];
      const n = 1 + Math.floor(rng.uniform() * L);
      // The first n of a partial Fisher–Yates shuffle of 0 … L − 1.
      const order = Array.from({ length: L }, (_, i) => i);
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(rng.uniform() * (L - i));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const chosen = new Set(order.slice(0, n));
      input.push(row.map((v, i) => (chosen.has(i) ? this.maskId : v)));
      targets.push(row.map((v, i) => (chosen.has(i) ? v : -100)));
    });
    return { input, targets, lengths };
  }

  /**
   * The CMLM training loss: cross-entropy of the masked target tokens (masks from
   * {@link CMLM.maskTargets}) plus `lengthLossWeight` × cross-entropy of the true length.
   *
   * @param src source ids `[B, Ls]`.
   * @param tgt targets `[B, Lt]` as arrays, padded with padId at the end.
   * @returns a scalar.
   */
  loss(src: TokenIds, tgt: readonly (readonly number[])[], options: CMLMLossOptions = {}): tf.Scalar {
    const where = 'CMLM.loss';
    checkKeys(where, options, LOSS_KEYS);
    const { input, targets, lengths } = this.maskTargets(tgt, options.rng ?? this.ownRng ?? getRng());
    const B = tgt.length;
    const Lt = tgt[0].length;
    return tf.tidy(() => {
      const { logits, lengthLogits } = this.forward(src, input, { srcLengths: options.srcLengths, srcKeyPaddingMask: options.srcKeyPaddingMask }); // [B, Lt, V], [B, maxLen]
      const t = tf.tensor2d(targets.flat(), [B, Lt], 'int32'); // [B, Lt]
      const tokenLoss = crossEntropy(logits, t, { ignoreIndex: -100, labelSmoothing: options.labelSmoothing }); // []
      const lengthLoss = crossEntropy(lengthLogits, tf.tensor1d(lengths.map((l) => l - 1), 'int32')); // []
      return tf.add(tokenLoss, tf.mul(lengthLoss, this.lengthLossWeight)) as tf.Scalar; // []
    });
  }

  /**
   * Mask-predict decoding (Ghazvininejad et al. 2019, §3): ℓ length candidates per source (the most
   * likely lengths, or `lengths`), T iterations each, the best candidate by average log-probability.
   * Reads results back each iteration (`await`), so it runs on every backend. Call `eval()` first.
   *
   * @param src source ids `[B, Ls]`.
   * @param options see {@link MaskPredictOptions}.
   */
  async generate(src: TokenIds, options: MaskPredictOptions = {}): Promise<MaskPredictResult> {
    const where = 'CMLM.generate';
    checkKeys(where, options, GENERATE_KEYS);
    const T = checkInt(where, 'iterations', options.iterations ?? 10);
    const V = this.model.config.tgtVocabSize;
    const suppress = options.suppressTokenIds ?? [];
    if (!Array.isArray(suppress) || suppress.some((id) => !Number.isInteger(id) || id < 0 || id >= V)) throw new DLArgumentError(where, 'suppressTokenIds', `token ids in [0, ${V})`, suppress);
    const enc = this.model.encode(src, { srcLengths: options.srcLengths, srcKeyPaddingMask: options.srcKeyPaddingMask });
    const held: tf.Tensor[] = [enc.memory, ...(enc.memoryKeyPaddingMask ? [enc.memoryKeyPaddingMask] : []), ...(enc.weights ?? [])];
    try {
      const B = enc.memory.shape[0] as number;
      // Length candidates per source.
      let cands: number[][];
      if (options.lengths !== undefined) {
        const ls = options.lengths;
        if (!Array.isArray(ls) || ls.length !== B || ls.some((l) => !Number.isInteger(l) || l < 1 || l > this.maxTargetLength)) {
          throw new DLArgumentError(where, 'lengths', `${B} integers in [1, ${this.maxTargetLength}]`, ls);
        }
        if (options.lengthCandidates !== undefined) throw new DLArgumentError(where, 'lengthCandidates', 'absent when lengths are given', options.lengthCandidates);
        cands = ls.map((l) => [l]);
      } else {
        const k = checkInt(where, 'lengthCandidates', options.lengthCandidates ?? 3);
        if (k > this.maxTargetLength) throw new DLArgumentError(where, 'lengthCandidates', `at most maxTargetLength (${this.maxTargetLength})`, k);
        const ll = this.lengthLogits(enc.memory, enc.memoryKeyPaddingMask); // [B, maxLen]
        const scores = await ll.data();
        ll.dispose();
        cands = Array.from({ length: B }, (_, b) => {
          const row = Array.from(scores.subarray(b * this.maxTargetLength, (b + 1) * this.maxTargetLength));
          return row.map((s, i) => [s, i + 1] as const).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, k).map(([, l]) => l);
        });
      }
      const source: number[] = cands.flatMap((c, b) => c.map(() => b)); // row → source
      const len: number[] = cands.flat(); // row → candidate length
      const R = len.length;
      const Lmax = Math.max(...len);
      const idx = tf.tensor1d(source, 'int32'); // [R]
      const memory = tf.gather(enc.memory, idx); // [R, Ls, E]
      held.push(memory);
      if (enc.memoryKeyPaddingMask) held.push(tf.gather(enc.memoryKeyPaddingMask, idx)); // [R, Ls]
      const memoryMask = enc.memoryKeyPaddingMask ? held[held.length - 1] : null;
      idx.dispose();
      const banned = new Float32Array(V);
      for (const id of [this.maskId, this.padId, ...suppress]) banned[id] = -1e9;
      const bias = tf.tensor1d(banned); // [V]
      held.push(bias);
      const tokens = len.map((L) => Array.from({ length: Lmax }, (_, j) => (j < L ? this.maskId : this.padId)));
      const logp = len.map(() => new Float64Array(Lmax));
      for (let t = 0; t < T; t++) {
        // Iteration 0 predicts every position; later ones re-mask the n least confident.
        const masked: number[][] = len.map((L, r) => {
          if (t === 0) return Array.from({ length: L }, (_, j) => j);
          const n = Math.floor((L * (T - t)) / T);
          return Array.from({ length: L }, (_, j) => j).sort((a, b) => logp[r][a] - logp[r][b] || a - b).slice(0, n);
        });
        if (masked.every((m) => m.length === 0)) break;
        masked.forEach((m, r) => m.forEach((j) => (tokens[r][j] = this.maskId)));
        const [best, bestLogp] = tf.tidy(() => {
          const { logits } = this.model.decode(tokens, memory, { memoryKeyPaddingMask: memoryMask, causal: false }); // [R, Lmax, V]
          const lp = tf.logSoftmax(tf.add(logits, bias)); // [R, Lmax, V]
          return [tf.argMax(lp, -1), tf.max(lp, -1)]; // [R, Lmax] ×2
        });
        const [ids, lps] = await Promise.all([best.data(), bestLogp.data()]);
        tf.dispose([best, bestLogp]);
        masked.forEach((m, r) =>
          m.forEach((j) => {
            tokens[r][j] = ids[r * Lmax + j];
            logp[r][j] = lps[r * Lmax + j];
          }),
        );
      }
      const candidates: MaskPredictCandidate[][] = Array.from({ length: B }, () => []);
      len.forEach((L, r) => {
        let s = 0;
        for (let j = 0; j < L; j++) s += logp[r][j];
        candidates[source[r]].push({ tokens: tokens[r].slice(0, L), score: s / L });
      });
      // Best first; ties keep the more likely length (candidates come in that order).
      candidates.forEach((c) => c.sort((a, b) => b.score - a.score));
      return { sequences: candidates.map((c) => c[0].tokens), lengths: candidates.map((c) => c[0].tokens.length), scores: candidates.map((c) => c[0].score), candidates };
    } finally {
      tf.dispose(held);
    }
  }

  /** Checks targets (arrays, padded at the end with padId, lengths in range, no maskId) and returns their lengths. */
  private targetLengths(where: string, tgt: readonly (readonly number[])[]): number[] {
    const V = this.model.config.tgtVocabSize;
    if (!Array.isArray(tgt) || tgt.length === 0 || tgt.some((r) => !Array.isArray(r) || r.length !== tgt[0].length || r.length === 0)) {
      throw new DLArgumentError(where, 'tgt', 'a non-empty array of equal-length token arrays [B, Lt] (host arrays: the masks are drawn on the host)', tgt);
    }
    return tgt.map((row, b) => {
      let L = row.length;
      while (L > 0 && row[L - 1] === this.padId) L--;
      for (let j = 0; j < row.length; j++) {
        const v = row[j];
        if (!Number.isInteger(v) || v < 0 || v >= V) throw new DLArgumentError(where, 'tgt', `token ids in [0, ${V})`, asIs(`${v} at [${b}, ${j}]`));
        if (j < L && (v === this.padId || v === this.maskId)) throw new DLArgumentError(where, 'tgt', `rows of real tokens (not maskId ${this.maskId} or padId ${this.padId}) followed by padding`, asIs(`${v} at [${b}, ${j}]`));
      }
      if (L < 1 || L > this.maxTargetLength) throw new DLArgumentError(where, 'tgt', `rows of 1 to maxTargetLength (${this.maxTargetLength}) real tokens`, asIs(`${L} in row ${b}`));
      return L;
    });
  }
}
