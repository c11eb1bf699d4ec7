import * as tf from '@tensorflow/tfjs-core';
import { keyPaddingFromLengths, rejectRenamedOptions } from '@dl/attention';
import { checkInt, checkKeys, crossEntropy, DLArgumentError, Dropout, Embedding, Linear, Module, normal, Rng, type Reduction } from '@dl/core';
import type { StepFn } from '@dl/decode';
import type { AttentionSpec } from './attention-spec.js';
import { StackCache } from './cache.js';
import type { InitScheme, PositionKind, StackConfig } from './config.js';
import { embed, project } from './embeddings.js';
import type { Activation } from './feed-forward.js';
import { LearnedPositions } from './positions/learned.js';
import { TransformerDecoder, TransformerEncoder, type StackOutput } from './stack.js';
import { tokenTensor, type TokenIds } from './tokens.js';
import type { Decoding, DecodingOptions } from './gpt.js';

/** Which of the three token matrices share one weight: any two, or all three. */
export type TiedWeights = readonly ('source' | 'target' | 'output')[];

/**
 * An encoder-decoder Transformer's configuration (Vaswani et al. 2017), one plain object. Defaults follow
 * `torch.nn.Transformer` (post-LN, ReLU, dropout 0.1, xavier init) with sinusoidal positions and
 * embeddings scaled by √dModel.
 *
 * @example
 * ```ts
 * import type { EncoderDecoderConfig } from '@dl/transformer';
 * const g2p: EncoderDecoderConfig = {
 *   srcVocabSize: 30, tgtVocabSize: 45, dModel: 128, nHeads: 4, numEncoderLayers: 3, numDecoderLayers: 3,
 *   dimFeedforward: 512, normFirst: true, dropout: 0.1, padId: 0,
 * };
 * ```
 */
export interface EncoderDecoderConfig {
  /** Source vocabulary size. */
  srcVocabSize: number;
  /** Target vocabulary size. */
  tgtVocabSize: number;
  /** Model width. */
  dModel: number;
  /** Attention heads. */
  nHeads: number;
  /** Key/value heads (grouped-query). Default nHeads. */
  nKVHeads?: number;
  /** Feed-forward width. Default 4·dModel. */
  dimFeedforward?: number;
  /** Encoder layers. */
  numEncoderLayers: number;
  /** Decoder layers. */
  numDecoderLayers: number;
  /** Default `'relu'`. */
  activation?: Activation;
  /** Default `'layernorm'`. */
  norm?: 'layernorm' | 'rmsnorm';
  /** Default 1e-5. */
  normEps?: number;
  /** Pre-LN (true) or post-LN (false, default). */
  normFirst?: boolean;
  /** Final norms of both stacks. Default true (as `nn.Transformer`). */
  finalNorm?: boolean;
  /** Biases. Default true. */
  bias?: boolean;
  /** Default for every dropout. Default 0.1. */
  dropout?: number;
  /** After the embeddings. Default `dropout`. */
  embeddingDropout?: number;
  /** On attention weights. Default `dropout`. */
  attentionDropout?: number;
  /** On sublayer outputs. Default `dropout`. */
  residualDropout?: number;
  /** Inside the feed-forward. Default `dropout`. */
  ffDropout?: number;
  /** Position information. Default `'sinusoidal'`. */
  position?: PositionKind;
  /** Longest sequence for learned positions. Default 512. */
  maxLength?: number;
  /** RoPE's base. Default 10000. */
  ropeBase?: number;
  /** T5 buckets. Default 32. */
  relativeBuckets?: number;
  /** T5 maximum distance. Default 128. */
  relativeMaxDistance?: number;
  /** Encoder attention (every layer). Default `'full'`. */
  encoderAttention?: AttentionSpec | AttentionSpec[];
  /** Encoder attention per layer. */
  encoderLayerAttention?: (AttentionSpec | AttentionSpec[])[];
  /** Decoder self-attention (every layer). Default `'full'`. */
  decoderAttention?: AttentionSpec | AttentionSpec[];
  /** Decoder self-attention per layer. */
  decoderLayerAttention?: (AttentionSpec | AttentionSpec[])[];
  /** Shared token matrices, e.g. `['target', 'output']` or all three. Default none. */
  tieWeights?: TiedWeights;
  /** The padding token: padding masks are derived from the ids when none are given. */
  padId?: number;
  /** Multiply token embeddings by √dModel. Default true. */
  scaleEmbedding?: boolean;
  /** Initialisation of the layers. Default `'xavier'` (`nn.Transformer`'s). */
  init?: InitScheme;
  /** Seed of the initial weights. */
  seed?: number;
}

const KEYS = [
  'srcVocabSize', 'tgtVocabSize', 'dModel', 'nHeads', 'nKVHeads', 'dimFeedforward', 'numEncoderLayers', 'numDecoderLayers', 'activation', 'norm', 'normEps',
  'normFirst', 'finalNorm', 'bias', 'dropout', 'embeddingDropout', 'attentionDropout', 'residualDropout', 'ffDropout', 'position', 'maxLength', 'ropeBase',
  'relativeBuckets', 'relativeMaxDistance', 'encoderAttention', 'encoderLayerAttention', 'decoderAttention', 'decoderLayerAttention', 'tieWeights', 'padId',
  'scaleEmbedding', 'init', 'seed',
];

/** Masks of an encoder-decoder call: lengths or padding masks (true = padding) per side. */
export interface EncoderDecoderCall {
  /** Real source lengths (padding at the end). */
  srcLengths?: number[];
  /** Boolean `[B, Ls]`, true = source padding. */
  srcKeyPaddingMask?: tf.Tensor;
  /** Real target lengths. */
  tgtLengths?: number[];
  /** Boolean `[B, Lt]`, true = target padding. */
  tgtKeyPaddingMask?: tf.Tensor;
  /** Return attention weights (encoder self, decoder self, decoder cross; one tensor per layer). */
  returnWeights?: boolean;
}

/** What {@link EncoderDecoder.encode} returns (the caller disposes the tensors). */
export interface EncodeOutput {
  /** The encoder output `[B, Ls, E]`. */
  memory: tf.Tensor;
  /** Boolean `[B, Ls]`, true = padding, or null. */
  memoryKeyPaddingMask: tf.Tensor | null;
  /** Encoder self-attention per layer, with `returnWeights`. */
  weights?: tf.Tensor[];
}

/** What {@link EncoderDecoder.decode} returns. */
export interface DecodeOutput {
  /** `[B, Lt, tgtVocab]`. */
  logits: tf.Tensor;
  /** Decoder self-attention per layer, with `returnWeights`. */
  selfWeights?: tf.Tensor[];
  /** Cross-attention per layer, with `returnWeights`. */
  crossWeights?: tf.Tensor[];
  /** The final hidden states `[B, Lt, E]` (the output projection's input), with `returnHidden`. */
  hidden?: tf.Tensor;
}

/** The resolved configuration of an {@link EncoderDecoder}: the config with its defaults filled in. */
export interface ResolvedEncoderDecoderConfig extends EncoderDecoderConfig {
  /** Position kind. */
  position: PositionKind;
  /** Tied matrices. */
  tieWeights: TiedWeights;
  /** Embeddings scaled by √dModel. */
  scaleEmbedding: boolean;
  /** Learned positions' table size. */
  maxLength: number;
}

/** What {@link EncoderDecoder.forward} returns. */
export interface EncoderDecoderOutput {
  /** `[B, Lt, tgtVocab]`. */
  logits: tf.Tensor;
  /** Encoder self-attention per layer `[B, H, Ls, Ls]`. */
  encoderWeights?: tf.Tensor[];
  /** Decoder self-attention per layer `[B, H, Lt, Lt]`. */
  decoderWeights?: tf.Tensor[];
  /** Cross-attention per layer `[B, H, Lt, Ls]`. */
  crossWeights?: tf.Tensor[];
}

/**
 * `nn.Transformer`'s container of an {@link EncoderDecoder}: `encoder` and `decoder` (so an
 * `nn.Transformer` state dict loads into `model.transformer`).
 */
export class TransformerPair extends Module {
  /**
   * @param encoder the encoder stack.
   * @param decoder the decoder stack.
   */
  constructor(
    readonly encoder: TransformerEncoder,
    readonly decoder: TransformerDecoder,
  ) {
    super();
    this.registerModule('encoder', encoder);
    this.registerModule('decoder', decoder);
  }

  /** A container: run the {@link EncoderDecoder} instead. */
  forward(): never {
    throw new Error('run the EncoderDecoder instead');
  }
}

/**
 * A sequence-to-sequence Transformer: a bidirectional encoder reads the source, an autoregressive decoder
 * attends to its own past (causal self-attention) and to the encoder output (cross-attention, queries
 * from the decoder, keys and values from the encoder) and predicts the next target token.
 *
 * Parameter names are those of PyTorch's translation tutorial model: `src_tok_emb.weight`,
 * `tgt_tok_emb.weight`, `transformer.encoder.layers.{i}.…`, `transformer.decoder.layers.{i}.…` (so an
 * `nn.Transformer` state dict loads into `transformer`), `generator.weight`/`bias`, and `src_pos.weight`
 * / `tgt_pos.weight` for learned positions. Tied matrices appear once, under the first of
 * `src_tok_emb`, `tgt_tok_emb`, `generator`.
 *
 * Training uses teacher forcing: `forward(src, tgtIn)` with `tgtIn` the target shifted right (BOS
 * first), and the loss compares with the unshifted target. {@link EncoderDecoder.decoding} gives the
 * step function for `@dl/decode`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { EncoderDecoder } from '@dl/transformer';
 * const model = new EncoderDecoder({ srcVocabSize: 12, tgtVocabSize: 12, dModel: 16, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, padId: 0, seed: 0 });
 * const src = [[5, 6, 7, 0]]; // one padded source
 * const tgtIn = [[1, 7, 6]]; // BOS, then the target so far
 * const { logits } = model.forward(src, tgtIn); // [1, 3, 12]
 * ```
 */
export class EncoderDecoder extends Module {
  /** The resolved configuration. */
  readonly config: Readonly<ResolvedEncoderDecoderConfig>;
  /** `transformer.encoder` and `transformer.decoder`. */
  readonly transformer: TransformerPair;
  /** Source token embedding. */
  readonly srcEmbed: Embedding;
  /** Target token embedding (the source's when tied). */
  readonly tgtEmbed: Embedding;
  /** The output layer, or null when tied to an embedding. */
  readonly generator: Linear | null;
  /** Learned source positions, or null. */
  readonly srcPos: LearnedPositions | null;
  /** Learned target positions, or null. */
  readonly tgtPos: LearnedPositions | null;
  private readonly outWeight: tf.Variable;
  private readonly drop: Dropout;
  private readonly scale: number;

  /** @param config see {@link EncoderDecoderConfig}. */
  constructor(config: EncoderDecoderConfig) {
    super();
    const where = 'EncoderDecoder';
    if (config == null || typeof config !== 'object') throw new DLArgumentError(where, 'config', 'an object', config);
    checkKeys(where, config, KEYS);
    const Vs = checkInt(where, 'srcVocabSize', config.srcVocabSize);
    const Vt = checkInt(where, 'tgtVocabSize', config.tgtVocabSize);
    const E = checkInt(where, 'dModel', config.dModel);
    const position = config.position ?? 'sinusoidal';
    const kinds: PositionKind[] = ['none', 'sinusoidal', 'learned', 'rope', 'alibi', 't5'];
    if (!kinds.includes(position)) throw new DLArgumentError(where, 'position', `one of ${kinds.map((p) => `'${p}'`).join(', ')}`, position);
    const tie = config.tieWeights ?? [];
    if (!Array.isArray(tie) || tie.some((t) => !['source', 'target', 'output'].includes(t)) || new Set(tie).size !== tie.length || tie.length === 1) {
      throw new DLArgumentError(where, 'tieWeights', "[] or two or three distinct names of 'source', 'target', 'output'", tie);
    }
    const tied = (a: string, b: string) => tie.includes(a as never) && tie.includes(b as never);
    if ((tied('source', 'target') || tied('source', 'output')) && Vs !== Vt) {
      throw new DLArgumentError(where, 'tieWeights', `without 'source' when the vocabularies differ (${Vs} and ${Vt})`, tie);
    }
    if (config.padId !== undefined) checkInt(where, 'padId', config.padId, 0);
    const scaleEmbedding = config.scaleEmbedding ?? true;
    const maxLength = checkInt(where, 'maxLength', config.maxLength ?? 512);
    const rng = config.seed === undefined ? undefined : new Rng(checkInt(where, 'seed', config.seed, 0));
    // With the √d scale, N(0, 1/d) embeddings enter the model with unit variance (fairseq's choice).
    const embInit = normal(0, scaleEmbedding ? 1 / Math.sqrt(E) : 1);
    let encoder: TransformerEncoder | undefined;
    let decoder: TransformerDecoder | undefined;
    try {
      this.srcEmbed = this.registerModule('src_tok_emb', new Embedding(Vs, E, { init: embInit, rng, paddingIdx: config.padId !== undefined && config.padId < Vs ? config.padId : undefined }));
      this.tgtEmbed = tied('source', 'target') ? this.srcEmbed : this.registerModule('tgt_tok_emb', new Embedding(Vt, E, { init: embInit, rng, paddingIdx: config.padId !== undefined && config.padId < Vt ? config.padId : undefined }));
      this.srcPos = position === 'learned' ? this.registerModule('src_pos', new LearnedPositions(maxLength, E, { rng })) : null;
      this.tgtPos = position === 'learned' ? this.registerModule('tgt_pos', new LearnedPositions(maxLength, E, { rng })) : null;
      this.drop = this.registerModule('dropout', new Dropout(config.embeddingDropout ?? config.dropout ?? 0.1));
      const stack = (numLayers: number, attention?: AttentionSpec | AttentionSpec[], layerAttention?: (AttentionSpec | AttentionSpec[])[]): StackConfig => ({
        dModel: E,
        nHeads: config.nHeads,
        nKVHeads: config.nKVHeads,
        dimFeedforward: config.dimFeedforward,
        numLayers,
        activation: config.activation,
        norm: config.norm,
        normEps: config.normEps,
        normFirst: config.normFirst,
        finalNorm: config.finalNorm ?? true,
        bias: config.bias,
        dropout: config.dropout,
        attentionDropout: config.attentionDropout,
        residualDropout: config.residualDropout,
        ffDropout: config.ffDropout,
        position: position === 'sinusoidal' || position === 'learned' ? 'none' : position,
        ropeBase: config.ropeBase,
        relativeBuckets: config.relativeBuckets,
        relativeMaxDistance: config.relativeMaxDistance,
        attention,
        layerAttention,
        init: config.init ?? 'xavier',
        seed: rng ? rng.nextUint32() >>> 1 : undefined,
      });
      encoder = new TransformerEncoder(stack(checkInt(where, 'numEncoderLayers', config.numEncoderLayers, 0), config.encoderAttention, config.encoderLayerAttention));
      decoder = new TransformerDecoder(stack(checkInt(where, 'numDecoderLayers', config.numDecoderLayers, 0), config.decoderAttention, config.decoderLayerAttention));
      this.transformer = this.registerModule('transformer', new TransformerPair(encoder, decoder));
      if (tied('target', 'output')) {
        this.generator = null;
        this.outWeight = this.tgtEmbed.weight;
      } else if (tied('source', 'output')) {
        this.generator = null;
        this.outWeight = this.srcEmbed.weight;
      } else {
        this.generator = this.registerModule('generator', new Linear(E, Vt, { rng }));
        this.outWeight = this.generator.weight;
      }
    } catch (e) {
      // A bad stack configuration frees everything built so far.
      if (!this.namedChildren().some(([n]) => n === 'transformer')) {
        encoder?.dispose();
        decoder?.dispose();
      }
      this.dispose();
      throw e;
    }
    this.scale = scaleEmbedding ? Math.sqrt(E) : 1;
    this.config = { ...config, position, tieWeights: tie, scaleEmbedding, maxLength };
  }

  /** The padding mask of `ids` from `padId` (new tensor), or null. */
  private padMask(ids: tf.Tensor2D, given: tf.Tensor | undefined, lengths: number[] | undefined): tf.Tensor | null {
    if (given || lengths || this.config.padId === undefined) return null;
    return tf.equal(ids, this.config.padId); // [B, L]
  }

  private positions(pos: LearnedPositions | null): LearnedPositions | 'sinusoidal' | null {
    return pos ?? (this.config.position === 'sinusoidal' ? 'sinusoidal' : null);
  }

  /**
   * Runs the encoder.
   *
   * @param src source ids `[B, Ls]`.
   * @returns `memory` `[B, Ls, E]`, its padding mask (true = padding, or null) and, with `returnWeights`,
   * the encoder's attention weights. The caller disposes them.
   */
  encode(src: TokenIds, call: Pick<EncoderDecoderCall, 'srcLengths' | 'srcKeyPaddingMask' | 'returnWeights'> = {}): EncodeOutput {
    rejectRenamedOptions('EncoderDecoder.encode', call);
    const { ids, owned } = tokenTensor('EncoderDecoder.encode', 'src', src, this.config.srcVocabSize);
    try {
      const auto = this.padMask(ids, call.srcKeyPaddingMask, call.srcLengths);
      const mask = call.srcKeyPaddingMask ? tf.clone(call.srcKeyPaddingMask) : call.srcLengths ? null : auto;
      let r: StackOutput;
      try {
        // tidy keeps the tensors of the returned object (output and weights) and frees the embeddings.
        r = tf.tidy(() => {
          const x = this.drop.forward(embed(ids, this.srcEmbed, this.positions(this.srcPos), 0, this.scale)); // [B, Ls, E]
          return this.transformer.encoder.forward(x, { keyPaddingMask: mask ?? undefined, lengths: call.srcLengths, returnWeights: call.returnWeights }) as unknown as tf.TensorContainer;
        }) as unknown as StackOutput;
      } catch (e) {
        mask?.dispose();
        throw e;
      }
      // The stack checked the lengths; the decoder's cross-attention needs them as a mask.
      const lengthsMask = call.srcLengths ? keyPaddingFromLengths(call.srcLengths, ids.shape[1]) : null; // [B, Ls]
      return { memory: r.output, memoryKeyPaddingMask: mask ?? lengthsMask, ...(r.selfWeights && { weights: r.selfWeights }) };
    } finally {
      if (owned) ids.dispose();
    }
  }

  /**
   * Runs the decoder over target inputs with teacher forcing (or from a cache when decoding).
   *
   * @param tgtIn target input ids `[B, Lt]` (BOS first).
   * @param memory the encoder output `[B, Ls, E]` (optional with a cache that already holds it).
   * @param call masks, cache and weights; for heads built on the decoder (pointer-generator, CMLM):
   * `causal: false` runs the decoder bidirectionally, `returnHidden` also returns its final hidden states.
   * @returns `logits` `[B, Lt, tgtVocab]`, with `returnWeights` the decoder's weights, with `returnHidden`
   * `hidden` `[B, Lt, E]` (the input of the output projection).
   */
  decode(
    tgtIn: TokenIds,
    memory: tf.Tensor | undefined,
    call: { memoryKeyPaddingMask?: tf.Tensor | null; tgtLengths?: number[]; tgtKeyPaddingMask?: tf.Tensor; cache?: StackCache; returnWeights?: boolean; causal?: boolean; returnHidden?: boolean } = {},
  ): DecodeOutput {
    rejectRenamedOptions('EncoderDecoder.decode', call);
    const { ids, owned } = tokenTensor('EncoderDecoder.decode', 'tgtIn', tgtIn, this.config.tgtVocabSize);
    const mask = call.cache ? null : this.padMask(ids, call.tgtKeyPaddingMask, call.tgtLengths);
    try {
      let selfWeights: tf.Tensor[] | undefined;
      let crossWeights: tf.Tensor[] | undefined;
      let hidden: tf.Tensor | undefined;
      const logits = tf.tidy(() => {
        const offset = call.cache?.length ?? 0;
        const x = this.drop.forward(embed(ids, this.tgtEmbed, this.positions(this.tgtPos), offset, this.scale)); // [B, Lt, E]
        const r = this.transformer.decoder.forward(x, {
          memory,
          memoryKeyPaddingMask: call.cache ? undefined : call.memoryKeyPaddingMask ?? undefined,
          keyPaddingMask: call.tgtKeyPaddingMask ?? mask ?? undefined,
          lengths: call.tgtLengths,
          cache: call.cache,
          returnWeights: call.returnWeights,
          causal: call.causal,
        });
        if (r.selfWeights) selfWeights = r.selfWeights.map((w) => tf.keep(w));
        if (r.crossWeights) crossWeights = r.crossWeights.map((w) => tf.keep(w));
        if (call.returnHidden) hidden = tf.keep(r.output); // [B, Lt, E]
        return project(r.output, this.outWeight, this.generator?.bias ?? null); // [B, Lt, V]
      });
      return { logits, ...(selfWeights && { selfWeights }), ...(crossWeights && { crossWeights }), ...(hidden && { hidden }) };
    } finally {
      mask?.dispose();
      if (owned) ids.dispose();
    }
  }

  /**
   * Teacher-forced logits for `tgtIn` given `src`.
   *
   * @param src source ids `[B, Ls]`.
   * @param tgtIn target input ids `[B, Lt]` (the target shifted right, BOS first).
   */
  forward(src: TokenIds, tgtIn: TokenIds, call: EncoderDecoderCall = {}): EncoderDecoderOutput {
    rejectRenamedOptions('EncoderDecoder.forward', call);
    checkKeys('EncoderDecoder.forward', call, ['srcLengths', 'srcKeyPaddingMask', 'tgtLengths', 'tgtKeyPaddingMask', 'returnWeights']);
    const enc = this.encode(src, call);
    try {
      const dec = this.decode(tgtIn, enc.memory, { memoryKeyPaddingMask: enc.memoryKeyPaddingMask, tgtLengths: call.tgtLengths, tgtKeyPaddingMask: call.tgtKeyPaddingMask, returnWeights: call.returnWeights });
      if (!call.returnWeights) return { logits: dec.logits };
      return { logits: dec.logits, encoderWeights: enc.weights, decoderWeights: dec.selfWeights, crossWeights: dec.crossWeights };
    } finally {
      enc.memory.dispose();
      enc.memoryKeyPaddingMask?.dispose();
    }
  }

  /**
   * Label-smoothed cross-entropy of `tgtOut` (the target, EOS last) under teacher forcing, padding
   * ignored: positions whose target is `padId` (or `ignoreIndex`) count for nothing.
   *
   * @returns a scalar (mean over real target tokens).
   */
  loss(src: TokenIds, tgtIn: TokenIds, tgtOut: TokenIds, options: EncoderDecoderCall & { labelSmoothing?: number; reduction?: Reduction } = {}): tf.Scalar {
    const { labelSmoothing, reduction, ...call } = options;
    const out = tokenTensor('EncoderDecoder.loss', 'tgtOut', tgtOut, this.config.tgtVocabSize);
    try {
      return tf.tidy(() => {
        const { logits } = this.forward(src, tgtIn, call); // [B, Lt, V]
        return crossEntropy(logits, out.ids, { ignoreIndex: this.config.padId ?? -100, labelSmoothing, reduction }) as tf.Scalar;
      });
    } finally {
      if (out.owned) out.ids.dispose();
    }
  }

  /**
   * Encodes `src` once and returns the step function that `@dl/decode`'s strategies drive, with its
   * initial state (one row per source). Cross-attention keys and values are computed on the first step
   * and reused; with cacheable decoder attention (full, local, elu/relu linear) each step feeds only the
   * newest token. Beam search reorders the state (`StackCache.reorder`) as it re-ranks beams. Dispose
   * the returned state after decoding.
   *
   * @example
   * ```ts
   * import { EncoderDecoder } from '@dl/transformer';
   * import { beamSearch } from '@dl/decode';
   * const model = new EncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 10, dModel: 16, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, seed: 0 });
   * model.eval();
   * const { step, state } = model.decoding([[4, 5, 6]]);
   * const out = await beamSearch(step, [[1]], { state, numBeams: 3, eosTokenId: 2, maxNewTokens: 6 });
   * state.dispose();
   * ```
   */
  decoding(src: TokenIds, call: Pick<EncoderDecoderCall, 'srcLengths' | 'srcKeyPaddingMask'> = {}, options: DecodingOptions = {}): Decoding<StackCache> {
    checkKeys('EncoderDecoder.decoding', options, ['useCache']);
    const enc = this.encode(src, call);
    const rows = enc.memory.shape[0];
    const state = this.transformer.decoder.createCache(rows);
    const useCache = (options.useCache ?? true) && state.complete;
    // The memory and its mask live in the state, so beam search reorders them with everything else.
    state.memory = enc.memory;
    state.memoryKeyPaddingMask = enc.memoryKeyPaddingMask;
    const step: StepFn<StackCache> = (tokens, cache) => {
      const n = tokens.length;
      const L = tokens[0]?.length ?? 0;
      if (tokens.some((t) => t.length !== L)) throw new DLArgumentError('EncoderDecoder.decoding', 'inputIds', 'target prefixes of equal length', tokens.map((t) => t.length));
      if (cache.rows !== n) throw new DLArgumentError('EncoderDecoder.decoding', 'state', `a state of ${n} rows`, `${cache.rows} rows`);
      const logits = tf.tidy(() => {
        const fresh = useCache ? tokens.map((t) => t.slice(cache.length)) : tokens; // [n, new]
        const { logits: all } = useCache
          ? this.decode(fresh, cache.cross ? undefined : cache.memory ?? undefined, { cache })
          : // Generated tokens are never padding, even one equal to padId: full lengths, no mask from the ids.
            this.decode(fresh, cache.memory ?? undefined, { memoryKeyPaddingMask: cache.memoryKeyPaddingMask, tgtLengths: fresh.map(() => fresh[0].length) });
        const m = fresh[0].length;
        return tf.squeeze(tf.slice(all, [0, m - 1, 0], [n, 1, -1]), [1]); // [n, V]
      });
      return { logits, state: cache };
    };
    return { step, state };
  }
}
