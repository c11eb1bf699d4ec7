import * as tf from '@tensorflow/tfjs-core';
import { keyPaddingFromLengths, rejectRenamedOptions } from '@dl/attention';
import { checkShape, DLArgumentError, LayerNorm, Module, ModuleList, RMSNorm, type Rng } from '@dl/core';
import type { Naming } from './attention.js';
import { resolveAttention, type CacheKind } from './attention-spec.js';
import { StackCache } from './cache.js';
import { resolveStack, type ResolvedStack, type StackConfig } from './config.js';
import { TransformerLayer } from './layer.js';
import { alibiBias } from './positions/alibi.js';
import { RelativePositionBias } from './positions/relative-bias.js';

/**
 * Masks and decoding state for one call of a stack. Mask conventions are those of `@dl/attention`,
 * everywhere in this package:
 * - a **padding mask** is boolean `[B, L]` with **true = padding** (this key is ignored), as PyTorch's
 *   `key_padding_mask`; or give `lengths` (real tokens per row, padding at the end) instead;
 * - an **attention mask** is boolean with **true = may attend** (as `F.scaled_dot_product_attention`),
 *   `[Lq, Lk]` or `[B|1, H|1, Lq, Lk]`; PyTorch's `nn.Transformer` masks mean the opposite (true =
 *   blocked): pass `tf.logicalNot(torchMask)`;
 * - `causal`: query i sees keys j ≤ i (aligned to the end when cached keys come first).
 *
 * @example
 * ```ts
 * import type { StackCall } from '@dl/transformer';
 * const call: StackCall = { lengths: [5, 3], causal: false, returnWeights: true };
 * ```
 */
export interface StackCall {
  /** Self-attention padding, true = padding: `[B, L]`. */
  keyPaddingMask?: tf.Tensor;
  /** Real length of each row (an alternative to keyPaddingMask). */
  lengths?: number[];
  /** Self-attention mask, true = may attend. */
  mask?: tf.Tensor;
  /** Causal self-attention. Default: false in an encoder, true in a decoder. */
  causal?: boolean;
  /** Encoder output `[B, Ls, E]` (decoders). */
  memory?: tf.Tensor;
  /** Encoder padding, true = padding: `[B, Ls]`. */
  memoryKeyPaddingMask?: tf.Tensor;
  /** Real length of each encoder row (an alternative to memoryKeyPaddingMask). */
  memoryLengths?: number[];
  /** Cross-attention mask, true = may attend. */
  memoryMask?: tf.Tensor;
  /** Incremental decoding: consumes the positions of this call and appends to the cache. */
  cache?: StackCache;
  /** Return every layer's attention weights. */
  returnWeights?: boolean;
}

/** What a stack returns. */
export interface StackOutput {
  /** `[B, L, E]`. */
  output: tf.Tensor;
  /** Self-attention weights per layer, each `[B, H, L, Lk]`, with `returnWeights`. */
  selfWeights?: tf.Tensor[];
  /** Cross-attention weights per layer, each `[B, H, L, Ls]`, with `returnWeights` (decoders). */
  crossWeights?: tf.Tensor[];
}

/**
 * A stack of {@link TransformerLayer}s with an optional final norm, the shared base of
 * {@link TransformerEncoder} and {@link TransformerDecoder}. Parameter names follow
 * `torch.nn.TransformerEncoder`: `layers.{i}.…`, `norm.…`, plus `relative_attention_bias.weight` with
 * T5 positions (one table shared by every layer, as T5).
 */
export abstract class LayerStack extends Module {
  /** The layers. */
  readonly layers: ModuleList<TransformerLayer>;
  /** The final norm, or null. */
  readonly norm: LayerNorm | RMSNorm | null;
  /** T5's relative position bias, or null. */
  readonly relativeBias: RelativePositionBias | null;
  /** The resolved configuration. */
  readonly config: ResolvedStack;
  /** How each layer decodes incrementally. */
  readonly cacheKinds: CacheKind[];
  private readonly hasCross: boolean;
  private readonly causalDefault: boolean;
  /** The name errors use (the model's). */
  private readonly where: string;

  protected constructor(where: string, config: StackConfig, options: { cross: boolean; causal: boolean; naming: Naming; layersName?: string; normName?: string; extraKeys?: readonly string[]; before?: [string, Module][]; defaults?: Partial<StackConfig>; rng?: Rng }) {
    super();
    this.where = where;
    this.hasCross = options.cross;
    this.causalDefault = options.causal;
    const built: Module[] = [];
    try {
      const cfg = resolveStack(where, config, options.extraKeys ?? [], options.defaults ?? {}, options.rng);
      this.config = cfg;
      // Modules a subclass wants first in the state dict (GPT-2's wte and wpe come before h).
      for (const [name, m] of options.before ?? []) this.registerModule(name, m);
      const resolved = cfg.layerAttention.map((spec, i) => {
        const r = resolveAttention(`${where} layer ${i}`, spec, cfg.nHeads, cfg.headDim, cfg.rng);
        built.push(...r.modules);
        return r;
      });
      if ((cfg.position === 'alibi' || cfg.position === 't5') && resolved.some((r) => !r.full)) {
        throw new DLArgumentError(where, 'position', `'none' or 'rope' with sparse, clustered or linear attention ('${cfg.position}' adds a bias to every score, which only full attention computes)`, cfg.position);
      }
      if (cfg.attentionDropout > 0 && resolved.some((r) => !r.full)) {
        throw new DLArgumentError(where, 'attentionDropout', '0 with sparse, clustered or linear attention (only full attention drops weights)', cfg.attentionDropout);
      }
      this.cacheKinds = resolved.map((r) => (options.causal ? r.cache : { kind: 'none' }));
      this.layers = this.registerModule(options.layersName ?? 'layers', new ModuleList(resolved.map((attention) => new TransformerLayer(cfg, { cross: options.cross, naming: options.naming, attention }))));
      this.norm = cfg.finalNorm ? this.registerModule(options.normName ?? 'norm', cfg.norm === 'rmsnorm' ? new RMSNorm(cfg.dModel, { eps: cfg.normEps }) : new LayerNorm(cfg.dModel, { eps: cfg.normEps, bias: cfg.bias })) : null;
      this.relativeBias = cfg.position === 't5'
        ? this.registerModule('relative_attention_bias', new RelativePositionBias(cfg.nHeads, { numBuckets: cfg.relativeBuckets, maxDistance: cfg.relativeMaxDistance, bidirectional: !options.causal, rng: cfg.rng }))
        : null;
    } catch (e) {
      // Nothing half-built survives a bad configuration: free what was allocated.
      for (const m of built) m.dispose();
      for (const [, m] of options.before ?? []) m.dispose();
      this.dispose();
      throw e;
    }
  }

  /**
   * A fresh decoding state for `rows` sequences (see {@link StackCache}).
   *
   * @example
   * ```ts
   * import { TransformerDecoder } from '@dl/transformer';
   * const dec = new TransformerDecoder({ dModel: 8, nHeads: 2, numLayers: 1, crossAttention: false, dropout: 0 });
   * const cache = dec.createCache(3);
   * cache.dispose();
   * ```
   */
  createCache(rows: number): StackCache {
    return new StackCache(this, rows, this.cacheKinds);
  }

  /** Checks a padding mask or lengths and returns the mask (new tensor) or null. */
  private paddingMask(arg: string, mask: tf.Tensor | undefined, lengths: number[] | undefined, B: number, L: number): tf.Tensor | null {
    if (mask != null && lengths != null) throw new DLArgumentError(this.where, arg, 'given either as a mask or as lengths, not both', 'both');
    if (mask != null) {
      checkShape(this.where, arg, mask, { rank: 2, dims: { 0: B, 1: L }, dtype: 'bool' });
      return tf.clone(mask);
    }
    if (lengths != null) {
      if (!Array.isArray(lengths) || lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > L)) {
        throw new DLArgumentError(this.where, arg.replace('KeyPaddingMask', 'Lengths').replace('keyPaddingMask', 'lengths'), `${B} integers in [1, ${L}]`, lengths);
      }
      return keyPaddingFromLengths(lengths, L);
    }
    return null;
  }

  private checkMask(arg: string, m: tf.Tensor | undefined, B: number, lq: number, lk: number): void {
    if (m == null) return;
    checkShape(this.where, arg, m, { rank: [2, 4], dtype: 'bool' });
    const ok = m.rank === 2
      ? m.shape[0] === lq && m.shape[1] === lk
      : (m.shape[0] === 1 || m.shape[0] === B) && (m.shape[1] === 1 || m.shape[1] === this.config.nHeads) && m.shape[2] === lq && m.shape[3] === lk;
    if (!ok) throw new DLArgumentError(this.where, arg, `of shape [${lq}, ${lk}] or [${B}|1, ${this.config.nHeads}|1, ${lq}, ${lk}] (true = may attend)`, m);
  }

  /** Runs the stack on `x` `[B, L, E]`. */
  protected run(x: tf.Tensor, call: StackCall): StackOutput {
    const where = this.where;
    const cfg = this.config;
    rejectRenamedOptions(where, call);
    checkShape(where, 'x', x, { rank: 3, last: cfg.dModel, dtype: 'float32' });
    const [B, L] = x.shape;
    const cache = call.cache;
    if (cache != null) {
      if (!(cache instanceof StackCache) || cache.owner !== this) throw new DLArgumentError(where, 'cache', 'a StackCache made by this model (createCache)', cache);
      if (cache.rows !== B) throw new DLArgumentError(where, 'cache', `a cache of ${B} rows (the batch)`, `a cache of ${cache.rows} rows`);
      if (!cache.complete) throw new DLArgumentError(where, 'cache', 'used only when every layer has a cacheable attention (full, local or elu/relu linear)', 'a layer without one');
      if (call.keyPaddingMask || call.lengths || call.mask) throw new DLArgumentError(where, 'cache', 'used without self-attention masks (decoding appends whole positions)', 'masks');
    }
    const offset = cache?.length ?? 0;
    const lk = offset + L;
    this.checkMask('mask', call.mask, B, L, lk);
    const causal = call.causal ?? this.causalDefault;
    let memory: tf.Tensor | undefined;
    if (this.hasCross) {
      memory = call.memory ?? cache?.memory ?? undefined;
      if (!memory && !cache?.cross) throw new DLArgumentError(where, 'memory', 'the encoder output [B, Ls, E]', memory);
      if (memory) checkShape(where, 'memory', memory, { rank: 3, dims: { 0: B }, last: cfg.dModel, dtype: 'float32' });
    } else if (call.memory || call.memoryKeyPaddingMask || call.memoryLengths || call.memoryMask) {
      throw new DLArgumentError(where, 'memory', 'absent (this stack has no cross-attention)', 'given');
    }
    const Ls = memory?.shape[1] ?? cache?.cross?.[0]?.k.shape[2] ?? 0;
    this.checkMask('memoryMask', call.memoryMask, B, L, Ls);
    const selfPad = this.paddingMask('keyPaddingMask', call.keyPaddingMask, call.lengths, B, L);
    let memPad: tf.Tensor | null;
    try {
      memPad = this.hasCross ? this.paddingMask('memoryKeyPaddingMask', call.memoryKeyPaddingMask, call.memoryLengths, B, Ls) : null;
    } catch (e) {
      selfPad?.dispose();
      throw e;
    }
    if (cache && this.hasCross) {
      if (memPad) {
        cache.memoryKeyPaddingMask?.dispose();
        cache.memoryKeyPaddingMask = tf.keep(tf.clone(memPad));
      }
      // First step: project the encoder output once for every layer.
      // Kept: a step function may run inside tf.tidy, and the cache outlives it.
      cache.cross ??= [...this.layers].map((layer) => {
        const { k, v } = layer.crossAttn!.projectMemory(memory!);
        return { k: tf.keep(k), v: tf.keep(v) };
      });
    }
    const selfWeights: tf.Tensor[] = [];
    const crossWeights: tf.Tensor[] = [];
    try {
      const output = tf.tidy(() => {
        let scoreBias: tf.Tensor | undefined;
        if (cfg.position === 'alibi') scoreBias = alibiBias(cfg.nHeads, L, lk, offset, causal); // [1, H, L, Lk]
        if (this.relativeBias) scoreBias = this.relativeBias.forward(L, lk, offset); // [1, H, L, Lk]
        let h = x; // [B, L, E]
        [...this.layers].forEach((layer, i) => {
          const r = layer.forward(h, {
            causal,
            keyPaddingMask: selfPad ?? undefined,
            mask: call.mask,
            scoreBias,
            offset,
            cache: cache?.self[i] ?? undefined,
            memory: cache?.cross ? undefined : memory,
            memoryKV: cache?.cross?.[i],
            memoryKeyPaddingMask: (cache ? cache.memoryKeyPaddingMask : memPad) ?? undefined,
            memoryMask: call.memoryMask,
            returnWeights: call.returnWeights,
          });
          if (r.selfWeights) selfWeights.push(r.selfWeights);
          if (r.crossWeights) crossWeights.push(r.crossWeights);
          h = r.output; // [B, L, E]
        });
        return this.norm ? this.norm.forward(h) : h; // [B, L, E]
      });
      cache?.advance(L);
      if (!call.returnWeights) return { output };
      return { output, selfWeights, ...(this.hasCross && { crossWeights }) };
    } catch (e) {
      tf.dispose([...selfWeights, ...crossWeights]);
      throw e;
    } finally {
      selfPad?.dispose();
      memPad?.dispose();
    }
  }
}

/**
 * A stack of encoder layers on embedded inputs `[B, L, E]` (bidirectional self-attention + feed-forward),
 * laid out and named as `torch.nn.TransformerEncoder` (`layers.{i}.self_attn.in_proj_weight`, …,
 * `norm.weight`), so its `state_dict` loads directly. Configured by one {@link StackConfig}.
 *
 * Architecture in words: each layer is x = norm1(x + selfAttn(x)), x = norm2(x + ff(x)) (post-LN, the
 * default) or x = x + selfAttn(norm1(x)), x = x + ff(norm2(x)) (pre-LN, `normFirst: true`, with the
 * final `norm` after the last layer). Every position sees every other: only padding keys are hidden
 * (`lengths` or `keyPaddingMask`), plus whatever an explicit `mask` forbids.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { TransformerEncoder } from '@dl/transformer';
 * const enc = new TransformerEncoder({ dModel: 32, nHeads: 4, numLayers: 2, dropout: 0, seed: 1 });
 * const { output } = enc.forward(tf.randomNormal([2, 7, 32]), { lengths: [7, 4] }); // [2, 7, 32]
 * ```
 */
export class TransformerEncoder extends LayerStack {
  /** @param config the stack's configuration. */
  constructor(config: StackConfig) {
    super('TransformerEncoder', config, { cross: false, causal: false, naming: 'torch' });
  }

  /**
   * Encodes.
   * @param x `[B, L, E]` embedded inputs.
   * @param call masks (see {@link StackCall}; no memory).
   */
  forward(x: tf.Tensor, call: Omit<StackCall, 'memory' | 'memoryKeyPaddingMask' | 'memoryLengths' | 'memoryMask'> = {}): StackOutput {
    return this.run(x, call);
  }
}

/** Options of {@link TransformerDecoder} beyond {@link StackConfig}. */
export interface DecoderConfig extends StackConfig {
  /** Cross-attention over an encoder output (default true); false makes a decoder-only stack. */
  crossAttention?: boolean;
}

/**
 * A stack of decoder layers: causal self-attention, cross-attention over the encoder output `memory`
 * (unless `crossAttention: false`), feed-forward. Named as `torch.nn.TransformerDecoder`
 * (`layers.{i}.self_attn`, `multihead_attn`, `linear1`, `linear2`, `norm1`–`norm3`, `norm`). With a
 * {@link StackCache} it decodes incrementally: each call consumes its positions, cross-attention keys
 * and values are computed on the first call only.
 *
 * Architecture in words: three residual sublayers per layer — causal self-attention, cross-attention
 * (queries from the decoder, keys and values from `memory`) and the feed-forward — each as
 * x = norm(x + f(x)) (post-LN) or x = x + f(norm(x)) (pre-LN). The causal mask hides every later target
 * position from each query; `memoryLengths` / `memoryKeyPaddingMask` hide the encoder's padding from
 * cross-attention.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { TransformerDecoder } from '@dl/transformer';
 * const dec = new TransformerDecoder({ dModel: 16, nHeads: 2, numLayers: 2, dropout: 0, seed: 1 });
 * const memory = tf.randomNormal([2, 6, 16]);
 * const { output } = dec.forward(tf.randomNormal([2, 4, 16]), { memory, memoryLengths: [6, 3] }); // [2, 4, 16]
 * ```
 */
export class TransformerDecoder extends LayerStack {
  /** @param config the stack's configuration. */
  constructor(config: DecoderConfig) {
    super('TransformerDecoder', config, { cross: config?.crossAttention ?? true, causal: true, naming: 'torch', extraKeys: ['crossAttention'] });
  }

  /**
   * Decodes.
   * @param x `[B, L, E]` embedded target inputs.
   * @param call memory, masks and cache (see {@link StackCall}).
   */
  forward(x: tf.Tensor, call: StackCall = {}): StackOutput {
    return this.run(x, call);
  }
}

/**
 * GPT's `transformer` module: token and position embeddings followed by a decoder-only stack with
 * GPT-2's names (`wte`, `wpe`, `h.{i}.attn.c_attn`, …, `ln_f`). Built by {@link GPT}; use it directly to
 * run the blocks on embeddings of your own.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GPT } from '@dl/transformer';
 * const gpt = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 2, nHead: 2, nEmbd: 16 });
 * const h = gpt.transformer.forward(tf.randomNormal([1, 4, 16])).output; // [1, 4, 16]: blocks and ln_f
 * ```
 */
export class GPTStack extends LayerStack {
  /**
   * @param config the stack's configuration.
   * @param before the embedding modules, registered first (`wte`, `wpe`, `drop`).
   * @param rng the model's generator.
   */
  constructor(config: StackConfig, before: [string, Module][], rng: Rng | undefined) {
    super('GPT', config, { cross: false, causal: true, naming: 'gpt2', layersName: 'h', normName: 'ln_f', before, rng });
  }

  /**
   * Runs the blocks.
   * @param x `[B, L, E]`.
   */
  forward(x: tf.Tensor, call: Pick<StackCall, 'cache' | 'keyPaddingMask' | 'lengths' | 'mask' | 'returnWeights' | 'causal'> = {}): StackOutput {
    return this.run(x, call);
  }
}
