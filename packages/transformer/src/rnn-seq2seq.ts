import * as tf from '@tensorflow/tfjs-core';
import { maskedSoftmax } from '@dl/attention';
import { asIs, checkInt, checkKeys, checkNumber, crossEntropy, DLArgumentError, Dropout, Embedding, getRng, GRU, indexSelect, isTensor, Linear, LSTM, matMul, Module, type Reduction } from '@dl/core';
import type { StepFn } from '@dl/decode';
import type { Decoding } from './gpt.js';
import { tokenTensor, type TokenIds } from './tokens.js';

/**
 * The configuration of an {@link RNNEncoderDecoder}, one plain object (unknown keys are rejected).
 *
 * @example
 * ```ts
 * import type { RNNEncoderDecoderConfig } from '@dl/transformer';
 * const g2p: RNNEncoderDecoderConfig = {
 *   srcVocabSize: 30, tgtVocabSize: 42, embeddingDim: 64, hiddenSize: 128, numEncoderLayers: 2,
 *   dropout: 0.2, padId: 0, seed: 1,
 * };
 * ```
 */
export interface RNNEncoderDecoderConfig {
  /** Source vocabulary size. */
  srcVocabSize: number;
  /** Target vocabulary size. */
  tgtVocabSize: number;
  /** Size of the source and target token embeddings. */
  embeddingDim: number;
  /** The encoder's state size per direction (its outputs, the annotations, are 2 · hiddenSize wide). */
  hiddenSize: number;
  /** The decoder's state size. Default 2 · hiddenSize. */
  decoderHiddenSize?: number;
  /** Size of the attention's tanh layer. Default decoderHiddenSize. */
  attentionSize?: number;
  /** Stacked bidirectional encoder layers. Default 1. */
  numEncoderLayers?: number;
  /** Stacked decoder layers. Default 1. */
  numDecoderLayers?: number;
  /** The recurrence of the encoder and the decoder: `'lstm'` (default) or `'gru'`. */
  cell?: 'lstm' | 'gru';
  /**
   * Dropout probability in [0, 1), in training mode only: on the embeddings, between stacked recurrent
   * layers, on the encoder outputs and on the attentional vector before the output layer. Default 0.
   */
  dropout?: number;
  /**
   * The padding token, in both vocabularies: source lengths are derived from the ids when no
   * `srcLengths` are given (padding at the end), and target positions whose `tgtOut` is padding are
   * ignored by the loss. Its embedding rows start at zero and get no gradient.
   */
  padId?: number;
  /** Seed of the initial weights (dropout draws from the global generator). Default: the global generator. */
  seed?: number;
}

const KEYS = ['srcVocabSize', 'tgtVocabSize', 'embeddingDim', 'hiddenSize', 'decoderHiddenSize', 'attentionSize', 'numEncoderLayers', 'numDecoderLayers', 'cell', 'dropout', 'padId', 'seed'];

/**
 * An {@link RNNEncoderDecoderConfig} with its defaults filled in (`model.config`).
 *
 * @example
 * ```ts
 * import { RNNEncoderDecoder } from '@dl/transformer';
 * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4 });
 * const { decoderHiddenSize, attentionSize, cell } = model.config; // 8, 8, 'lstm'
 * ```
 */
export interface ResolvedRNNEncoderDecoderConfig extends RNNEncoderDecoderConfig {
  /** The decoder's state size. */
  decoderHiddenSize: number;
  /** The attention's hidden size. */
  attentionSize: number;
  /** Encoder layers. */
  numEncoderLayers: number;
  /** Decoder layers. */
  numDecoderLayers: number;
  /** The recurrence. */
  cell: 'lstm' | 'gru';
  /** The dropout probability. */
  dropout: number;
}

/**
 * Per-call options of {@link RNNEncoderDecoder}'s `forward`, `encode` and `decoding`.
 *
 * @example
 * ```ts
 * import { RNNEncoderDecoder, type RNNEncoderDecoderCall } from '@dl/transformer';
 * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4, seed: 0 });
 * const call: RNNEncoderDecoderCall = { srcLengths: [3, 1] }; // no padId: say where each source ends
 * const { logits, attention } = model.forward([[3, 4, 5], [6, 7, 7]], [[1], [1]], call); // attention [2, 1, 3]
 * ```
 */
export interface RNNEncoderDecoderCall {
  /**
   * The real length of each source, in [1, Ls] (padding at the end). Default: from `padId` (the position
   * after each row's last non-padding token), or every source whole.
   */
  srcLengths?: readonly number[];
}

/**
 * Options of {@link RNNEncoderDecoder.loss}.
 *
 * @example
 * ```ts
 * import type { RNNEncoderDecoderLossOptions } from '@dl/transformer';
 * const options: RNNEncoderDecoderLossOptions = { labelSmoothing: 0.1, reduction: 'sum' };
 * ```
 */
export interface RNNEncoderDecoderLossOptions extends RNNEncoderDecoderCall {
  /** ε of label smoothing in [0, 1]. Default 0. */
  labelSmoothing?: number;
  /** `'mean'` (default) over real target tokens, `'sum'`, or `'none'` (`[B, Lt]`, 0 on padding). */
  reduction?: Reduction;
}

/**
 * What {@link RNNEncoderDecoder.forward} returns (a type alias, so `tf.tidy(() => model.forward(…))`
 * type-checks). The caller disposes both tensors.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RNNEncoderDecoder, type RNNEncoderDecoderOutput } from '@dl/transformer';
 * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4, seed: 0 });
 * const out: RNNEncoderDecoderOutput = model.forward([[3, 4]], [[1, 4]]);
 * const probs = tf.softmax(out.logits); // [1, 2, 8]
 * tf.dispose([out.logits, out.attention]);
 * ```
 */
export type RNNEncoderDecoderOutput = {
  /** `[B, Lt, tgtVocab]`: the next-token logits after each target input. */
  logits: tf.Tensor;
  /** `[B, Lt, Ls]`: the attention weights of each target step over the source (rows sum to 1, zero on padding). */
  attention: tf.Tensor;
};

/**
 * The tensors of a {@link RNNDecoderState}, as its constructor takes them.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RNNDecoderState, type RNNDecoderStateParts } from '@dl/transformer';
 * // One row, one decoder layer of 3 units, a source of 2 positions with 4-wide annotations, attention size 2.
 * const parts: RNNDecoderStateParts = {
 *   h: tf.zeros([1, 1, 3]), c: tf.zeros([1, 1, 3]), context: tf.zeros([1, 4]),
 *   memory: tf.ones([1, 2, 4]), keys: tf.ones([1, 2, 2]), mask: null, length: 0,
 * };
 * const state = new RNNDecoderState(parts);
 * state.rows; // 1
 * state.dispose();
 * ```
 */
export interface RNNDecoderStateParts {
  /** The decoder's hidden state, `[numDecoderLayers, rows, decoderHiddenSize]`. */
  h: tf.Tensor;
  /** The decoder's cell state (LSTM), shaped like `h`; null for GRU. */
  c: tf.Tensor | null;
  /** The previous step's context vector (fed to the next step's input), `[rows, 2 · hiddenSize]`. */
  context: tf.Tensor;
  /** The encoder outputs (annotations), `[rows, Ls, 2 · hiddenSize]`. */
  memory: tf.Tensor;
  /** The encoder outputs through the attention's key projection U·h_j + b, `[rows, Ls, attentionSize]`. */
  keys: tf.Tensor;
  /** 1 at real source positions and 0 at padding, `[rows, Ls]` float32; null when no source is padded. */
  mask: tf.Tensor | null;
  /** Target tokens read so far. */
  length: number;
}

/**
 * The decoding state of an {@link RNNEncoderDecoder}: the decoder's (h, c), the previous context vector
 * (input feeding), the encoder outputs with their key projection, and the source mask, one row per
 * sequence being decoded. It owns its tensors; `reorder(indices)` returns a new, independent state whose
 * row i is row `indices[i]` of this one (beam search calls it as it re-ranks beams) and `dispose()`
 * frees this one's tensors. `@dl/decode`'s strategies dispose the states they make and leave the
 * initial one to the caller.
 *
 * @example
 * ```ts
 * import { RNNEncoderDecoder } from '@dl/transformer';
 * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4, seed: 0 });
 * const state = model.encode([[3, 4, 5], [6, 7, 3]]); // 2 rows
 * const beams = state.reorder([0, 0, 1, 1]); // each row twice: h [1, 4, 8], memory [4, 3, 8]
 * state.dispose();
 * beams.dispose();
 * ```
 */
export class RNNDecoderState {
  /** The decoder's hidden state, `[numDecoderLayers, rows, decoderHiddenSize]`. */
  readonly h: tf.Tensor;
  /** The decoder's cell state (LSTM) or null (GRU). */
  readonly c: tf.Tensor | null;
  /** The previous context vector, `[rows, 2 · hiddenSize]`. */
  readonly context: tf.Tensor;
  /** The encoder outputs, `[rows, Ls, 2 · hiddenSize]`. */
  readonly memory: tf.Tensor;
  /** The projected encoder outputs, `[rows, Ls, attentionSize]`. */
  readonly keys: tf.Tensor;
  /** 1 at real source positions, 0 at padding, `[rows, Ls]`; or null. */
  readonly mask: tf.Tensor | null;
  /** Target tokens read so far. */
  readonly length: number;

  /** @param parts the tensors, which the state now owns. */
  constructor(parts: RNNDecoderStateParts) {
    this.h = parts.h;
    this.c = parts.c;
    this.context = parts.context;
    this.memory = parts.memory;
    this.keys = parts.keys;
    this.mask = parts.mask;
    this.length = parts.length;
  }

  /** Rows (sequences) in the state. */
  get rows(): number {
    return this.memory.shape[0];
  }

  /**
   * A new state whose row i is row `indices[i]` of this one (any count, repeats allowed); this one is
   * unchanged.
   * @param indices integers in [0, rows).
   */
  reorder(indices: readonly number[]): RNNDecoderState {
    const n = this.rows;
    if (!Array.isArray(indices) || indices.length === 0 || indices.some((i) => !Number.isInteger(i) || i < 0 || i >= n)) {
      throw new DLArgumentError('RNNDecoderState.reorder', 'indices', `a non-empty array of integers in [0, ${n}) (rows of the state)`, indices);
    }
    const parts = tf.tidy(() => {
      const out: Record<string, tf.Tensor> = {
        h: indexSelect(this.h, indices, 1), // [layers, n', Hd]
        context: indexSelect(this.context, indices, 0), // [n', 2He]
        memory: indexSelect(this.memory, indices, 0), // [n', Ls, 2He]
        keys: indexSelect(this.keys, indices, 0), // [n', Ls, A]
      };
      if (this.c) out.c = indexSelect(this.c, indices, 1); // [layers, n', Hd]
      if (this.mask) out.mask = indexSelect(this.mask, indices, 0); // [n', Ls]
      return out;
    });
    return new RNNDecoderState({ h: parts.h, c: parts.c ?? null, context: parts.context, memory: parts.memory, keys: parts.keys, mask: parts.mask ?? null, length: this.length });
  }

  /** Frees the state's tensors. */
  dispose(): void {
    tf.dispose([this.h, this.context, this.memory, this.keys]);
    this.c?.dispose();
    this.mask?.dispose();
  }
}

/**
 * Bahdanau et al. (2015)'s additive score a(s, h_j) = wᵀ tanh(W·s + U·h_j + b), with the parameter
 * names of `@dl/attention`'s `AdditiveAttention` (`q_proj` = W, `k_proj` = U and b, `score` = w).
 *
 * `AdditiveAttention` itself does not fit here: it needs queries and keys of one size (here the decoder
 * state, decoderHiddenSize, and the bidirectional annotations, 2 · hiddenSize, differ), and it projects
 * the keys on every call, whereas U·h_j depends only on the source and is computed once per sequence
 * (and kept in the decoding state). So this module uses its pieces: the same three projections and
 * `@dl/attention`'s `maskedSoftmax`.
 */
class AdditiveScore extends Module {
  readonly qProj: Linear;
  readonly kProj: Linear;
  readonly score: Linear;

  constructor(queryDim: number, keyDim: number, hidden: number) {
    super();
    this.qProj = this.registerModule('q_proj', new Linear(queryDim, hidden, { bias: false }));
    this.kProj = this.registerModule('k_proj', new Linear(keyDim, hidden));
    this.score = this.registerModule('score', new Linear(hidden, 1, { bias: false }));
  }

  /** U·h_j + b for every annotation: `[B, Ls, keyDim]` → `[B, Ls, hidden]`. */
  forward(memory: tf.Tensor): tf.Tensor {
    return this.kProj.forward(memory); // [B, Ls, A]
  }

  /**
   * The attention weights of queries `[B, queryDim]` over projected keys `[B, Ls, A]`, with `mask`
   * `[B, Ls]` (1 real, 0 padding) or null → `[B, Ls]`.
   */
  weights(query: tf.Tensor, keys: tf.Tensor, mask: tf.Tensor | null): tf.Tensor {
    return tf.tidy(() => {
      const [B, Ls] = keys.shape;
      const q = tf.expandDims(this.qProj.forward(query), 1); // [B, 1, A]
      const scores = tf.reshape(this.score.forward(tf.tanh(tf.add(keys, q))), [B, Ls]); // [B, Ls]
      return maskedSoftmax(scores, mask); // [B, Ls]
    });
  }
}

/** The tensors one decoder step carries to the next. */
interface Carry {
  h: tf.Tensor; // [layers, B, Hd]
  c: tf.Tensor | null; // [layers, B, Hd]
  context: tf.Tensor; // [B, 2He]
}

/**
 * A recurrent sequence-to-sequence model with attention, the architecture Transformers replaced
 * (Sutskever et al. 2014, "Sequence to Sequence Learning with Neural Networks"; Bahdanau et al. 2015,
 * "Neural Machine Translation by Jointly Learning to Align and Translate"; Luong et al. 2015, "Effective
 * Approaches to Attention-based Neural Machine Translation").
 *
 * In words:
 * - **Encoder**: source tokens are embedded and read by a bidirectional LSTM (or GRU), `numEncoderLayers`
 *   deep; each position's annotation h_j concatenates the forward and backward states (`[B, Ls, 2·He]`).
 *   Padded positions (from `srcLengths` or `padId`) neither change the states nor produce output, so the
 *   backward direction starts at each source's last real token.
 * - **Bridge**: the decoder's initial hidden state (every layer) is tanh(W_s·[→h_last; ←h_first] + b), from the
 *   last encoder layer's final forward and backward states (Bahdanau's s₀); the LSTM cell state starts
 *   at zero.
 * - **Decoder**, one target token per step t: its input is the embedding of y_{t−1} concatenated with
 *   the previous context vector ctx_{t−1} (input feeding, Luong et al.; ctx₀ = 0); a unidirectional
 *   LSTM (or GRU), `numDecoderLayers` deep, updates (h, c); the top state s_t scores every annotation
 *   with Bahdanau's additive score $e_{tj} = w^\top \tanh(W s_t + U h_j + b)$, softmaxed over the real source
 *   positions into $\alpha_t$; $\mathrm{ctx}_t = \sum_j \alpha_{tj} h_j$; the attentional vector $\tilde h_t = \tanh(W_c [s_t; \mathrm{ctx}_t] + b_c)$
 *   goes through the output layer to the logits.
 *
 * Parameter names are PyTorch's for the same modules: `src_tok_emb.weight`, `tgt_tok_emb.weight`,
 * `encoder.weight_ih_l0`, `encoder.weight_hh_l0_reverse`, … (`nn.LSTM`/`nn.GRU` with
 * `bidirectional=True, batch_first=True`), `bridge.weight`/`bias` `[numDecoderLayers · Hd, 2·He]`,
 * `decoder.weight_ih_l0` `[gates · Hd, embeddingDim + 2·He]`, …, `attention.q_proj.weight` `[A, Hd]`,
 * `attention.k_proj.weight`/`bias` `[A, 2·He]`, `attention.score.weight` `[1, A]`, `combine.weight`/`bias`
 * `[Hd, Hd + 2·He]`, `generator.weight`/`bias` `[tgtVocab, Hd]`.
 *
 * Training uses teacher forcing, as {@link EncoderDecoder}: `forward(src, tgtIn)` with `tgtIn` the target
 * shifted right (BOS first), and {@link RNNEncoderDecoder.loss} against the unshifted target. Input
 * feeding makes the decoder sequential even then. {@link RNNEncoderDecoder.decoding} gives the step
 * function for `@dl/decode`.
 *
 * @example
 * ```ts
 * import { RNNEncoderDecoder } from '@dl/transformer';
 * const model = new RNNEncoderDecoder({ srcVocabSize: 12, tgtVocabSize: 12, embeddingDim: 8, hiddenSize: 8, padId: 0, seed: 0 });
 * const src = [[5, 6, 7], [8, 9, 0]]; // the second source is padded
 * const tgtIn = [[1, 7, 6], [1, 9, 8]]; // BOS, then the target so far
 * const { logits, attention } = model.forward(src, tgtIn); // [2, 3, 12], [2, 3, 3] (attention[1][·][2] = 0)
 * const loss = model.loss(src, tgtIn, [[7, 6, 5], [9, 8, 2]], { labelSmoothing: 0.1 }); // scalar
 * ```
 */
export class RNNEncoderDecoder extends Module {
  /** The resolved configuration. */
  readonly config: Readonly<ResolvedRNNEncoderDecoderConfig>;
  /** Source token embedding (`src_tok_emb`). */
  readonly srcEmbed: Embedding;
  /** Target token embedding (`tgt_tok_emb`). */
  readonly tgtEmbed: Embedding;
  /** The bidirectional encoder (`encoder`). */
  readonly encoder: LSTM | GRU;
  /** From the encoder's final states to the decoder's initial hidden state (`bridge`). */
  readonly bridge: Linear;
  /** The unidirectional decoder (`decoder`). */
  readonly decoder: LSTM | GRU;
  /** W_c of the attentional vector h̃ = tanh(W_c·[s; ctx] + b_c) (`combine`). */
  readonly combine: Linear;
  /** The output layer (`generator`). */
  readonly generator: Linear;
  private readonly attention: AdditiveScore;
  private readonly drop: Dropout;

  /** @param config see {@link RNNEncoderDecoderConfig}. */
  constructor(config: RNNEncoderDecoderConfig) {
    super();
    const where = 'RNNEncoderDecoder';
    if (config == null || typeof config !== 'object' || Array.isArray(config)) throw new DLArgumentError(where, 'config', 'an object', config);
    checkKeys(where, config, KEYS);
    const Vs = checkInt(where, 'srcVocabSize', config.srcVocabSize);
    const Vt = checkInt(where, 'tgtVocabSize', config.tgtVocabSize);
    const E = checkInt(where, 'embeddingDim', config.embeddingDim);
    const He = checkInt(where, 'hiddenSize', config.hiddenSize);
    const Hd = checkInt(where, 'decoderHiddenSize', config.decoderHiddenSize ?? 2 * He);
    const A = checkInt(where, 'attentionSize', config.attentionSize ?? Hd);
    const Le = checkInt(where, 'numEncoderLayers', config.numEncoderLayers ?? 1);
    const Ld = checkInt(where, 'numDecoderLayers', config.numDecoderLayers ?? 1);
    const cell = config.cell ?? 'lstm';
    if (cell !== 'lstm' && cell !== 'gru') throw new DLArgumentError(where, 'cell', "'lstm' or 'gru'", cell);
    const dropout = checkNumber(where, 'dropout', config.dropout ?? 0, 0, 1, false, true);
    if (config.padId !== undefined) {
      checkInt(where, 'padId', config.padId, 0);
      if (config.padId >= Math.min(Vs, Vt)) throw new DLArgumentError(where, 'padId', `a token of both vocabularies (< ${Math.min(Vs, Vt)})`, config.padId);
    }
    const seed = config.seed === undefined ? undefined : checkInt(where, 'seed', config.seed, 0);
    // Every initialiser draws from the global generator, reseeded with `seed` for the construction and
    // restored after it: the weights follow the seed, while the recurrent layers' between-layer dropout
    // keeps drawing from the global generator (which Trainer checkpoints, so resumed runs repeat exactly).
    const saved = seed === undefined ? null : getRng().getState();
    if (seed !== undefined) getRng().reseed(seed);
    try {
      const pad = config.padId;
      const Rnn = cell === 'lstm' ? LSTM : GRU;
      this.srcEmbed = this.registerModule('src_tok_emb', new Embedding(Vs, E, { paddingIdx: pad }));
      this.tgtEmbed = this.registerModule('tgt_tok_emb', new Embedding(Vt, E, { paddingIdx: pad }));
      this.encoder = this.registerModule('encoder', new Rnn(E, He, { numLayers: Le, bidirectional: true, batchFirst: true, dropout }));
      this.bridge = this.registerModule('bridge', new Linear(2 * He, Ld * Hd));
      this.decoder = this.registerModule('decoder', new Rnn(E + 2 * He, Hd, { numLayers: Ld, batchFirst: true, dropout }));
      this.attention = this.registerModule('attention', new AdditiveScore(Hd, 2 * He, A));
      this.combine = this.registerModule('combine', new Linear(Hd + 2 * He, Hd));
      this.generator = this.registerModule('generator', new Linear(Hd, Vt));
      this.drop = this.registerModule('dropout', new Dropout(dropout));
    } catch (e) {
      this.dispose();
      throw e;
    } finally {
      if (saved) getRng().setState(saved);
    }
    this.config = { ...config, decoderHiddenSize: Hd, attentionSize: A, numEncoderLayers: Le, numDecoderLayers: Ld, cell, dropout };
  }

  /**
   * The source lengths on the host (checked `srcLengths`, or from `padId` for id arrays), a tensor
   * (from `padId` for an id tensor: not read back), or null (every source whole).
   */
  private sourceLengths(where: string, src: TokenIds, ids: tf.Tensor2D, given: readonly number[] | undefined): number[] | tf.Tensor | null {
    const [B, Ls] = ids.shape;
    if (given !== undefined) {
      if (!Array.isArray(given) || given.length !== B || !given.every((n) => Number.isInteger(n) && n >= 1 && n <= Ls)) {
        throw new DLArgumentError(where, 'srcLengths', `${B} integer${B === 1 ? '' : 's'} in [1, ${Ls}] (one per source, at most its padded length)`, given);
      }
      return [...given];
    }
    const pad = this.config.padId;
    if (pad === undefined) return null;
    if (Array.isArray(src)) {
      const lengths = (src as number[][]).map((row) => {
        let n = row.length;
        while (n > 0 && row[n - 1] === pad) n--;
        return n;
      });
      const empty = lengths.indexOf(0);
      if (empty >= 0) throw new DLArgumentError(where, 'src', 'sources with at least one token that is not padding', asIs(`row ${empty} all padding (${pad})`));
      return lengths;
    }
    // Without a synchronous read: the position after each row's last non-padding token.
    return tf.tidy(() => {
      const positions = tf.range(1, Ls + 1, 1, 'int32'); // [Ls]
      return tf.max(tf.mul(tf.cast(tf.notEqual(ids, pad), 'int32'), positions), 1); // [B]
    });
  }

  /**
   * Runs the encoder and returns the initial decoding state (one row per source, no target read yet):
   * the bridged decoder state, a zero context, the encoder outputs, their key projection and the mask.
   * The caller disposes it.
   *
   * @param src source ids `[B, Ls]` (arrays or an int32 tensor).
   * @param call the source lengths (default: from `padId`).
   * @example
   * ```ts
   * import { RNNEncoderDecoder } from '@dl/transformer';
   * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4, padId: 0, seed: 0 });
   * const state = model.encode([[3, 4, 5], [6, 0, 0]]); // memory [2, 3, 8], mask [[1, 1, 1], [1, 0, 0]]
   * state.dispose();
   * ```
   */
  encode(src: TokenIds, call: RNNEncoderDecoderCall = {}): RNNDecoderState {
    return this.encodeChecked('RNNEncoderDecoder.encode', src, call);
  }

  /** {@link RNNEncoderDecoder.encode}, with `where` naming the caller in error messages. */
  private encodeChecked(where: string, src: TokenIds, call: RNNEncoderDecoderCall): RNNDecoderState {
    checkKeys(where, call, ['srcLengths']);
    const { ids, owned } = tokenTensor(where, 'src', src, this.config.srcVocabSize);
    let lengths: number[] | tf.Tensor | null = null;
    try {
      lengths = this.sourceLengths(where, src, ids, call.srcLengths);
      const lens = lengths;
      const parts = tf.tidy(() => {
        const [B, Ls] = ids.shape;
        const He = this.config.hiddenSize;
        const Ld = this.config.numDecoderLayers;
        const Hd = this.config.decoderHiddenSize;
        const x = this.drop.forward(this.srcEmbed.forward(ids)); // [B, Ls, E]
        const full = lens === null || (Array.isArray(lens) && lens.every((n) => n === Ls));
        const opts = full ? undefined : { lengths: lens as number[] | tf.Tensor };
        const enc = this.encoder.forward(x, null, opts); // output [B, Ls, 2He], h [Le·2, B, He]
        const memory = this.drop.forward(enc.output); // [B, Ls, 2He]
        // The last layer's final states: forward (at each source's last real token) and backward (at its first).
        const nD = 2 * this.config.numEncoderLayers;
        const last = tf.slice(enc.h, [nD - 2, 0, 0], [2, B, He]); // [2, B, He]
        const both = tf.reshape(tf.transpose(last, [1, 0, 2]), [B, 2 * He]); // [B, 2He]: forward first
        const h = tf.transpose(tf.reshape(tf.tanh(this.bridge.forward(both)), [B, Ld, Hd]), [1, 0, 2]); // [Ld, B, Hd]
        const out: Record<string, tf.Tensor> = {
          h,
          context: tf.zeros([B, 2 * He]), // [B, 2He]
          memory,
          keys: this.attention.forward(memory), // [B, Ls, A]
        };
        if (this.config.cell === 'lstm') out.c = tf.zeros([Ld, B, Hd]); // [Ld, B, Hd]
        if (!full) out.mask = sourceMask(lens as number[] | tf.Tensor, B, Ls); // [B, Ls]
        return out;
      });
      return new RNNDecoderState({ h: parts.h, c: parts.c ?? null, context: parts.context, memory: parts.memory, keys: parts.keys, mask: parts.mask ?? null, length: 0 });
    } finally {
      if (isTensor(lengths)) lengths.dispose();
      if (owned) ids.dispose();
    }
  }

  /**
   * One decoder step on embedded inputs `[B, E]`: the recurrent update, the attention over the encoder
   * outputs, and the logits. Returns the next carry, `logits` `[B, V]` and the weights `[B, Ls]`.
   */
  private step(emb: tf.Tensor, carry: Carry, state: Pick<RNNDecoderState, 'memory' | 'keys' | 'mask'>): Carry & { logits: tf.Tensor; weights: tf.Tensor } {
    const B = emb.shape[0];
    const x = tf.reshape(tf.concat([emb, carry.context], 1), [B, 1, -1]); // [B, 1, E + 2He]: input feeding
    let h: tf.Tensor;
    let c: tf.Tensor | null = null;
    let top: tf.Tensor;
    if (this.decoder instanceof LSTM) {
      const r = this.decoder.forward(x, { h: carry.h, c: carry.c! }); // output [B, 1, Hd], h and c [Ld, B, Hd]
      h = r.h;
      c = r.c;
      top = tf.reshape(r.output, [B, -1]); // [B, Hd]
    } else {
      const r = this.decoder.forward(x, carry.h); // output [B, 1, Hd], h [Ld, B, Hd]
      h = r.h;
      top = tf.reshape(r.output, [B, -1]); // [B, Hd]
    }
    const weights = this.attention.weights(top, state.keys, state.mask); // [B, Ls]
    const context = tf.reshape(matMul(tf.expandDims(weights, 1), state.memory), [B, -1]); // [B, 1, Ls]·[B, Ls, 2He] → [B, 2He]
    const attentional = tf.tanh(this.combine.forward(tf.concat([top, context], 1))); // [B, Hd]
    const logits = this.generator.forward(this.drop.forward(attentional)); // [B, V]
    return { h, c, context, logits, weights };
  }

  /**
   * Teacher-forced logits for `tgtIn` given `src`, and the attention weights of every target step.
   *
   * @param src source ids `[B, Ls]`.
   * @param tgtIn target input ids `[B, Lt]` (the target shifted right, BOS first).
   * @param call the source lengths (default: from `padId`).
   * @returns `logits` `[B, Lt, tgtVocab]` and `attention` `[B, Lt, Ls]`; the caller disposes them.
   */
  forward(src: TokenIds, tgtIn: TokenIds, call: RNNEncoderDecoderCall = {}): RNNEncoderDecoderOutput {
    const where = 'RNNEncoderDecoder.forward';
    checkKeys(where, call, ['srcLengths']);
    const tgt = tokenTensor(where, 'tgtIn', tgtIn, this.config.tgtVocabSize);
    try {
      const srcRows = isTensor(src) ? src.shape[0] : Array.isArray(src) ? src.length : -1;
      if (srcRows >= 0 && srcRows !== tgt.ids.shape[0]) throw new DLArgumentError(where, 'tgtIn', `${srcRows} rows (one per source)`, tgt.ids);
      const state = this.encodeChecked(where, src, call);
      try {
        return tf.tidy(() => {
          const [B, Lt] = tgt.ids.shape;
          const emb = this.drop.forward(this.tgtEmbed.forward(tgt.ids)); // [B, Lt, E]
          // A size-1 axis is reshaped, not unstacked: tfjs 4.22's tape hands Unpack's gradient a tensor, not a list.
          const steps = Lt === 1 ? [tf.reshape(emb, [B, -1])] : tf.unstack(emb, 1); // Lt × [B, E]
          let carry: Carry = { h: state.h, c: state.c, context: state.context };
          const logits: tf.Tensor[] = [];
          const weights: tf.Tensor[] = [];
          for (const e of steps) {
            const r = this.step(e, carry, state);
            logits.push(r.logits);
            weights.push(r.weights);
            carry = r;
          }
          const stack = (ts: tf.Tensor[]) => (ts.length === 1 ? tf.expandDims(ts[0], 1) : tf.stack(ts, 1));
          return { logits: stack(logits), attention: stack(weights) }; // [B, Lt, V], [B, Lt, Ls]
        });
      } finally {
        state.dispose();
      }
    } finally {
      if (tgt.owned) tgt.ids.dispose();
    }
  }

  /**
   * Label-smoothed cross-entropy of `tgtOut` (the target, EOS last) under teacher forcing, padding
   * ignored: positions whose target is `padId` count for nothing.
   *
   * @param src source ids `[B, Ls]`.
   * @param tgtIn target input ids `[B, Lt]`.
   * @param tgtOut target output ids `[B, Lt]` (tgtIn shifted left).
   * @returns a scalar (mean over real target tokens), or `[B, Lt]` with `reduction: 'none'`.
   * @example
   * ```ts
   * import { RNNEncoderDecoder } from '@dl/transformer';
   * const model = new RNNEncoderDecoder({ srcVocabSize: 8, tgtVocabSize: 8, embeddingDim: 4, hiddenSize: 4, padId: 0, seed: 0 });
   * const loss = model.loss([[3, 4]], [[1, 4, 3]], [[4, 3, 2]], { labelSmoothing: 0.1 }); // scalar
   * ```
   */
  loss(src: TokenIds, tgtIn: TokenIds, tgtOut: TokenIds, options: RNNEncoderDecoderLossOptions = {}): tf.Tensor {
    const where = 'RNNEncoderDecoder.loss';
    checkKeys(where, options, ['srcLengths', 'labelSmoothing', 'reduction']);
    const { labelSmoothing, reduction, ...call } = options;
    const out = tokenTensor(where, 'tgtOut', tgtOut, this.config.tgtVocabSize);
    try {
      const inShape = isTensor(tgtIn) ? tgtIn.shape : Array.isArray(tgtIn) ? [tgtIn.length, tgtIn[0]?.length] : null;
      if (inShape && inShape.join(',') !== out.ids.shape.join(',')) throw new DLArgumentError(where, 'tgtOut', `of tgtIn's shape [${inShape.join(',')}]`, out.ids);
      return tf.tidy(() => {
        const { logits } = this.forward(src, tgtIn, call); // [B, Lt, V]
        return crossEntropy(logits, out.ids, { ignoreIndex: this.config.padId ?? -100, labelSmoothing, reduction });
      });
    } finally {
      if (out.owned) out.ids.dispose();
    }
  }

  /**
   * Encodes `src` once and returns the step function that `@dl/decode`'s strategies (greedy, beam
   * search, sampling) drive, with its initial state (one row per source). Each call feeds the tokens
   * the state has not read yet (one per step after the prompt) and returns the next-token logits
   * `[rows, tgtVocab]` and a new {@link RNNDecoderState}; beam search reorders states as it re-ranks
   * beams. Put the model in eval mode first (dropout), and dispose the returned state after decoding.
   *
   * @param src source ids `[B, Ls]`.
   * @param call the source lengths (default: from `padId`).
   * @example
   * ```ts
   * import { RNNEncoderDecoder } from '@dl/transformer';
   * import { beamSearch } from '@dl/decode';
   * const model = new RNNEncoderDecoder({ srcVocabSize: 10, tgtVocabSize: 10, embeddingDim: 8, hiddenSize: 8, padId: 0, seed: 0 });
   * model.eval();
   * const { step, state } = model.decoding([[4, 5, 6], [7, 8, 0]]);
   * const out = await beamSearch(step, [[1], [1]], { state, numBeams: 3, eosTokenId: 2, maxNewTokens: 6 });
   * state.dispose();
   * ```
   */
  decoding(src: TokenIds, call: RNNEncoderDecoderCall = {}): Decoding<RNNDecoderState> {
    const where = 'RNNEncoderDecoder.decoding';
    const state = this.encodeChecked(where, src, call);
    const step: StepFn<RNNDecoderState> = (tokens, s) => {
      if (!(s instanceof RNNDecoderState)) throw new DLArgumentError(where, 'state', 'an RNNDecoderState (from decoding or reorder)', s);
      const n = s.rows;
      if (!Array.isArray(tokens) || tokens.length !== n) throw new DLArgumentError(where, 'inputIds', `${n} rows (the state's)`, tokens);
      const L = tokens[0].length;
      if (tokens.some((t) => t.length !== L)) throw new DLArgumentError(where, 'inputIds', 'target prefixes of equal length', tokens.map((t) => t.length));
      if (L <= s.length) throw new DLArgumentError(where, 'inputIds', `prefixes longer than the ${s.length} tokens the state has read`, asIs(`length ${L}`));
      const fresh = tokens.map((t) => t.slice(s.length)); // [n, L − read]
      const { ids, owned } = tokenTensor(where, 'inputIds', fresh, this.config.tgtVocabSize);
      try {
        const out = tf.tidy(() => {
          const emb = this.tgtEmbed.forward(ids); // [n, new, E]
          const cols = fresh[0].length === 1 ? [tf.reshape(emb, [n, -1])] : tf.unstack(emb, 1); // new × [n, E]
          let carry: Carry & { logits?: tf.Tensor } = { h: s.h, c: s.c, context: s.context };
          for (const e of cols) carry = this.step(e, carry, s);
          const r: Record<string, tf.Tensor> = {
            logits: carry.logits!, // [n, V]
            h: carry.h, // [Ld, n, Hd]
            context: carry.context, // [n, 2He]
            // The new state owns handles of its own on the encoder's tensors (no copy of the data).
            memory: tf.clone(s.memory), // [n, Ls, 2He]
            keys: tf.clone(s.keys), // [n, Ls, A]
          };
          if (carry.c) r.c = carry.c; // [Ld, n, Hd]
          if (s.mask) r.mask = tf.clone(s.mask); // [n, Ls]
          return r;
        });
        const next = new RNNDecoderState({ h: out.h, c: out.c ?? null, context: out.context, memory: out.memory, keys: out.keys, mask: out.mask ?? null, length: L });
        return { logits: out.logits, state: next };
      } finally {
        if (owned) ids.dispose();
      }
    };
    return { step, state };
  }
}

/** 1 where position j < the source's length, else 0: `[B, Ls]` float32. */
function sourceMask(lengths: number[] | tf.Tensor, B: number, Ls: number): tf.Tensor {
  if (!isTensor(lengths)) {
    const m = new Float32Array(B * Ls);
    lengths.forEach((n, b) => m.fill(1, b * Ls, b * Ls + n));
    return tf.tensor2d(m, [B, Ls]);
  }
  return tf.tidy(() => tf.cast(tf.less(tf.reshape(tf.range(0, Ls, 1, 'int32'), [1, Ls]), tf.reshape(lengths, [B, 1])), 'float32')); // [B, Ls]
}
