import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkNumber, checkShape, crossEntropy, DLArgumentError, isTensor, Linear, matMul, Module, type Reduction, Rng } from '@dl/core';
import { copyDistribution, coverageLoss, type PointerGeneratorStepFn } from '@dl/decode';
import { StackCache } from './cache.js';
import type { EncoderDecoder, EncoderDecoderCall } from './encoder-decoder.js';
import type { Decoding, DecodingOptions } from './gpt.js';
import { tokenTensor, type TokenIds } from './tokens.js';

/** Constructor options of {@link PointerGenerator}. */
export interface PointerGeneratorOptions {
  /** Seed of the head's initial weights. Default: the global generator. */
  seed?: number;
}

/** Masks of a {@link PointerGenerator} call: the source's and the target's, as `EncoderDecoder`'s. */
export type PointerGeneratorCall = Pick<EncoderDecoderCall, 'srcLengths' | 'srcKeyPaddingMask' | 'tgtLengths' | 'tgtKeyPaddingMask'> & {
  /** V + the most OOV words of any source (the width of the final distribution). Default: from the ids when they are arrays. */
  extendedVocabSize?: number;
};

/** What {@link PointerGenerator.forward} returns (the caller disposes every tensor). */
export interface PointerGeneratorForward {
  /** `[B, Lt, Vext]` the final distribution P(w) over the extended vocabulary. */
  probs: tf.Tensor;
  /** `[B, Lt]` the generation probability p_gen. */
  pGen: tf.Tensor;
  /** `[B, Lt, Ls]` the copy attention: the last decoder layer's cross-attention averaged over heads. */
  attention: tf.Tensor;
  /** `[B, Lt, V]` the decoder's vocabulary logits. */
  logits: tf.Tensor;
}

/** Options of {@link PointerGenerator.loss}. */
export type PointerGeneratorLossOptions = PointerGeneratorCall & {
  /** λ of the coverage loss (See et al. 2017, eq. 13; the paper uses 1). Default 0 (none). */
  coverageWeight?: number;
  /** `'mean'` (default) over real target tokens, `'sum'`, or `'none'` (`[B, Lt]`, 0 on padding; coverage not added). */
  reduction?: Reduction;
};

const CALL_KEYS = ['srcLengths', 'srcKeyPaddingMask', 'tgtLengths', 'tgtKeyPaddingMask', 'extendedVocabSize'];

/** Added to probabilities before the log: a word that is neither generated nor copied costs −log(1e-12), not ∞. */
const EPS = 1e-12;

/**
 * A pointer-generator head on an {@link EncoderDecoder} (See et al. 2017, "Get To The Point:
 * Summarization with Pointer-Generator Networks"): at every target position the model either generates
 * a word from its vocabulary or copies one from the source, so it can emit source words that are not in
 * its vocabulary (names, numbers, rare words).
 *
 * In words, for target position t:
 * - the copy distribution a_t is the **last decoder layer's cross-attention, averaged over its heads**
 *   (`[Ls]`, zero on source padding);
 * - the context vector is $h^*_t = \sum_i a_{t,i}\, h_i$ over the encoder outputs $h_i$;
 * - $p_{\mathrm{gen}} = \sigma(w_h^\top h^*_t + w_s^\top s_t + w_x^\top x_t + b_{\mathrm{ptr}})$ (eq. 8), with $s_t$ the decoder's final hidden
 *   state and $x_t$ the decoder input's token embedding;
 * - $P(w) = p_{\mathrm{gen}}\, P_{\mathrm{vocab}}(w) + (1 - p_{\mathrm{gen}}) \sum_{i:\, w_i = w} a_{t,i}$ over the **extended vocabulary**
 *   (eq. 9: `@dl/decode`'s `copyDistribution`), where each source's out-of-vocabulary words get ids V,
 *   V + 1, … (`@dl/decode`'s `extendSource`).
 *
 * Parameters: the model under `model.` (its own names), and `w_h.weight`, `w_s.weight` `[1, E]`,
 * `w_x.weight` `[1, E]` with `w_x.bias` `[1]` = b_ptr. Inputs: the model sees **model ids** (OOV words
 * as the unknown token: `CopySource.modelIds`), the copy uses **extended ids** (`CopySource.extendedIds`,
 * −1 for padding), and targets are extended ids so the loss rewards copying OOV words.
 *
 * @example
 * ```ts
 * import { EncoderDecoder, PointerGenerator } from '@dl/transformer';
 * import { copyStep, extendSource, greedy } from '@dl/decode';
 * // Vocabulary: 0 pad, 1 bos, 2 eos, 3 unk, 4 'the', 5 'cat'.
 * const vocab = new Map([['<pad>', 0], ['<bos>', 1], ['<eos>', 2], ['<unk>', 3], ['the', 4], ['cat', 5]]);
 * const model = new EncoderDecoder({ srcVocabSize: 6, tgtVocabSize: 6, dModel: 16, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 0 });
 * const pg = new PointerGenerator(model, { seed: 1 });
 * const src = extendSource(['the', 'Zoë', 'cat'], vocab, 6, 3); // 'Zoë' → extended id 6
 * // Training: the target 'Zoë cat <eos>' as extended ids, its input as model ids.
 * const loss = pg.loss([src.modelIds], [src.extendedIds], [[1, 3, 5]], [[6, 5, 2]], { coverageWeight: 1 }); // scalar
 * // Decoding with copying: tokens ≥ 6 are the source's OOV words.
 * pg.eval();
 * const { step, state } = pg.decoding([src.modelIds]);
 * const out = await greedy(copyStep(step, { sources: [src.extendedIds], vocabSize: 6, unkTokenId: 3 }), [[1]], { state, eosTokenId: 2, maxNewTokens: 5 });
 * state.dispose();
 * ```
 */
export class PointerGenerator extends Module {
  /** The encoder-decoder (registered as `model`). */
  readonly model: EncoderDecoder;
  /** w_h: the context vector's weight `[1, E]`. */
  readonly wH: Linear;
  /** w_s: the decoder state's weight `[1, E]`. */
  readonly wS: Linear;
  /** w_x: the decoder input's weight `[1, E]`, with the bias b_ptr. */
  readonly wX: Linear;

  /**
   * @param model an encoder-decoder with at least one decoder layer (its cross-attention is copied from).
   * @param options see {@link PointerGeneratorOptions}.
   */
  constructor(model: EncoderDecoder, options: PointerGeneratorOptions = {}) {
    super();
    const where = 'PointerGenerator';
    checkKeys(where, options, ['seed']);
    if (model == null || typeof model !== 'object' || typeof (model as EncoderDecoder).decode !== 'function' || !('transformer' in model)) {
      throw new DLArgumentError(where, 'model', 'an EncoderDecoder', model);
    }
    if (model.config.numDecoderLayers < 1) throw new DLArgumentError(where, 'model', 'an EncoderDecoder with at least one decoder layer (its cross-attention is the copy distribution)', `${model.config.numDecoderLayers} decoder layers`);
    const rng = options.seed === undefined ? undefined : new Rng(checkInt(where, 'seed', options.seed, 0));
    const E = model.config.dModel;
    this.model = this.registerModule('model', model);
    this.wH = this.registerModule('w_h', new Linear(E, 1, { bias: false, rng }));
    this.wS = this.registerModule('w_s', new Linear(E, 1, { bias: false, rng }));
    this.wX = this.registerModule('w_x', new Linear(E, 1, { rng }));
  }

  /**
   * p_gen = σ(w_hᵀ ctx + w_sᵀ s + w_xᵀ x + b_ptr) for `[..., E]` inputs → `[...]`.
   *
   * @param context h*, the attention-weighted encoder outputs `[..., E]`.
   * @param state s, the decoder's final hidden states `[..., E]`.
   * @param input x, the decoder inputs' token embeddings `[..., E]`.
   */
  generationProbability(context: tf.Tensor, state: tf.Tensor, input: tf.Tensor): tf.Tensor {
    const where = 'PointerGenerator.generationProbability';
    const E = this.model.config.dModel;
    checkShape(where, 'context', context, { minRank: 1, last: E, dtype: 'float32' });
    checkShape(where, 'state', state, { minRank: 1, last: E, dtype: 'float32' });
    checkShape(where, 'input', input, { minRank: 1, last: E, dtype: 'float32' });
    return tf.tidy(() => {
      const z = tf.add(tf.add(this.wH.forward(context), this.wS.forward(state)), this.wX.forward(input)); // [..., 1]
      return tf.squeeze(tf.sigmoid(z), [z.rank - 1]); // [...]
    });
  }

  /**
   * Teacher-forced final distributions.
   *
   * @param src model ids of the sources `[B, Ls]` (OOV words as the unknown token).
   * @param srcExtended extended ids of the sources `[B, Ls]` (−1 or any id on padding, where attention is 0).
   * @param tgtIn model ids of the target inputs `[B, Lt]` (BOS first, OOV words as the unknown token).
   * @param call masks and `extendedVocabSize` (see {@link PointerGeneratorCall}).
   */
  forward(src: TokenIds, srcExtended: TokenIds, tgtIn: TokenIds, call: PointerGeneratorCall = {}): PointerGeneratorForward {
    const where = 'PointerGenerator.forward';
    checkKeys(where, call, CALL_KEYS);
    return this.run(where, src, srcExtended, tgtIn, call, null).out;
  }

  /**
   * The pointer-generator's training loss: the negative log-likelihood of the extended targets under the
   * final distribution, −log P(w*_t), averaged over real target tokens (targets equal to the model's
   * `padId` count for nothing), plus `coverageWeight` times `@dl/decode`'s `coverageLoss` of the copy
   * attention over the same tokens (See et al. 2017, eqs. 6–7 and 12–13).
   *
   * @param src model ids `[B, Ls]`.
   * @param srcExtended extended ids `[B, Ls]`.
   * @param tgtIn model ids of the target inputs `[B, Lt]`.
   * @param tgtOut extended ids of the targets `[B, Lt]` (OOV words as the source's extended ids; EOS last; padId after).
   * @returns a scalar (or `[B, Lt]` with `reduction: 'none'`).
   */
  loss(src: TokenIds, srcExtended: TokenIds, tgtIn: TokenIds, tgtOut: TokenIds, options: PointerGeneratorLossOptions = {}): tf.Tensor {
    const where = 'PointerGenerator.loss';
    checkKeys(where, options, [...CALL_KEYS, 'coverageWeight', 'reduction']);
    const { coverageWeight, reduction, ...call } = options;
    const lambda = checkNumber(where, 'coverageWeight', coverageWeight ?? 0, 0);
    if (reduction !== undefined && !['mean', 'sum', 'none'].includes(reduction)) throw new DLArgumentError(where, 'reduction', "'mean', 'sum' or 'none'", reduction);
    const red = reduction ?? 'mean';
    const { out, target } = this.run(where, src, srcExtended, tgtIn, call, tgtOut);
    try {
      return tf.tidy(() => {
        const t = target!; // [B, Lt] int32
        const padId = this.model.config.padId ?? -100;
        // log P is a log-softmax of itself (P sums to 1), so core's crossEntropy is the NLL with padding ignored.
        const logP = tf.log(tf.add(out.probs, EPS)); // [B, Lt, Vext]
        const nll = crossEntropy(logP, t, { ignoreIndex: padId, reduction: red }); // [] or [B, Lt]
        if (lambda === 0 || red === 'none') return nll;
        const real = tf.notEqual(t, tf.scalar(padId, 'int32')); // [B, Lt]
        const cov = coverageLoss(out.attention, real); // []
        const scaledCov = red === 'sum' ? tf.mul(cov, tf.sum(tf.cast(real, 'float32'))) : cov; // []
        return tf.add(nll, tf.mul(scaledCov, lambda)); // []
      });
    } finally {
      tf.dispose([out.probs, out.pGen, out.attention, out.logits]);
      if (target && !isTensor(tgtOut)) target.dispose();
    }
  }

  /**
   * Encodes `src` once and returns the step function that `@dl/decode`'s `copyStep` wraps (a
   * `PointerGeneratorStepFn`: logits over V, the copy attention over the source positions and p_gen per
   * row), with its initial state. Wrap it with `copyStep(step, { sources, vocabSize, unkTokenId })` and
   * drive it with greedy, beam search or sampling: tokens ≥ V are copied OOV words. With cacheable
   * decoder attention each step feeds only the newest token. `sources` must hold one extended id per
   * source position (pad shorter sources with −1 to the batch's source length). Dispose the state after
   * decoding.
   *
   * @param src model ids `[B, Ls]`.
   * @param call source masks.
   * @param options `useCache` (default true).
   *
   * @example
   * ```ts
   * import { EncoderDecoder, PointerGenerator } from '@dl/transformer';
   * import { beamSearch, copyStep } from '@dl/decode';
   * const pg = new PointerGenerator(new EncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: 0, seed: 0 }));
   * pg.eval();
   * const { step, state } = pg.decoding([[4, 3, 5]]); // 3 = unk
   * const copying = copyStep(step, { sources: [[4, 8, 5]], vocabSize: 8, unkTokenId: 3 }); // source word 2 is OOV id 8
   * const out = await beamSearch(copying, [[1]], { state, numBeams: 2, eosTokenId: 2, maxNewTokens: 4 });
   * state.dispose();
   * ```
   */
  decoding(src: TokenIds, call: Pick<EncoderDecoderCall, 'srcLengths' | 'srcKeyPaddingMask'> = {}, options: DecodingOptions = {}): Decoding<StackCache, PointerGeneratorStepFn<StackCache>> {
    const where = 'PointerGenerator.decoding';
    checkKeys(where, call, ['srcLengths', 'srcKeyPaddingMask']);
    checkKeys(where, options, ['useCache']);
    if (options.useCache !== undefined && typeof options.useCache !== 'boolean') throw new DLArgumentError(where, 'useCache', 'a boolean', options.useCache);
    const model = this.model;
    const enc = model.encode(src, call);
    const rows = enc.memory.shape[0];
    const state = model.transformer.decoder.createCache(rows);
    const useCache = (options.useCache ?? true) && state.complete;
    // The memory and its mask live in the state, so beam search reorders them with everything else.
    state.memory = enc.memory;
    state.memoryKeyPaddingMask = enc.memoryKeyPaddingMask;
    const step: PointerGeneratorStepFn<StackCache> = (tokens, cache) => {
      const n = tokens.length;
      const L = tokens[0]?.length ?? 0;
      if (L === 0 || tokens.some((t) => t.length !== L)) throw new DLArgumentError(where, 'inputIds', 'non-empty target prefixes of equal length', tokens.map((t) => t.length));
      if (!(cache instanceof StackCache) || cache.rows !== n || cache.memory == null) throw new DLArgumentError(where, 'state', `the state made by decoding() with ${n} rows`, cache instanceof StackCache ? `${cache.rows} rows` : cache);
      const memory = cache.memory; // [n, Ls, E]
      const fresh = useCache ? tokens.map((t) => t.slice(cache.length)) : tokens; // [n, m]
      const m = fresh[0].length;
      const d = useCache
        ? model.decode(fresh, cache.cross ? undefined : memory, { cache, returnWeights: true, returnHidden: true })
        : model.decode(fresh, memory, { memoryKeyPaddingMask: cache.memoryKeyPaddingMask, returnWeights: true, returnHidden: true });
      try {
        const { logits, attention, pGen } = tf.tidy(() => {
          const E = model.config.dModel;
          const last = <T extends tf.Tensor>(x: T, width: number) => tf.reshape(tf.slice(x, [0, m - 1, 0], [n, 1, width]), [n, width]); // [n, width]
          const cross = d.crossWeights![d.crossWeights!.length - 1]; // [n, H, m, Ls]
          const Ls = cross.shape[3] as number;
          const a = tf.mean(tf.slice(cross, [0, 0, m - 1, 0], [n, -1, 1, Ls]), 1); // [n, 1, Ls]
          const context = tf.reshape(matMul(a, memory), [n, E]); // [n, E]
          const ids = tf.tensor2d(fresh.map((t) => t[m - 1]), [n, 1], 'int32'); // [n, 1]
          const x = tf.reshape(model.tgtEmbed.forward(ids), [n, E]); // [n, E]
          return {
            logits: last(d.logits, model.config.tgtVocabSize), // [n, V]
            attention: tf.reshape(a, [n, Ls]), // [n, Ls]
            pGen: this.generationProbability(context, last(d.hidden!, E), x), // [n]
          };
        });
        return { logits, attention, pGen, state: cache };
      } finally {
        tf.dispose([d.logits, d.hidden!, ...(d.selfWeights ?? []), ...(d.crossWeights ?? [])]);
      }
    };
    return { step, state };
  }

  /** Shared by forward and loss: validates, runs the model, builds P. Returns the checked target too. */
  private run(where: string, src: TokenIds, srcExtended: TokenIds, tgtIn: TokenIds, call: PointerGeneratorCall, tgtOut: TokenIds | null): { out: PointerGeneratorForward; target: tf.Tensor | null } {
    const model = this.model;
    const V = model.config.tgtVocabSize;
    const given = call.extendedVocabSize;
    let Vext: number;
    if (given !== undefined) Vext = checkInt(where, 'extendedVocabSize', given, V);
    else if (!isTensor(srcExtended) && !isTensor(tgtOut)) {
      Vext = [...flatIds(srcExtended), ...(tgtOut ? flatIds(tgtOut) : [])].reduce((m, v) => Math.max(m, v + 1), V);
    } else throw new DLArgumentError(where, 'extendedVocabSize', `given (an integer ≥ ${V}) when ids are tensors`, given);
    const owned: tf.Tensor[] = [];
    const own = <T extends { ids: tf.Tensor2D; owned: boolean }>(r: T): T => {
      if (r.owned) owned.push(r.ids);
      return r;
    };
    try {
      const srcIds = own(tokenTensor(where, 'src', src, model.config.srcVocabSize));
      const [B, Ls] = srcIds.ids.shape;
      const ext = own(extendedTensor(where, 'srcExtended', srcExtended, Vext, -1, [B, Ls]));
      const tin = own(tokenTensor(where, 'tgtIn', tgtIn, V));
      if (tin.ids.shape[0] !== B) throw new DLArgumentError(where, 'tgtIn', `${B} rows (as src)`, tin.ids);
      const Lt = tin.ids.shape[1];
      const target = tgtOut === null ? null : extendedTensor(where, 'tgtOut', tgtOut, Vext, 0, [B, Lt]).ids;
      const enc = model.encode(srcIds.ids, call);
      let d: ReturnType<EncoderDecoder['decode']> | null = null;
      try {
        d = model.decode(tin.ids, enc.memory, { memoryKeyPaddingMask: enc.memoryKeyPaddingMask, tgtLengths: call.tgtLengths, tgtKeyPaddingMask: call.tgtKeyPaddingMask, returnWeights: true, returnHidden: true });
        const dd = d;
        const out = tf.tidy(() => {
          const E = model.config.dModel;
          const cross = dd.crossWeights![dd.crossWeights!.length - 1]; // [B, H, Lt, Ls]
          const attention = tf.mean(cross, 1); // [B, Lt, Ls]
          const context = matMul(attention, enc.memory); // [B, Lt, E]
          const x = model.tgtEmbed.forward(tin.ids); // [B, Lt, E]
          const pGen = this.generationProbability(context, dd.hidden!, x); // [B, Lt]
          const vocab = tf.reshape(tf.softmax(dd.logits), [B * Lt, V]); // [B·Lt, V]
          const srcRows = tf.reshape(tf.tile(tf.expandDims(ext.ids, 1), [1, Lt, 1]), [B * Lt, Ls]); // [B·Lt, Ls]
          const p = copyDistribution(vocab, tf.reshape(attention, [B * Lt, Ls]), tf.reshape(pGen, [B * Lt]), srcRows, Vext); // [B·Lt, Vext]
          return { probs: tf.reshape(p, [B, Lt, Vext]), pGen, attention, logits: tf.clone(dd.logits) }; // [B, Lt, Vext], [B, Lt], [B, Lt, Ls], [B, Lt, V]
        });
        return { out, target };
      } catch (e) {
        if (target && !isTensor(tgtOut)) target.dispose();
        throw e;
      } finally {
        tf.dispose([enc.memory, ...(enc.memoryKeyPaddingMask ? [enc.memoryKeyPaddingMask] : []), ...(enc.weights ?? [])]);
        if (d) tf.dispose([d.logits, d.hidden!, ...(d.selfWeights ?? []), ...(d.crossWeights ?? [])]);
      }
    } finally {
      tf.dispose(owned);
    }
  }
}

function flatIds(ids: TokenIds): number[] {
  if (!Array.isArray(ids)) return [];
  return (ids as number[][]).flat().filter((v) => Number.isInteger(v));
}

/** Extended ids as an int32 tensor of `shape`, each in [lo, Vext) (arrays checked on the host). */
function extendedTensor(where: string, arg: string, ids: TokenIds, Vext: number, lo: number, shape: [number, number]): { ids: tf.Tensor2D; owned: boolean } {
  if (isTensor(ids)) {
    checkShape(where, arg, ids, { rank: 2, dims: { 0: shape[0], 1: shape[1] }, dtype: 'int32' });
    return { ids: ids as tf.Tensor2D, owned: false };
  }
  if (!Array.isArray(ids) || ids.length !== shape[0] || ids.some((r) => !Array.isArray(r) || r.length !== shape[1])) {
    throw new DLArgumentError(where, arg, `${shape[0]} rows of ${shape[1]} ids (an int32 tensor [${shape.join(', ')}] or arrays)`, ids);
  }
  const flat = (ids as number[][]).flat();
  const bad = flat.findIndex((v) => !Number.isInteger(v) || v < lo || v >= Vext);
  if (bad >= 0) throw new DLArgumentError(where, arg, `integer ids in [${lo}, ${Vext}) (the extended vocabulary${lo < 0 ? '; −1 = padding' : ''})`, asIs(`${flat[bad]} at flat position ${bad}`));
  return { ids: tf.tensor2d(flat, shape, 'int32'), owned: true };
}
