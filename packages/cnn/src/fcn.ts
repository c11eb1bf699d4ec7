import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, checkInt, checkKeys, DLArgumentError, Module, ModuleList, Sequential, ReLU, type Rng, type UnaryModule } from '@dl/core';
import { Conv2d, convKaimingNormal } from './conv.js';
import { bilinearKernel, ConvTranspose2d } from './conv-transpose.js';
import { MaxPool2d } from './pool.js';
import type { ResNet } from './resnet.js';
import { checkBool, labelLayers, optionKeys } from './util.js';

/**
 * A backbone for {@link FCN}: maps `[N, H, W, C]` to feature maps at strides 8, 16 and 32
 * (FCN's pool3, pool4 and the final map), and says their channel counts.
 */
export interface FCNBackbone extends Module {
  /** Channels of the stride-8, stride-16 and stride-32 feature maps. */
  readonly featureChannels: [number, number, number];
  /** Input channels. */
  readonly inChannels: number;
  /** `[N, H, W, C]` → the three feature maps (caller disposes). */
  forward(x: tf.Tensor): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
}

/** Options of {@link VGGBackbone}. */
export interface VGGBackboneOptions {
  /** Input channels. Default 3. */
  inChannels?: number;
  /** Channels of the five stages (each: convs, then a 2×2 max pool). Default VGG-16's `[64, 128, 256, 512, 512]`. */
  widths?: number[];
  /** 3×3 convs per stage. Default VGG-16's `[2, 2, 3, 3, 3]`. */
  depths?: number[];
  /** Batch norm after each conv (VGG-BN). Default true. */
  batchNorm?: boolean;
  /** Generator for the initial values. */
  rng?: Rng;
}

const VGG_KEYS = optionKeys<VGGBackboneOptions>()(['inChannels', 'widths', 'depths', 'batchNorm', 'rng']);

/**
 * A VGG-style backbone (FCN's original one, scalable): five stages of 3×3 convs (+ batch norm) + ReLU,
 * each ending in a 2×2 max pool; returns the outputs of stages 3, 4, 5 (strides 8, 16, 32).
 * Children `stages.i.j` are Sequentials of conv, (bn), relu.
 *
 * @example
 * ```ts
 * import { VGGBackbone } from '@dl/cnn';
 * const backbone = new VGGBackbone({ widths: [8, 16, 32, 32, 32], depths: [1, 1, 1, 1, 1] });
 * ```
 */
export class VGGBackbone extends Module implements FCNBackbone {
  /** Channels at strides 8, 16, 32. */
  readonly featureChannels: [number, number, number];
  /** Input channels. */
  readonly inChannels: number;
  /** The five stages (conv blocks). */
  readonly stages: ModuleList<ModuleList<Sequential>>;
  private readonly pool = new MaxPool2d(2);

  /** @param options channels, widths, depths, batch norm. */
  constructor(options: VGGBackboneOptions = {}) {
    super();
    checkKeys('VGGBackbone', options, VGG_KEYS);
    this.inChannels = checkInt('VGGBackbone', 'inChannels', options.inChannels ?? 3);
    const widths = options.widths ?? [64, 128, 256, 512, 512];
    const depths = options.depths ?? [2, 2, 3, 3, 3];
    if (!Array.isArray(widths) || widths.length !== 5) throw new DLArgumentError('VGGBackbone', 'widths', 'five stage widths', widths);
    if (!Array.isArray(depths) || depths.length !== 5) throw new DLArgumentError('VGGBackbone', 'depths', 'five stage depths', depths);
    const bn = checkBool('VGGBackbone', 'batchNorm', options.batchNorm ?? true);
    let c = this.inChannels;
    const stages: ModuleList<Sequential>[] = [];
    widths.forEach((w, i) => {
      checkInt('VGGBackbone', `widths[${i}]`, w);
      const convs: Sequential[] = [];
      for (let j = 0; j < checkInt('VGGBackbone', `depths[${i}]`, depths[i]); j++) {
        const parts: UnaryModule[] = [new Conv2d(c, w, 3, { padding: 1, bias: !bn, weightInit: convKaimingNormal(), activation: bn ? 'linear' : 'relu', rng: options.rng })];
        if (bn) parts.push(new BatchNorm2d(w), new ReLU());
        convs.push(new Sequential(...parts));
        c = w;
      }
      stages.push(new ModuleList(convs));
    });
    this.stages = this.registerModule('stages', new ModuleList(stages));
    this.featureChannels = [widths[2], widths[3], widths[4]];
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[pool3 (H/8), pool4 (H/16), pool5 (H/32)]`.

   */
  forward(x: tf.Tensor): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    const outs: tf.Tensor4D[] = [];
    let h = x as tf.Tensor4D;
    let i = 0;
    for (const stage of this.stages) {
      const next = tf.tidy(() => {
        let t = h;
        for (const conv of stage) t = conv.forward(t) as tf.Tensor4D; // [N, H', W', w]
        return this.pool.forward(t); // [N, H'/2, W'/2, w]
      });
      if (h !== x && !outs.includes(h)) h.dispose();
      h = next;
      if (i >= 2) outs.push(h);
      i++;
    }
    return outs as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  }
}

/**
 * Wraps an ImageNet-layout {@link ResNet} as an FCN backbone: its layer2, layer3 and layer4 outputs
 * (strides 8, 16, 32). The classifier `fc` is unused.
 *
 * @example
 * ```ts
 * import { FCN, ResNetBackbone, resnet18 } from '@dl/cnn';
 * const fcn = new FCN({ numClasses: 21, backbone: new ResNetBackbone(resnet18()) });
 * ```
 */
export class ResNetBackbone extends Module implements FCNBackbone {
  /** Channels at strides 8, 16, 32. */
  readonly featureChannels: [number, number, number];
  /** Input channels. */
  readonly inChannels: number;

  /** @param resnet an ImageNet-layout ResNet with four stages (its parameters appear under `resnet.`). */
  constructor(readonly resnet: ResNet) {
    super();
    if (resnet.config.stem !== 'imagenet' || resnet.stages.length !== 4) {
      throw new DLArgumentError('ResNetBackbone', 'resnet', 'an ImageNet-layout ResNet with 4 stages (strides 4…32)', `${resnet.config.stem} layout with ${resnet.stages.length} stages`);
    }
    this.registerModule('resnet', resnet);
    this.inChannels = resnet.config.inChannels;
    const c = resnet.stageChannels;
    this.featureChannels = [c[1], c[2], c[3]];
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → layer2, layer3, layer4 outputs.

   */
  forward(x: tf.Tensor): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
    const [c2, c3, c4, c5] = this.resnet.forwardFeatures(x);
    c2.dispose();
    return [c3, c4, c5];
  }
}

/** Options of {@link FCN}. */
export interface FCNOptions {
  /** Classes (including background). */
  numClasses: number;
  /** `'32s'`, `'16s'` or `'8s'` (default): how many skip connections are fused. */
  variant?: '32s' | '16s' | '8s';
  /** The feature extractor. Default a full-size {@link VGGBackbone}. */
  backbone?: FCNBackbone;
  /** Channels of the fc6/fc7-style convolutional head on the stride-32 map (0 to skip it). Default 4× the last width, capped at 4096. */
  headChannels?: number;
  /** Generator for the initial values. */
  rng?: Rng;
}

const FCN_KEYS = optionKeys<FCNOptions>()(['numClasses', 'variant', 'backbone', 'headChannels', 'rng']);

/**
 * Fully Convolutional Network for semantic segmentation (Long et al. 2015): a backbone,
 * a convolutional "fc6/fc7" head, 1×1 class-score layers, and **learned up-sampling**
 * ({@link ConvTranspose2d}, initialised bilinear) with **skip fusion**: FCN-32s up-samples the stride-32
 * scores ×32; FCN-16s adds the ×2-up-sampled scores to pool4's scores first; FCN-8s also fuses pool3's.
 * Names follow the Caffe model: `score_fr`, `upscore2`, `score_pool4`, `upscore_pool4`, `score_pool3`,
 * `upscore8` / `upscore16` / `upscore32`. Input sides must be multiples of 32; output `[N, H, W, classes]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { FCN, VGGBackbone } from '@dl/cnn';
 * const fcn = new FCN({ numClasses: 4, variant: '8s', backbone: new VGGBackbone({ widths: [8, 16, 32, 32, 32], depths: [1, 1, 1, 1, 1] }) });
 * const scores = fcn.forward(tf.zeros([1, 64, 64, 3])); // [1, 64, 64, 4]
 * ```
 */
export class FCN extends Module {
  /** The feature extractor. */
  readonly backbone: FCNBackbone;
  /** fc6/fc7-style head (3×3 conv + ReLU, 1×1 conv + ReLU), or null. */
  readonly head: Sequential | null;
  /** 1×1 class scores on the stride-32 map. */
  readonly score_fr: Conv2d;
  /** 1×1 class scores on pool4 (16s, 8s). */
  readonly score_pool4: Conv2d | null;
  /** 1×1 class scores on pool3 (8s). */
  readonly score_pool3: Conv2d | null;
  /** ×2 up-sampling of the stride-32 scores (16s, 8s). */
  readonly upscore2: ConvTranspose2d | null;
  /** ×2 up-sampling of the fused stride-16 scores (8s). */
  readonly upscore_pool4: ConvTranspose2d | null;
  /** The final up-sampling (×8, ×16 or ×32). */
  readonly upscore: ConvTranspose2d;
  /** Variant. */
  readonly variant: '32s' | '16s' | '8s';
  /** Classes. */
  readonly numClasses: number;

  /** @param options classes, variant, backbone, head width. */
  constructor(options: FCNOptions) {
    super();
    checkKeys('FCN', options ?? null, FCN_KEYS);
    this.numClasses = checkInt('FCN', 'numClasses', options?.numClasses);
    const variant = options.variant ?? '8s';
    if (variant !== '32s' && variant !== '16s' && variant !== '8s') throw new DLArgumentError('FCN', 'variant', "'32s', '16s' or '8s'", variant);
    this.variant = variant;
    this.backbone = this.registerModule('backbone', options.backbone ?? new VGGBackbone({ rng: options.rng }));
    const [c3, c4, c5] = this.backbone.featureChannels;
    const hc = options.headChannels ?? Math.min(4 * c5, 4096);
    checkInt('FCN', 'headChannels', hc, 0);
    const rng = options.rng;
    this.head = hc > 0
      ? this.registerModule('head', new Sequential(new Conv2d(c5, hc, 3, { padding: 1, activation: 'relu', rng }), new Conv2d(hc, hc, 1, { activation: 'relu', rng })))
      : null;
    const C = this.numClasses;
    this.score_fr = this.registerModule('score_fr', new Conv2d(hc > 0 ? hc : c5, C, 1, { rng }));
    const up = (name: string, factor: number) => {
      const m = this.registerModule(name, new ConvTranspose2d(C, C, 2 * factor, { stride: factor, padding: factor / 2, bias: false }));
      const k = bilinearKernel(2 * factor, C);
      m.weight.assign(k);
      k.dispose();
      return m;
    };
    // Skip scores start at zero (as in the paper) so training begins from the coarser prediction.
    const zeroScore = (name: string, c: number) => {
      const m = this.registerModule(name, new Conv2d(c, C, 1, { rng }));
      tf.tidy(() => {
        m.weight.assign(tf.zeros(m.weight.shape));
        m.bias!.assign(tf.zeros([C]));
      });
      return m;
    };
    this.upscore2 = variant === '32s' ? null : up('upscore2', 2);
    this.score_pool4 = variant === '32s' ? null : zeroScore('score_pool4', c4);
    this.upscore_pool4 = variant === '8s' ? up('upscore_pool4', 2) : null;
    this.score_pool3 = variant === '8s' ? zeroScore('score_pool3', c3) : null;
    this.upscore = up(variant === '8s' ? 'upscore8' : variant === '16s' ? 'upscore16' : 'upscore32', variant === '8s' ? 8 : variant === '16s' ? 16 : 32);
    labelLayers(this, 'FCN');
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` with H, W multiples of 32 → per-pixel class scores `[N, H, W, numClasses]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const inC = this.backbone.inChannels;
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4 || x.shape[3] !== inC || (x.shape[1] as number) % 32 || (x.shape[2] as number) % 32 || x.shape[1] === 0) {
      throw new DLArgumentError(`FCN-${this.variant}`, 'input', `of shape [N, H, W, ${inC}] (NHWC) with H and W positive multiples of 32`, x);
    }
    return tf.tidy(() => {
      const [p3, p4, p5] = this.backbone.forward(x);
      const top = this.head ? this.head.forward(p5) : p5; // [N, H/32, W/32, hc]
      let score = this.score_fr.forward(top); // [N, H/32, W/32, C]
      if (this.upscore2 && this.score_pool4) {
        score = tf.add(this.upscore2.forward(score), this.score_pool4.forward(p4)) as tf.Tensor4D; // [N, H/16, W/16, C]
      }
      if (this.upscore_pool4 && this.score_pool3) {
        score = tf.add(this.upscore_pool4.forward(score), this.score_pool3.forward(p3)) as tf.Tensor4D; // [N, H/8, W/8, C]
      }
      return this.upscore.forward(score); // [N, H, W, C]
    });
  }
}
