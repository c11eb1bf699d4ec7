import { checkInt, checkKeys, checkNumber, DLArgumentError, Rng } from '@dl/core';
import type { AttentionSpec } from './attention-spec.js';
import { ACTIVATIONS, type Activation } from './feed-forward.js';

/** Position information inside attention: rotary (RoPE), ALiBi, T5's relative bias, or none. */
export type AttentionPosition = 'none' | 'rope' | 'alibi' | 't5';

/** Every position kind: the in-attention ones plus absolute `sinusoidal` and `learned` embeddings. */
export type PositionKind = AttentionPosition | 'sinusoidal' | 'learned';

/** How initial weights are drawn. */
export type InitScheme =
  /** Each layer's PyTorch default (xavier-uniform attention projections, kaiming-uniform linear layers). */
  | 'torch'
  /** `nn.Transformer`'s reset: xavier-uniform for every matrix. */
  | 'xavier'
  /** GPT-2: N(0, 0.02) for every matrix and embedding, N(0, 0.02/√(2·layers)) for residual projections. */
  | 'gpt2';

/**
 * The configuration of a stack of Transformer layers (an encoder or a decoder), one plain object.
 *
 * Architecture in words. Each layer has a self-attention sublayer (a decoder layer then a
 * cross-attention sublayer over the encoder output) and a feed-forward sublayer, each wrapped in a
 * residual connection and a normalisation. Post-LN (`normFirst: false`, Vaswani et al. 2017 and
 * `torch.nn.Transformer`'s default): x = norm(x + sublayer(x)). Pre-LN (`normFirst: true`, GPT-2 and
 * most models since; Xiong et al. 2020 show it trains without warmup): x = x + sublayer(norm(x)), and a
 * final norm after the last layer.
 *
 * @example
 * ```ts
 * import type { StackConfig } from '@dl/transformer';
 * const cfg: StackConfig = { dModel: 64, nHeads: 4, numLayers: 2, normFirst: true, activation: 'gelu', position: 'rope' };
 * ```
 */
export interface StackConfig {
  /** Model width E. */
  dModel: number;
  /** Attention heads H; must divide dModel. */
  nHeads: number;
  /** Key/value heads; must divide nHeads. Default nHeads (1 = multi-query attention). */
  nKVHeads?: number;
  /** Feed-forward width F. Default 4·dModel. */
  dimFeedforward?: number;
  /** Number of layers. */
  numLayers: number;
  /** Feed-forward activation. Default `'relu'`. */
  activation?: Activation;
  /** `'layernorm'` (default) or `'rmsnorm'`. */
  norm?: 'layernorm' | 'rmsnorm';
  /** The norms' epsilon. Default 1e-5. */
  normEps?: number;
  /** Pre-LN (true) or post-LN (false, default, as PyTorch). */
  normFirst?: boolean;
  /** A norm after the last layer (`norm`). Default: the same as normFirst. */
  finalNorm?: boolean;
  /** Biases in linear layers and LayerNorms. Default true. */
  bias?: boolean;
  /** Default for every dropout below. Default 0.1 (PyTorch's). */
  dropout?: number;
  /** Dropout on attention weights (full attention). Default `dropout`. */
  attentionDropout?: number;
  /** Dropout on each sublayer's output before the residual add. Default `dropout`. */
  residualDropout?: number;
  /** Dropout between the feed-forward layers. Default `dropout`. */
  ffDropout?: number;
  /** Position information inside attention. Default `'none'`. */
  position?: AttentionPosition;
  /** RoPE's base. Default 10000. */
  ropeBase?: number;
  /** T5 buckets. Default 32. */
  relativeBuckets?: number;
  /** T5 maximum distance. Default 128. */
  relativeMaxDistance?: number;
  /** Attention of every layer: one spec, or one per head. Default `'full'`. */
  attention?: AttentionSpec | AttentionSpec[];
  /** Attention per layer (length numLayers), overriding `attention`: e.g. local below, full on top. */
  layerAttention?: (AttentionSpec | AttentionSpec[])[];
  /** Initialisation scheme. Default `'torch'`. */
  init?: InitScheme;
  /** Seed of the initial weights (each layer draws its own values in turn). Default: the global generator. */
  seed?: number;
}

/** The keys of {@link StackConfig}. */
export const STACK_KEYS = [
  'dModel', 'nHeads', 'nKVHeads', 'dimFeedforward', 'numLayers', 'activation', 'norm', 'normEps', 'normFirst', 'finalNorm', 'bias',
  'dropout', 'attentionDropout', 'residualDropout', 'ffDropout', 'position', 'ropeBase', 'relativeBuckets', 'relativeMaxDistance',
  'attention', 'layerAttention', 'init', 'seed',
] as const;

/** {@link StackConfig} with every default filled in and every value checked. */
export interface ResolvedStack {
  /** Model width E. */
  dModel: number;
  /** Query heads H. */
  nHeads: number;
  /** Key/value heads. */
  nKVHeads: number;
  /** E / H. */
  headDim: number;
  /** Feed-forward width F. */
  dimFeedforward: number;
  /** Layers. */
  numLayers: number;
  /** Feed-forward activation. */
  activation: Activation;
  /** Norm kind. */
  norm: 'layernorm' | 'rmsnorm';
  /** The norms' epsilon. */
  normEps: number;
  /** Pre-LN. */
  normFirst: boolean;
  /** A norm after the last layer. */
  finalNorm: boolean;
  /** Biases in linear layers and LayerNorms. */
  bias: boolean;
  /** Dropout on attention weights. */
  attentionDropout: number;
  /** Dropout on sublayer outputs. */
  residualDropout: number;
  /** Dropout inside the feed-forward. */
  ffDropout: number;
  /** In-attention positions. */
  position: AttentionPosition;
  /** RoPE's base. */
  ropeBase: number;
  /** T5 buckets. */
  relativeBuckets: number;
  /** T5 maximum distance. */
  relativeMaxDistance: number;
  /** Attention spec of each layer. */
  layerAttention: (AttentionSpec | AttentionSpec[])[];
  /** Initialisation scheme. */
  init: InitScheme;
  /** Generator of the initial weights (undefined: the global one). */
  rng: Rng | undefined;
}

function oneOf<T extends string>(where: string, arg: string, v: unknown, allowed: readonly T[], dflt: T): T {
  if (v === undefined) return dflt;
  if (!allowed.includes(v as T)) throw new DLArgumentError(where, arg, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
  return v as T;
}

function bool(where: string, arg: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new DLArgumentError(where, arg, 'a boolean', v);
  return v;
}

/**
 * Checks a {@link StackConfig} (unknown keys included) and fills in its defaults. `extraKeys` are keys
 * the caller handles itself, `defaults` replace this function's defaults, and `rng` (a model sharing
 * one generator between its embeddings and its layers) replaces `seed`.
 *
 * @example
 * ```ts
 * import { resolveStack } from '@dl/transformer';
 * resolveStack('demo', { dModel: 32, nHeads: 4, numLayers: 2 }).dimFeedforward; // 128
 * resolveStack('demo', { dModel: 30, nHeads: 4, numLayers: 2 }); // throws "demo: nHeads must be a divisor of dModel (30), got 4"
 * ```
 */
export function resolveStack(where: string, c: StackConfig, extraKeys: readonly string[] = [], defaults: Partial<StackConfig> = {}, rng?: Rng): ResolvedStack {
  if (c == null || typeof c !== 'object') throw new DLArgumentError(where, 'config', 'an object', c);
  checkKeys(where, c, [...STACK_KEYS, ...extraKeys]);
  const cfg = { ...defaults, ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) } as StackConfig;
  const dModel = checkInt(where, 'dModel', cfg.dModel);
  const nHeads = checkInt(where, 'nHeads', cfg.nHeads);
  if (dModel % nHeads !== 0) throw new DLArgumentError(where, 'nHeads', `a divisor of dModel (${dModel})`, nHeads);
  const nKVHeads = checkInt(where, 'nKVHeads', cfg.nKVHeads ?? nHeads);
  if (nHeads % nKVHeads !== 0) throw new DLArgumentError(where, 'nKVHeads', `a divisor of nHeads (${nHeads})`, nKVHeads);
  const numLayers = checkInt(where, 'numLayers', cfg.numLayers, 0);
  const normFirst = bool(where, 'normFirst', cfg.normFirst, false);
  const dropout = checkNumber(where, 'dropout', cfg.dropout ?? 0.1, 0, 1, false, true);
  const drop = (arg: 'attentionDropout' | 'residualDropout' | 'ffDropout') => checkNumber(where, arg, cfg[arg] ?? dropout, 0, 1, false, true);
  const position = oneOf(where, 'position', cfg.position, ['none', 'rope', 'alibi', 't5'] as const, 'none');
  const headDim = dModel / nHeads;
  if (position === 'rope' && headDim % 2 !== 0) throw new DLArgumentError(where, 'dModel / nHeads', 'even for rotary positions', headDim);
  const layerAttention = cfg.layerAttention ?? Array.from({ length: numLayers }, () => cfg.attention ?? 'full');
  if (!Array.isArray(layerAttention) || layerAttention.length !== numLayers) {
    throw new DLArgumentError(where, 'layerAttention', `one entry per layer (${numLayers})`, layerAttention);
  }
  if (cfg.layerAttention && cfg.attention !== undefined) throw new DLArgumentError(where, 'attention', 'absent when layerAttention is given', cfg.attention);
  return {
    dModel,
    nHeads,
    nKVHeads,
    headDim,
    dimFeedforward: checkInt(where, 'dimFeedforward', cfg.dimFeedforward ?? 4 * dModel),
    numLayers,
    activation: oneOf(where, 'activation', cfg.activation, ACTIVATIONS, 'relu'),
    norm: oneOf(where, 'norm', cfg.norm, ['layernorm', 'rmsnorm'] as const, 'layernorm'),
    normEps: checkNumber(where, 'normEps', cfg.normEps ?? 1e-5, 0),
    normFirst,
    finalNorm: bool(where, 'finalNorm', cfg.finalNorm, normFirst),
    bias: bool(where, 'bias', cfg.bias, true),
    attentionDropout: drop('attentionDropout'),
    residualDropout: drop('residualDropout'),
    ffDropout: drop('ffDropout'),
    position,
    ropeBase: checkNumber(where, 'ropeBase', cfg.ropeBase ?? 10000, 0, Infinity, true),
    relativeBuckets: checkInt(where, 'relativeBuckets', cfg.relativeBuckets ?? 32, 2),
    relativeMaxDistance: checkInt(where, 'relativeMaxDistance', cfg.relativeMaxDistance ?? 128),
    layerAttention,
    init: oneOf(where, 'init', cfg.init, ['torch', 'xavier', 'gpt2'] as const, 'torch'),
    rng: rng ?? (cfg.seed === undefined ? undefined : new Rng(checkInt(where, 'seed', cfg.seed, 0))),
  };
}
