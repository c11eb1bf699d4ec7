import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, crossEntropy, DLArgumentError, Dropout, Embedding, Linear, Module, normal, Rng, type Reduction, isTensor } from '@dl/core';
import { rejectRenamedOptions } from '@dl/attention';
import type { StepFn } from '@dl/decode';
import type { AttentionSpec } from './attention-spec.js';
import { StackCache } from './cache.js';
import type { InitScheme, PositionKind } from './config.js';
import { embed, project } from './embeddings.js';
import type { Activation } from './feed-forward.js';
import { LearnedPositions } from './positions/learned.js';
import { GPTStack } from './stack.js';
import { tokenTensor, type TokenIds } from './tokens.js';

/**
 * A GPT's configuration, one plain object (nanoGPT's `GPTConfig`, plus the modern options). Defaults are
 * GPT-2's: pre-LN, GELU, learned positions, tied input/output embeddings, N(0, 0.02) init with scaled
 * residual projections.
 *
 * @example
 * ```ts
 * import type { GPTConfig } from '@dl/transformer';
 * // nanoGPT's Shakespeare-on-CPU model.
 * const cfg: GPTConfig = { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128, dropout: 0 };
 * // LLaMA-style: RMSNorm, SwiGLU, rotary positions, grouped-query attention, no biases.
 * const llama: GPTConfig = { vocabSize: 65, blockSize: 256, nLayer: 4, nHead: 4, nKVHead: 2, nEmbd: 128, norm: 'rmsnorm', activation: 'swiglu', position: 'rope', bias: false, tieWeights: false };
 * ```
 */
export interface GPTConfig {
  /** Vocabulary size V. */
  vocabSize: number;
  /** Context length (the learned position table's size). */
  blockSize: number;
  /** Number of layers. */
  nLayer: number;
  /** Attention heads. */
  nHead: number;
  /** Key/value heads (grouped- or multi-query attention). Default nHead. */
  nKVHead?: number;
  /** Model width. */
  nEmbd: number;
  /** Feed-forward width. Default 4·nEmbd. */
  dimFeedforward?: number;
  /** Default for every dropout. Default 0 (nanoGPT). */
  dropout?: number;
  /** Dropout after the embeddings. Default `dropout`. */
  embeddingDropout?: number;
  /** Dropout on attention weights. Default `dropout`. */
  attentionDropout?: number;
  /** Dropout on each sublayer's output. Default `dropout`. */
  residualDropout?: number;
  /** Dropout inside the MLP. Default `dropout`. */
  ffDropout?: number;
  /** Biases in linear layers and LayerNorms. Default true. */
  bias?: boolean;
  /** MLP activation. Default `'gelu'` (exact, as nanoGPT; GPT-2 itself used `'gelu_tanh'`). */
  activation?: Activation;
  /** Default `'layernorm'`. */
  norm?: 'layernorm' | 'rmsnorm';
  /** Default 1e-5. */
  normEps?: number;
  /** Pre-LN (default true) or post-LN. */
  normFirst?: boolean;
  /** Final norm `ln_f`. Default true. */
  finalNorm?: boolean;
  /** Position information. Default `'learned'` (GPT-2's `wpe`). */
  position?: PositionKind;
  /** RoPE's base. Default 10000. */
  ropeBase?: number;
  /** T5 buckets. Default 32. */
  relativeBuckets?: number;
  /** T5 maximum distance. Default 128. */
  relativeMaxDistance?: number;
  /** Output projection = token embedding (default true). */
  tieWeights?: boolean;
  /** Attention of every layer (one spec or one per head). Default `'full'`. */
  attention?: AttentionSpec | AttentionSpec[];
  /** Attention per layer, overriding `attention`. */
  layerAttention?: (AttentionSpec | AttentionSpec[])[];
  /** Initialisation. Default `'gpt2'`. */
  init?: InitScheme;
  /** Seed of the initial weights. */
  seed?: number;
}

const GPT_KEYS = [
  'vocabSize', 'blockSize', 'nLayer', 'nHead', 'nKVHead', 'nEmbd', 'dimFeedforward', 'dropout', 'embeddingDropout', 'attentionDropout', 'residualDropout',
  'ffDropout', 'bias', 'activation', 'norm', 'normEps', 'normFirst', 'finalNorm', 'position', 'ropeBase', 'relativeBuckets', 'relativeMaxDistance',
  'tieWeights', 'attention', 'layerAttention', 'init', 'seed',
];

/** What {@link GPT.forward} returns. */
export interface GPTOutput {
  /** Next-token logits `[B, T, V]`. */
  logits: tf.Tensor;
  /** Each layer's attention weights `[B, H, T, Tk]`, with `returnWeights`. */
  weights?: tf.Tensor[];
}

/**
 * A step function for `@dl/decode` and the decoding state it starts from (dispose the state after
 * decoding).
 *
 * @example
 * ```ts
 * import type { Decoding, StackCache } from '@dl/transformer';
 * const done = (d: Decoding<StackCache>) => d.state.dispose();
 * ```
 */
export interface Decoding<S, F = StepFn<S>> {
  /** The step function. */
  step: F;
  /** The initial state, one row per input. */
  state: S;
}

/** Options of the models' `decoding`. */
export interface DecodingOptions {
  /** Use the KV cache when every layer has one (default true); false recomputes the prefix each step. */
  useCache?: boolean;
}

/** Per-call options of {@link GPT.forward}. */
export interface GPTCall {
  /** Incremental decoding state (see {@link GPT.createCache}): the ids continue what it holds. */
  cache?: StackCache;
  /** Real lengths of the rows (padding at the end is ignored as keys). */
  lengths?: number[];
  /** Return every layer's attention weights. */
  returnWeights?: boolean;
}

/**
 * A decoder-only Transformer language model (Radford et al. 2019): token and position embeddings, nLayer
 * pre-LN blocks of causal self-attention and an MLP, a final LayerNorm, and an output projection tied
 * to the token embedding. Parameter names are nanoGPT's / HF GPT-2's (`transformer.wte.weight`,
 * `transformer.h.0.attn.c_attn.weight`, …, `lm_head.weight` when untied), with weights in
 * `nn.Linear`'s `[out, in]` orientation; {@link toGPT2StateDict} and {@link fromGPT2StateDict} convert
 * to and from HF's transposed Conv1D layout.
 *
 * Architecture in words (the defaults): x = wte(ids) + wpe(positions); each block computes
 * x = x + attn(ln_1(x)) and then x = x + mlp(ln_2(x)), so the norm sits at the start of each residual
 * branch and the residual path itself is never normalised (pre-LN; `normFirst: false` gives post-LN,
 * x = ln(x + f(x))); `ln_f` normalises the last block's output, and the logits are it times wteᵀ (or
 * `lm_head` when untied). The causal mask hides every later position from each query, so position t
 * predicts token t + 1 from tokens 0…t; with `lengths`, padding at the end of a row is hidden as keys
 * too.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GPT } from '@dl/transformer';
 * const gpt = new GPT({ vocabSize: 65, blockSize: 32, nLayer: 2, nHead: 2, nEmbd: 32, seed: 0 });
 * const idx = tf.tensor2d([[1, 2, 3, 4]], [1, 4], 'int32');
 * const { logits } = gpt.forward(idx); // [1, 4, 65]
 * const loss = gpt.loss(idx, tf.tensor2d([[2, 3, 4, 5]], [1, 4], 'int32')); // scalar
 * ```
 */
export class GPT extends Module {
  /** The resolved configuration (for saving next to a checkpoint). */
  readonly config: Readonly<Required<Omit<GPTConfig, 'seed' | 'attention' | 'layerAttention' | 'dimFeedforward'>>> & Pick<GPTConfig, 'seed' | 'attention' | 'layerAttention' | 'dimFeedforward'>;
  /** Embeddings and blocks (`transformer.*`). */
  readonly transformer: GPTStack;
  /** Token embedding `wte`. */
  readonly wte: Embedding;
  /** Learned position table `wpe`, or null. */
  readonly wpe: LearnedPositions | null;
  /** The untied output projection, or null when tied. */
  readonly lmHead: Linear | null;
  private readonly drop: Dropout;

  /** @param config see {@link GPTConfig}. */
  constructor(config: GPTConfig) {
    super();
    const where = 'GPT';
    if (config == null || typeof config !== 'object') throw new DLArgumentError(where, 'config', 'an object', config);
    checkKeys(where, config, GPT_KEYS);
    const V = checkInt(where, 'vocabSize', config.vocabSize);
    const blockSize = checkInt(where, 'blockSize', config.blockSize);
    const E = checkInt(where, 'nEmbd', config.nEmbd);
    // Checked here so errors name GPT's keys (the stack's are dModel, nHeads, nKVHeads, numLayers).
    const nHead = checkInt(where, 'nHead', config.nHead);
    if (E % nHead !== 0) throw new DLArgumentError(where, 'nHead', `a divisor of nEmbd (${E})`, nHead);
    const nKVHead = checkInt(where, 'nKVHead', config.nKVHead ?? nHead);
    if (nHead % nKVHead !== 0) throw new DLArgumentError(where, 'nKVHead', `a divisor of nHead (${nHead})`, nKVHead);
    checkInt(where, 'nLayer', config.nLayer, 0);
    const position = config.position ?? 'learned';
    const positions: PositionKind[] = ['none', 'sinusoidal', 'learned', 'rope', 'alibi', 't5'];
    if (!positions.includes(position)) throw new DLArgumentError(where, 'position', `one of ${positions.map((p) => `'${p}'`).join(', ')}`, position);
    const tie = config.tieWeights ?? true;
    if (typeof tie !== 'boolean') throw new DLArgumentError(where, 'tieWeights', 'a boolean', tie);
    const init = config.init ?? 'gpt2';
    const dropout = config.dropout ?? 0;
    const rng = config.seed === undefined ? undefined : new Rng(checkInt(where, 'seed', config.seed, 0));
    const embInit = init === 'gpt2' ? normal(0, 0.02) : normal(0, 1);
    this.wte = new Embedding(V, E, { init: embInit, rng });
    this.wpe = position === 'learned' ? new LearnedPositions(blockSize, E, { init: embInit, rng }) : null;
    this.drop = new Dropout(config.embeddingDropout ?? dropout);
    const before: [string, Module][] = [['wte', this.wte], ...(this.wpe ? [['wpe', this.wpe] as [string, Module]] : []), ['drop', this.drop]];
    this.transformer = this.registerModule('transformer', new GPTStack({
      dModel: E,
      nHeads: config.nHead,
      nKVHeads: config.nKVHead,
      dimFeedforward: config.dimFeedforward,
      numLayers: config.nLayer,
      activation: config.activation ?? 'gelu',
      norm: config.norm,
      normEps: config.normEps,
      normFirst: config.normFirst ?? true,
      finalNorm: config.finalNorm ?? true,
      bias: config.bias,
      dropout,
      attentionDropout: config.attentionDropout,
      residualDropout: config.residualDropout,
      ffDropout: config.ffDropout,
      position: position === 'learned' || position === 'sinusoidal' ? 'none' : position,
      ropeBase: config.ropeBase,
      relativeBuckets: config.relativeBuckets,
      relativeMaxDistance: config.relativeMaxDistance,
      attention: config.attention,
      layerAttention: config.layerAttention,
      init,
    }, before, rng));
    this.lmHead = tie ? null : this.registerModule('lm_head', new Linear(E, V, { bias: false, weightInit: init === 'gpt2' ? normal(0, 0.02) : undefined, rng }));
    const c = this.transformer.config;
    this.config = {
      vocabSize: V, blockSize, nLayer: c.numLayers, nHead: c.nHeads, nKVHead: c.nKVHeads, nEmbd: E, dimFeedforward: c.dimFeedforward,
      dropout, embeddingDropout: this.drop.p, attentionDropout: c.attentionDropout, residualDropout: c.residualDropout, ffDropout: c.ffDropout,
      bias: c.bias, activation: c.activation, norm: c.norm, normEps: c.normEps, normFirst: c.normFirst, finalNorm: c.finalNorm, position,
      ropeBase: c.ropeBase, relativeBuckets: c.relativeBuckets, relativeMaxDistance: c.relativeMaxDistance, tieWeights: tie,
      attention: config.attention, layerAttention: config.layerAttention, init, seed: config.seed,
    };
  }

  /**
   * Next-token logits for every position.
   *
   * @param idx token ids `[B, T]` (int32 tensor or arrays), ids in [0, vocabSize).
   * @returns `logits` `[B, T, V]` and, with `returnWeights`, each layer's attention weights `[B, H, T, Tk]`.
   */
  forward(idx: TokenIds, call: GPTCall = {}): GPTOutput {
    rejectRenamedOptions('GPT.forward', call);
    const { ids, owned } = tokenTensor('GPT.forward', 'idx', idx, this.config.vocabSize);
    try {
      const offset = call.cache?.length ?? 0;
      let weights: tf.Tensor[] | undefined;
      const logits = tf.tidy(() => {
        const x = this.drop.forward(embed(ids, this.wte, this.wpe ?? (this.config.position === 'sinusoidal' ? 'sinusoidal' : null), offset, 1)); // [B, T, E]
        const r = this.transformer.forward(x, { cache: call.cache, lengths: call.lengths, returnWeights: call.returnWeights });
        if (r.selfWeights) weights = r.selfWeights.map((w) => tf.keep(w));
        return this.lmHead ? project(r.output, this.lmHead.weight, null) : project(r.output, this.wte.weight, null); // [B, T, V]
      });
      return weights ? { logits, weights } : { logits };
    } finally {
      if (owned) ids.dispose();
    }
  }

  /**
   * Mean next-token cross-entropy of `targets` `[B, T]` under the logits for `idx` `[B, T]` (targets equal
   * to `ignoreIndex`, default −100, count for nothing, as padding).
   *
   * @returns a scalar.
   */
  loss(idx: TokenIds, targets: TokenIds, options: { ignoreIndex?: number; labelSmoothing?: number; reduction?: Reduction } = {}): tf.Scalar {
    checkKeys('GPT.loss', options, ['ignoreIndex', 'labelSmoothing', 'reduction']);
    const ignoreIndex = options.ignoreIndex ?? -100;
    const t = isTensor(targets) ? { ids: targets, owned: false } : { ids: tf.tensor2d((targets as number[][]).flat(), [targets.length, targets[0]?.length ?? 0], 'int32'), owned: true };
    try {
      return tf.tidy(() => {
        const { logits } = this.forward(idx); // [B, T, V]
        return crossEntropy(logits, t.ids, { ignoreIndex, labelSmoothing: options.labelSmoothing, reduction: options.reduction }) as tf.Scalar;
      });
    } finally {
      if (t.owned) t.ids.dispose();
    }
  }

  /**
   * A fresh decoding state for `rows` sequences: each layer's KV cache (see {@link StackCache}).
   *
   * @example
   * ```ts
   * import { GPT } from '@dl/transformer';
   * const gpt = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 1, nEmbd: 4 });
   * const cache = gpt.createCache(1);
   * cache.dispose();
   * ```
   */
  createCache(rows: number): StackCache {
    checkInt('GPT.createCache', 'rows', rows);
    return this.transformer.createCache(rows);
  }

  /**
   * The step function that `@dl/decode`'s greedy, beam search and sampling drive, with the initial state
   * for `numInputs` prompts (one row each). With a cache (every layer's attention is full, local or
   * elu/relu linear) each step feeds only the new token; otherwise it recomputes the prefix. Prompts of
   * one call must have equal lengths. Dispose the returned state after decoding.
   *
   * @example
   * ```ts
   * import { GPT } from '@dl/transformer';
   * import { greedy } from '@dl/decode';
   * const gpt = new GPT({ vocabSize: 10, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8, seed: 0 });
   * const { step, state } = gpt.decoding(1);
   * const out = await greedy(step, [[1, 2]], { state, maxNewTokens: 5 });
   * state.dispose();
   * out.sequences[0][0].tokens; // five token ids
   * ```
   */
  decoding(numInputs: number, options: DecodingOptions = {}): Decoding<StackCache> {
    checkKeys('GPT.decoding', options, ['useCache']);
    const state = this.createCache(numInputs);
    const useCache = (options.useCache ?? true) && state.complete;
    const step: StepFn<StackCache> = (tokens, cache) => {
      const rows = tokens.length;
      const L = tokens[0]?.length ?? 0;
      if (tokens.some((t) => t.length !== L)) throw new DLArgumentError('GPT.decoding', 'inputIds', 'prompts of equal length (decode them in separate calls)', tokens.map((t) => t.length));
      if (cache.rows !== rows) throw new DLArgumentError('GPT.decoding', 'state', `a state of ${rows} rows`, `${cache.rows} rows`);
      if (!useCache) {
        const logits = tf.tidy(() => {
          const { logits: all } = this.forward(tokens); // [rows, L, V]
          return tf.squeeze(tf.slice(all, [0, L - 1, 0], [rows, 1, -1]), [1]); // [rows, V]
        });
        return { logits, state: cache };
      }
      const fresh = tokens.map((t) => t.slice(cache.length)); // [rows, L − consumed]
      const logits = tf.tidy(() => {
        const { logits: all } = this.forward(fresh, { cache }); // [rows, n, V]
        const n = fresh[0].length;
        return tf.squeeze(tf.slice(all, [0, n - 1, 0], [rows, 1, -1]), [1]); // [rows, V]
      });
      return { logits, state: cache };
    };
    return { step, state };
  }
}
