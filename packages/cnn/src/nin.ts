import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError, Dropout, Module, ModuleList, type Rng } from '@dl/core';
import { Conv2d } from './conv.js';
import { AvgPool2d, MaxPool2d } from './pool.js';
import { checkObjectKeys, labelLayers, optionKeys, type Pair } from './util.js';

/** One mlpconv block of {@link NiN}: a spatial conv followed by 1×1 convs (the "micro network"). */
export interface MlpConvSpec {
  /** Channels of the spatial conv and of each 1×1 conv, e.g. `[192, 160, 96]`. */
  channels: number[];
  /** Kernel of the spatial conv. */
  kernel: Pair;
  /** Stride of the spatial conv. Default 1. */
  stride?: number;
  /** Padding of the spatial conv. Default `'same'`. */
  padding?: number | 'same' | 'valid';
  /** Pooling after the block (3×3 stride 2 padding 1), or none. Default none. */
  pool?: 'max' | 'avg' | null;
}

const SPEC_KEYS = optionKeys<MlpConvSpec>()(['channels', 'kernel', 'stride', 'padding', 'pool']);

/**
 * An mlpconv block: spatial conv + ReLU, then 1×1 convs + ReLU ("a network in the network": a small MLP
 * shared across positions, mixing channels). Children: `conv`, `mlp.0`, `mlp.1`, ….
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MlpConv } from '@dl/cnn';
 * const block = new MlpConv(3, { channels: [32, 32, 16], kernel: 5 });
 * const y = block.forward(tf.zeros([1, 16, 16, 3])); // [1, 16, 16, 16]
 * ```
 */
export class MlpConv extends Module {
  /** The spatial convolution. */
  readonly conv: Conv2d;
  /** The 1×1 convolutions. */
  readonly mlp: ModuleList<Conv2d>;
  /** Output channels. */
  readonly outChannels: number;

  /**
   * @param inChannels input channels.
   * @param spec channels, kernel, stride, padding.
   */
  constructor(inChannels: number, spec: MlpConvSpec, rng?: Rng) {
    super();
    checkObjectKeys('MlpConv', 'spec', spec, SPEC_KEYS);
    if (!Array.isArray(spec.channels) || spec.channels.length < 1) throw new DLArgumentError('MlpConv', 'channels', 'a non-empty list', spec.channels);
    spec.channels.forEach((c, i) => checkInt('MlpConv', `channels[${i}]`, c));
    this.conv = this.registerModule('conv', new Conv2d(inChannels, spec.channels[0], spec.kernel, { stride: spec.stride ?? 1, padding: spec.padding ?? 'same', activation: 'relu', rng }));
    const ones: Conv2d[] = [];
    for (let i = 1; i < spec.channels.length; i++) ones.push(new Conv2d(spec.channels[i - 1], spec.channels[i], 1, { activation: 'relu', rng }));
    this.mlp = this.registerModule('mlp', new ModuleList(ones));
    this.outChannels = spec.channels[spec.channels.length - 1];
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, in]` → `[N, H', W', channels.at(-1)]` (all ReLU).

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      let h = this.conv.forward(x); // [N, H', W', c0]
      for (const m of this.mlp) h = m.forward(h); // [N, H', W', ci]
      return h;
    });
  }
}

/** Options of {@link NiN}. */
export interface NiNOptions {
  /** Input channels. Default 3. */
  inChannels?: number;
  /** Classes (the last block's last 1×1 conv outputs one map per class). Default 10. */
  numClasses?: number;
  /**
   * The blocks. Default: Lin et al.'s CIFAR-10 network, `[192, 160, 96]` 5×5 → max pool,
   * `[192, 192, 192]` 5×5 → avg pool, `[192, 192, numClasses]` 3×3.
   */
  blocks?: MlpConvSpec[];
  /** Dropout after each pooled block. Default 0.5. */
  dropout?: number;
  /** Generator for the initial values and dropout. */
  rng?: Rng;
}

const KEYS = optionKeys<NiNOptions>()(['inChannels', 'numClasses', 'blocks', 'dropout', 'rng']);

/**
 * Network-in-Network (Lin et al. 2013): mlpconv blocks (1×1 convolutions mixing channels),
 * pooling and dropout between blocks, and **global average pooling** of one feature map per class
 * instead of fully connected layers.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { NiN } from '@dl/cnn';
 * const net = new NiN({ numClasses: 10, blocks: [
 *   { channels: [32, 32, 32], kernel: 5, pool: 'max' },
 *   { channels: [32, 32, 10], kernel: 3 },
 * ] });
 * const logits = net.forward(tf.zeros([2, 16, 16, 3])); // [2, 10]
 * ```
 */
export class NiN extends Module {
  /** The mlpconv blocks. */
  readonly blocks: ModuleList<MlpConv>;
  private readonly pools: (MaxPool2d | AvgPool2d | null)[];
  private readonly drops: (Dropout | null)[];
  /** Classes. */
  readonly numClasses: number;

  /** @param options input channels, classes, blocks, dropout. */
  constructor(options: NiNOptions = {}) {
    super();
    checkKeys('NiN', options, KEYS);
    const inChannels = checkInt('NiN', 'inChannels', options.inChannels ?? 3);
    this.numClasses = checkInt('NiN', 'numClasses', options.numClasses ?? 10);
    const p = checkNumber('NiN', 'dropout', options.dropout ?? 0.5, 0, 1, false, true);
    const specs: MlpConvSpec[] = options.blocks ?? [
      { channels: [192, 160, 96], kernel: 5, pool: 'max' },
      { channels: [192, 192, 192], kernel: 5, pool: 'avg' },
      { channels: [192, 192, this.numClasses], kernel: 3 },
    ];
    if (!Array.isArray(specs) || specs.length === 0) throw new DLArgumentError('NiN', 'blocks', 'a non-empty list of mlpconv specs', specs);
    specs.forEach((s, i) => checkObjectKeys('NiN', `blocks[${i}]`, s, SPEC_KEYS));
    const last = specs[specs.length - 1].channels;
    if (last[last.length - 1] !== this.numClasses) {
      throw new DLArgumentError('NiN', 'blocks', `a last block ending in numClasses (${this.numClasses}) channels for global average pooling`, `${last[last.length - 1]} channels`);
    }
    const blocks: MlpConv[] = [];
    let c = inChannels;
    for (const s of specs) {
      const b = new MlpConv(c, s, options.rng);
      blocks.push(b);
      c = b.outChannels;
    }
    this.blocks = this.registerModule('blocks', new ModuleList(blocks));
    this.pools = specs.map((s, i) => {
      if (!s.pool) return null;
      if (s.pool !== 'max' && s.pool !== 'avg') throw new DLArgumentError('NiN', `blocks[${i}].pool`, "'max', 'avg' or null", s.pool);
      return this.registerModule(`pool${i}`, s.pool === 'max' ? new MaxPool2d(3, { stride: 2, padding: 1 }) : new AvgPool2d(3, { stride: 2, padding: 1 }));
    });
    this.drops = specs.map((s, i) => (s.pool && p > 0 ? this.registerModule(`drop${i}`, new Dropout(p, { rng: options.rng })) : null));
    labelLayers(this, 'NiN');
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inChannels]` → logits `[N, numClasses]` (global average of the class maps).

   */
  forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      let h = x as tf.Tensor4D;
      [...this.blocks].forEach((b, i) => {
        h = b.forward(h); // [N, H', W', c]
        const pool = this.pools[i];
        if (pool) h = pool.forward(h);
        const drop = this.drops[i];
        if (drop) h = drop.forward(h) as tf.Tensor4D;
      });
      return tf.mean(h, [1, 2]) as tf.Tensor2D; // [N, classes]
    });
  }
}
