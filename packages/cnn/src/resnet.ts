import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, checkInt, checkKeys, DLArgumentError, Linear, Module, ModuleList, type Rng } from '@dl/core';
import { Conv2d, convKaimingNormal } from './conv.js';
import { MaxPool2d } from './pool.js';
import { BasicBlock, Bottleneck } from './residual.js';
import { labelLayers, optionKeys } from './util.js';

/** Options of {@link ResNet}. */
export interface ResNetOptions {
  /** `'basic'` (ResNet-18/34, CIFAR ResNets) or `'bottleneck'` (ResNet-50+). */
  block: 'basic' | 'bottleneck';
  /** Blocks per stage, e.g. `[2, 2, 2, 2]` for ResNet-18. */
  layers: number[];
  /** Channels (planes) per stage. Default `[64, 128, 256, 512]` (ImageNet) / `[16, 32, 64]` (CIFAR). */
  widths?: number[];
  /**
   * `'imagenet'` (default): 7×7 stride-2 conv + 3×3 stride-2 max pool, overall stride 32.
   * `'cifar'`: one 3×3 conv, no pool (He et al.'s CIFAR-10 networks), overall stride 2^(stages−1).
   */
  stem?: 'imagenet' | 'cifar';
  /** Classes of the final Linear layer. Default 1000 (ImageNet) / 10 (CIFAR). */
  numClasses?: number;
  /** Input channels. Default 3. */
  inChannels?: number;
  /** Start every block's last batch-norm γ at zero. Default false. */
  zeroInitResidual?: boolean;
  /** Generator for the Linear layer's initial values. */
  rng?: Rng;
}

/**
 * Residual networks (He et al. 2015) over NHWC images with torchvision's module names (`conv1`, `bn1`,
 * `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), so PyTorch state dicts load with
 * `loadPytorchStateDict`. Both layouts of the paper: ImageNet (ResNet-18/34/50, see {@link resnet18})
 * and CIFAR (ResNet-20/32/56, see {@link cifarResNet}), with configurable stage widths.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ResNet } from '@dl/cnn';
 * const net = new ResNet({ block: 'basic', layers: [2, 2, 2, 2], numClasses: 10, widths: [16, 32, 64, 128] });
 * const logits = net.eval().forward(tf.zeros([1, 64, 64, 3])); // [1, 10]
 * ```
 */
export class ResNet extends Module {
  /** The stem convolution. */
  readonly conv1: Conv2d;
  /** The stem batch norm. */
  readonly bn1: BatchNorm2d;
  /** The stem max pool (ImageNet layout only). */
  readonly maxpool: MaxPool2d | null;
  /** Stages `layer1` … `layerK`, each a list of blocks. */
  readonly stages: ModuleList<BasicBlock | Bottleneck>[];
  /** The classifier. */
  readonly fc: Linear;
  /** Channels of the last feature map (before the classifier). */
  readonly featureChannels: number;
  /** Channels of each stage's output. */
  readonly stageChannels: number[];
  /** The resolved options. */
  readonly config: Required<Omit<ResNetOptions, 'rng'>>;

  /** @param options block type, layers per stage, widths, stem, classes. */
  constructor(options: ResNetOptions) {
    super();
    checkKeys('ResNet', options ?? null, KEYS);
    const stem = options.stem ?? 'imagenet';
    if (stem !== 'imagenet' && stem !== 'cifar') throw new DLArgumentError('ResNet', 'stem', "'imagenet' or 'cifar'", stem);
    if (options.block !== 'basic' && options.block !== 'bottleneck') throw new DLArgumentError('ResNet', 'block', "'basic' or 'bottleneck'", options.block);
    const widths = options.widths ?? (stem === 'imagenet' ? [64, 128, 256, 512] : [16, 32, 64]);
    if (!Array.isArray(options.layers) || options.layers.length === 0) throw new DLArgumentError('ResNet', 'layers', 'a non-empty list of blocks per stage', options.layers);
    if (!Array.isArray(widths) || widths.length !== options.layers.length) {
      throw new DLArgumentError('ResNet', 'widths', `one width per stage (${options.layers.length})`, widths);
    }
    options.layers.forEach((n, i) => checkInt('ResNet', `layers[${i}]`, n));
    widths.forEach((w, i) => checkInt('ResNet', `widths[${i}]`, w));
    const numClasses = checkInt('ResNet', 'numClasses', options.numClasses ?? (stem === 'imagenet' ? 1000 : 10));
    const inChannels = checkInt('ResNet', 'inChannels', options.inChannels ?? 3);
    this.config = { block: options.block, layers: [...options.layers], widths: [...widths], stem, numClasses, inChannels, zeroInitResidual: options.zeroInitResidual ?? false };
    const Block = options.block === 'basic' ? BasicBlock : Bottleneck;
    const w0 = widths[0];
    this.conv1 = this.registerModule('conv1', stem === 'imagenet'
      ? new Conv2d(inChannels, w0, 7, { stride: 2, padding: 3, bias: false, weightInit: convKaimingNormal() })
      : new Conv2d(inChannels, w0, 3, { padding: 1, bias: false, weightInit: convKaimingNormal() }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(w0));
    this.maxpool = stem === 'imagenet' ? this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 })) : null;
    let inplanes = w0;
    this.stages = [];
    this.stageChannels = [];
    options.layers.forEach((count, i) => {
      const blocks: (BasicBlock | Bottleneck)[] = [];
      for (let b = 0; b < count; b++) {
        blocks.push(new Block(inplanes, widths[i], { stride: b === 0 && i > 0 ? 2 : 1, zeroInitResidual: options.zeroInitResidual }));
        inplanes = widths[i] * Block.expansion;
      }
      this.stages.push(this.registerModule(`layer${i + 1}`, new ModuleList<BasicBlock | Bottleneck>(blocks)));
      this.stageChannels.push(inplanes);
    });
    this.featureChannels = inplanes;
    this.fc = this.registerModule('fc', new Linear(inplanes, numClasses, { rng: options.rng }));
    labelLayers(this, 'ResNet');
  }

  /** The stem: conv1, bn1, ReLU and (ImageNet) the max pool. */
  forwardStem(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(this.bn1.forward(this.conv1.forward(x))) as tf.Tensor4D; // [N, H/2, W/2, w0] (ImageNet)
      return this.maxpool ? this.maxpool.forward(h) : h; // [N, H/4, W/4, w0]
    });
  }

  /**
   * Every stage's output (for FCN skips and feature pyramids): for the ImageNet layout strides 4, 8, 16,
   * 32. The caller disposes them.
   */
  forwardFeatures(x: tf.Tensor): tf.Tensor4D[] {
    const feats: tf.Tensor4D[] = [];
    let h: tf.Tensor4D = this.forwardStem(x);
    for (const stage of this.stages) {
      for (const block of stage) {
        const next = block.forward(h);
        if (!feats.includes(h)) h.dispose();
        h = next;
      }
      feats.push(h);
    }
    return feats;
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inChannels]` → logits `[N, numClasses]`.

   */
  forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const feats = this.forwardFeatures(x);
      const pooled = tf.mean(feats[feats.length - 1], [1, 2]); // [N, C] (adaptive average pool to 1×1)
      return this.fc.forward(pooled) as tf.Tensor2D; // [N, numClasses]
    });
  }
}

/** Options shared by the ResNet factories. */
export type ResNetFactoryOptions = Omit<ResNetOptions, 'block' | 'layers' | 'stem'>;

const KEYS = optionKeys<ResNetOptions>()(['block', 'layers', 'widths', 'stem', 'numClasses', 'inChannels', 'zeroInitResidual', 'rng']);
const FACTORY_KEYS = optionKeys<ResNetFactoryOptions>()(['widths', 'numClasses', 'inChannels', 'zeroInitResidual', 'rng']);

/**
 * ResNet-18 (ImageNet layout, basic blocks [2, 2, 2, 2]); with default widths it has torchvision's
 * 11,689,512 parameters.
 *
 * @example
 * ```ts
 * import { resnet18 } from '@dl/cnn';
 * const net = resnet18(); // 11,689,512 parameters
 * const small = resnet18({ widths: [8, 16, 32, 64], numClasses: 10 });
 * ```
 */
export function resnet18(options: ResNetFactoryOptions = {}): ResNet {
  checkKeys('resnet18', options, FACTORY_KEYS);
  return new ResNet({ ...options, block: 'basic', layers: [2, 2, 2, 2], stem: 'imagenet' });
}

/**
 * ResNet-34 (ImageNet layout, basic blocks [3, 4, 6, 3]); 21,797,672 parameters at default widths.
 *
 * @example
 * ```ts
 * import { resnet34 } from '@dl/cnn';
 * const net = resnet34({ numClasses: 100 });
 * ```
 */
export function resnet34(options: ResNetFactoryOptions = {}): ResNet {
  checkKeys('resnet34', options, FACTORY_KEYS);
  return new ResNet({ ...options, block: 'basic', layers: [3, 4, 6, 3], stem: 'imagenet' });
}

/**
 * ResNet-50 (ImageNet layout, bottleneck blocks [3, 4, 6, 3]); 25,557,032 parameters at default widths.
 *
 * @example
 * ```ts
 * import { resnet50 } from '@dl/cnn';
 * const net = resnet50();
 * ```
 */
export function resnet50(options: ResNetFactoryOptions = {}): ResNet {
  checkKeys('resnet50', options, FACTORY_KEYS);
  return new ResNet({ ...options, block: 'bottleneck', layers: [3, 4, 6, 3], stem: 'imagenet' });
}

/**
 * He et al.'s CIFAR-10 ResNets: depth 6n + 2 (20, 32, 44, 56, 110, …), three stages of n basic blocks
 * with widths 16, 32, 64 (configurable), a 3×3 stem and global average pooling. Shortcuts project
 * (1×1 conv + BN, the paper's option B) when the shape changes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { cifarResNet } from '@dl/cnn';
 * const net = cifarResNet(20); // 3 stages × 3 blocks
 * const logits = net.forward(tf.zeros([2, 32, 32, 3])); // [2, 10]
 * ```
 */
export function cifarResNet(depth: 20 | 32 | 44 | 56 | 110 | number, options: ResNetFactoryOptions = {}): ResNet {
  if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0) throw new DLArgumentError('cifarResNet', 'depth', '6n + 2 with n ≥ 1 (20, 32, 56, …)', depth);
  checkKeys('cifarResNet', options, FACTORY_KEYS);
  const n = (depth - 2) / 6;
  return new ResNet({ ...options, block: 'basic', layers: [n, n, n], stem: 'cifar' });
}
