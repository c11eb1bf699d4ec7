import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, Dropout, LayerNorm, Linear, Module, normal, RMSNorm, xavierUniform, type Initializer } from '@dl/core';
import { rejectRenamedOptions } from '@dl/attention';
import { Attention, type CrossKV, type Naming, type SelfCache } from './attention.js';
import type { ResolvedAttention } from './attention-spec.js';
import type { ResolvedStack } from './config.js';
import { feedForward, isGated } from './feed-forward.js';

/** Per-call options of {@link TransformerLayer.forward}: masks, positions, caches. */
export interface LayerCall {
  /** Causal self-attention. */
  causal?: boolean;
  /** Boolean `[B, L]`, true = padding: self-attention ignores these keys. */
  keyPaddingMask?: tf.Tensor;
  /** Boolean self-attention mask, true = may attend: `[L, L]` or `[B|1, H|1, L, L]`. */
  mask?: tf.Tensor;
  /** Added to self-attention scores (ALiBi, T5): `[1|B, H, Lq, Lk]`. */
  scoreBias?: tf.Tensor;
  /** Position of the first input position (rotary positions when decoding). */
  offset?: number;
  /** Self-attention decoding state. */
  cache?: SelfCache;
  /** Encoder output `[B, Ls, E]` for cross-attention. */
  memory?: tf.Tensor;
  /** Cross-attention keys/values computed once (decoding). */
  memoryKV?: CrossKV;
  /** Boolean `[B, Ls]`, true = padding: cross-attention ignores these encoder positions. */
  memoryKeyPaddingMask?: tf.Tensor;
  /** Boolean cross-attention mask, true = may attend: `[Lq, Ls]` or `[B|1, H|1, Lq, Ls]`. */
  memoryMask?: tf.Tensor;
  /** Return attention weights. */
  returnWeights?: boolean;
}

/** What {@link TransformerLayer.forward} returns. */
export interface LayerOutput {
  /** `[B, L, E]`. */
  output: tf.Tensor;
  /** Self-attention weights `[B, H, L, Lk]`, with `returnWeights`. */
  selfWeights?: tf.Tensor;
  /** Cross-attention weights `[B, H, L, Ls]`, with `returnWeights` in a decoder layer. */
  crossWeights?: tf.Tensor;
}

function makeNorm(cfg: ResolvedStack): LayerNorm | RMSNorm {
  return cfg.norm === 'rmsnorm' ? new RMSNorm(cfg.dModel, { eps: cfg.normEps }) : new LayerNorm(cfg.dModel, { eps: cfg.normEps, bias: cfg.bias });
}

/** What {@link layerInits} returns. */
export interface LayerInits {
  /** Initialiser of input projections (attention's fused q/k/v, the first feed-forward layer). */
  inInit?: Initializer;
  /** Initialiser of residual (output) projections. */
  outInit?: Initializer;
}

/**
 * The initialisers of one layer under the stack's scheme (undefined: each layer's PyTorch default).
 *
 * @example
 * ```ts
 * import { layerInits, resolveStack } from '@dl/transformer';
 * const { outInit } = layerInits(resolveStack('demo', { dModel: 8, nHeads: 2, numLayers: 4, init: 'gpt2' })); // N(0, 0.02/√8)
 * ```
 */
export function layerInits(cfg: ResolvedStack): LayerInits {
  if (cfg.init === 'gpt2') return { inInit: normal(0, 0.02), outInit: normal(0, 0.02 / Math.sqrt(2 * Math.max(cfg.numLayers, 1))) };
  if (cfg.init === 'xavier') return { inInit: xavierUniform(), outInit: xavierUniform() };
  return {};
}

/**
 * One Transformer layer: self-attention, cross-attention (decoder layers only) and a feed-forward
 * network, each in a residual connection with a norm placed before (pre-LN) or after (post-LN) it.
 *
 * Parameter names with `naming: 'torch'` are `torch.nn.TransformerEncoderLayer`'s / `DecoderLayer`'s:
 * `self_attn.*`, `multihead_attn.*`, `linear1`, `linear2`, `norm1`, `norm2` (`norm3` in a decoder
 * layer: the feed-forward's). With `naming: 'gpt2'` (decoder-only): `attn.*`, `mlp.c_fc`, `mlp.c_proj`,
 * `ln_1`, `ln_2`. A gated activation makes `linear1` (`c_fc`) `[2F, E]`: values, then gates.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { TransformerLayer, resolveStack, resolveAttention } from '@dl/transformer';
 * const cfg = resolveStack('demo', { dModel: 16, nHeads: 2, numLayers: 1, dropout: 0 });
 * const layer = new TransformerLayer(cfg, { cross: false, naming: 'torch', attention: resolveAttention('demo', 'full', 2, 8) });
 * const y = layer.forward(tf.randomNormal([2, 5, 16]), { causal: true }).output; // [2, 5, 16]
 * ```
 */
export class TransformerLayer extends Module {
  /** Self-attention. */
  readonly selfAttn: Attention;
  /** Cross-attention (decoder layers), or null. */
  readonly crossAttn: Attention | null;
  /** Feed-forward first layer `[F or 2F, E]`. */
  readonly ff1: Linear;
  /** Feed-forward second layer `[E, F]`. */
  readonly ff2: Linear;
  /** Norm of the self-attention sublayer. */
  readonly normSelf: LayerNorm | RMSNorm;
  /** Norm of the cross-attention sublayer, or null. */
  readonly normCross: LayerNorm | RMSNorm | null;
  /** Norm of the feed-forward sublayer. */
  readonly normFF: LayerNorm | RMSNorm;
  private readonly cfg: ResolvedStack;
  private readonly dropFF: Dropout;
  private readonly dropSelf: Dropout;
  private readonly dropCross: Dropout | null;
  private readonly dropOut: Dropout;

  /**
   * @param cfg the stack's resolved configuration.
   * @param options `cross`: add cross-attention (a decoder layer); `naming`; `attention`: this layer's
   * resolved self-attention.
   */
  constructor(cfg: ResolvedStack, options: { cross: boolean; naming: Naming; attention: ResolvedAttention }) {
    super();
    this.cfg = cfg;
    const { cross, naming, attention } = options;
    const { inInit, outInit } = layerInits(cfg);
    const rng = cfg.rng;
    const E = cfg.dModel;
    const F = cfg.dimFeedforward;
    const attnConfig = {
      dModel: E,
      nHeads: cfg.nHeads,
      nKVHeads: cfg.nKVHeads,
      bias: cfg.bias,
      dropout: cfg.attentionDropout,
      naming,
      inInit,
      outInit,
      rng,
    };
    this.selfAttn = this.registerModule(naming === 'torch' ? 'self_attn' : 'attn', new Attention({ ...attnConfig, attend: attention.attend, full: attention.full, ropeBase: cfg.position === 'rope' ? cfg.ropeBase : null }));
    attention.modules.forEach((m, i) => this.registerModule(attention.modules.length === 1 ? 'attention_pattern' : `attention_pattern_${i}`, m));
    this.crossAttn = cross ? this.registerModule(naming === 'torch' ? 'multihead_attn' : 'crossattention', new Attention({ ...attnConfig, ropeBase: null, full: true })) : null;
    const ffIn = isGated(cfg.activation) ? 2 * F : F;
    const biasInit: Initializer | undefined = cfg.init === 'torch' ? undefined : (s) => tf.zeros(s);
    const ff1 = new Linear(E, ffIn, { bias: cfg.bias, weightInit: inInit, biasInit, rng });
    const ff2 = new Linear(F, E, { bias: cfg.bias, weightInit: outInit, biasInit, rng });
    if (naming === 'torch') {
      this.ff1 = this.registerModule('linear1', ff1);
      this.ff2 = this.registerModule('linear2', ff2);
      this.normSelf = this.registerModule('norm1', makeNorm(cfg));
      this.normCross = cross ? this.registerModule('norm2', makeNorm(cfg)) : null;
      this.normFF = this.registerModule(cross ? 'norm3' : 'norm2', makeNorm(cfg));
    } else {
      const mlp = this.registerModule('mlp', new MLPNames(ff1, ff2));
      this.ff1 = mlp.c_fc;
      this.ff2 = mlp.c_proj;
      this.normSelf = this.registerModule('ln_1', makeNorm(cfg));
      this.normCross = cross ? this.registerModule('ln_cross_attn', makeNorm(cfg)) : null;
      this.normFF = this.registerModule('ln_2', makeNorm(cfg));
    }
    this.dropFF = this.registerModule('dropout', new Dropout(cfg.ffDropout));
    this.dropSelf = this.registerModule('dropout1', new Dropout(cfg.residualDropout));
    this.dropCross = cross ? this.registerModule('dropout2', new Dropout(cfg.residualDropout)) : null;
    this.dropOut = this.registerModule(cross ? 'dropout3' : 'dropout2', new Dropout(cfg.residualDropout));
  }

  /**
   * Runs the layer.
   * @param x `[B, L, E]`.
   */
  forward(x: tf.Tensor, call: LayerCall = {}): LayerOutput {
    rejectRenamedOptions('TransformerLayer', call);
    if (this.crossAttn && !call.memory && !call.memoryKV) throw new DLArgumentError('TransformerLayer', 'memory', 'given to a decoder layer (the encoder output)', call.memory);
    const pre = this.cfg.normFirst;
    let selfWeights: tf.Tensor | undefined;
    let crossWeights: tf.Tensor | undefined;
    const output = tf.tidy(() => {
      // Pre-LN: x + f(norm(x)); post-LN: norm(x + f(x)).
      const sublayer = (h: tf.Tensor, norm: LayerNorm | RMSNorm, drop: Dropout, f: (t: tf.Tensor) => tf.Tensor): tf.Tensor =>
        pre ? tf.add(h, drop.forward(f(norm.forward(h)))) : norm.forward(tf.add(h, drop.forward(f(h)))); // [B, L, E]
      let h = sublayer(x, this.normSelf, this.dropSelf, (t) => {
        const r = this.selfAttn.forward(t, {
          causal: call.causal,
          keyPaddingMask: call.keyPaddingMask,
          mask: call.mask,
          scoreBias: call.scoreBias,
          offset: call.offset,
          cache: call.cache,
          returnWeights: call.returnWeights,
        });
        if (r.weights) selfWeights = tf.keep(r.weights);
        return r.output; // [B, L, E]
      });
      if (this.crossAttn && this.normCross && this.dropCross) {
        h = sublayer(h, this.normCross, this.dropCross, (t) => {
          const r = this.crossAttn!.forward(t, {
            memory: call.memoryKV ? undefined : call.memory,
            memoryKV: call.memoryKV,
            keyPaddingMask: call.memoryKeyPaddingMask,
            mask: call.memoryMask,
            returnWeights: call.returnWeights,
          });
          if (r.weights) crossWeights = tf.keep(r.weights);
          return r.output; // [B, L, E]
        });
      }
      return sublayer(h, this.normFF, this.dropOut, (t) => feedForward(t, this.ff1, this.ff2, this.cfg.activation, (u) => this.dropFF.forward(u))); // [B, L, E]
    });
    return { output, ...(selfWeights && { selfWeights }), ...(crossWeights && { crossWeights }) };
  }
}

/** GPT-2's `mlp` module: `c_fc` then `c_proj`. */
class MLPNames extends Module {
  constructor(
    readonly c_fc: Linear,
    readonly c_proj: Linear,
  ) {
    super();
    this.registerModule('c_fc', c_fc);
    this.registerModule('c_proj', c_proj);
  }

  forward(): never {
    throw new Error('mlp is run by its TransformerLayer');
  }
}
