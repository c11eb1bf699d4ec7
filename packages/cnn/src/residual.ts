import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm2d, checkInt, checkKeys, DLArgumentError, Module, Sequential, type UnaryModule } from '@dl/core';
import { Conv2d, convKaimingNormal } from './conv.js';
import { optionKeys, type Labelled } from './util.js';

/** Options of {@link BasicBlock} and {@link Bottleneck}. */
export interface ResidualBlockOptions {
  /** Stride of the block (2 halves the feature map). Default 1. */
  stride?: number;
  /**
   * The shortcut: `'auto'` (default) uses a projection (1×1 conv with the block's stride + batch norm,
   * torchvision's `downsample`) when the shape changes and the identity otherwise; `'projection'`
   * always projects; or pass your own module.
   */
  downsample?: 'auto' | 'projection' | UnaryModule;
  /** Groups of the 3×3 convolution (ResNeXt). Default 1. */
  groups?: number;
  /** Width per group (ResNeXt / wide ResNet), bottleneck only. Default 64. */
  baseWidth?: number;
  /** Start the last batch norm's γ at zero, so the block starts as the identity. Default false. */
  zeroInitResidual?: boolean;
}

const KEYS = optionKeys<ResidualBlockOptions>()(['stride', 'downsample', 'groups', 'baseWidth', 'zeroInitResidual']);

function conv3x3(inC: number, outC: number, stride = 1, groups = 1): Conv2d {
  return new Conv2d(inC, outC, 3, { stride, padding: 1, groups, bias: false, weightInit: convKaimingNormal() });
}

function conv1x1b(inC: number, outC: number, stride = 1): Conv2d {
  return new Conv2d(inC, outC, 1, { stride, bias: false, weightInit: convKaimingNormal() });
}

function shortcut(where: string, inC: number, outC: number, stride: number, option: ResidualBlockOptions['downsample']): UnaryModule | null {
  const mode = option ?? 'auto';
  if (typeof mode === 'object') return mode;
  if (mode !== 'auto' && mode !== 'projection') throw new DLArgumentError(where, 'downsample', "'auto', 'projection' or a module", mode);
  if (mode === 'auto' && stride === 1 && inC === outC) return null;
  return new Sequential(conv1x1b(inC, outC, stride), new BatchNorm2d(outC));
}

/**
 * ResNet's basic residual block (two 3×3 convolutions, torchvision's `BasicBlock`, expansion 1):
 * y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), the shortcut projecting (1×1 conv + BN) when
 * the stride or the width changes. The identity path lets gradients skip the block.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { BasicBlock } from '@dl/cnn';
 * const block = new BasicBlock(64, 128, { stride: 2 }); // has block.downsample
 * const y = block.forward(tf.zeros([1, 56, 56, 64])); // [1, 28, 28, 128]
 * ```
 */
export class BasicBlock extends Module implements Labelled {
  /** Output channels = planes × expansion. */
  static readonly expansion = 1;
  /** First 3×3 convolution (carries the stride). */
  readonly conv1: Conv2d;
  /** First batch norm. */
  readonly bn1: BatchNorm2d;
  /** Second 3×3 convolution. */
  readonly conv2: Conv2d;
  /** Second batch norm. */
  readonly bn2: BatchNorm2d;
  /** The projection shortcut, or null for the identity. */
  readonly downsample: UnaryModule | null;
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /**
   * @param inplanes input channels.
   * @param planes output channels.
   */
  constructor(readonly inplanes: number, readonly planes: number, options: ResidualBlockOptions = {}) {
    super();
    checkKeys('BasicBlock', options, KEYS);
    checkInt('BasicBlock', 'inplanes', inplanes);
    checkInt('BasicBlock', 'planes', planes);
    const stride = checkInt('BasicBlock', 'stride', options.stride ?? 1);
    if ((options.groups ?? 1) !== 1 || (options.baseWidth ?? 64) !== 64) throw new DLArgumentError('BasicBlock', 'groups', '1 with baseWidth 64 (as torchvision)', options.groups);
    this.conv1 = this.registerModule('conv1', conv3x3(inplanes, planes, stride));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.conv2 = this.registerModule('conv2', conv3x3(planes, planes));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    const ds = shortcut('BasicBlock', inplanes, planes, stride, options.downsample);
    this.downsample = ds ? this.registerModule('downsample', ds) : null;
    if (options.zeroInitResidual) tf.tidy(() => this.bn2.weight!.assign(tf.zeros([planes])));
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inplanes]` → `[N, H/stride, W/stride, planes]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      const h = tf.relu(this.bn1.forward(this.conv1.forward(x))); // [N, H', W', planes]
      const f = this.bn2.forward(this.conv2.forward(h)); // [N, H', W', planes]
      const identity = this.downsample ? this.downsample.forward(x) : x; // [N, H', W', planes]
      return tf.relu(tf.add(f, identity)) as tf.Tensor4D;
    });
  }
}

/**
 * ResNet's bottleneck block (1×1 reduce, 3×3, 1×1 expand ×4; torchvision's `Bottleneck`, stride on the
 * 3×3 as in ResNet v1.5), with a projection shortcut when the shape changes.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Bottleneck } from '@dl/cnn';
 * const block = new Bottleneck(256, 128, { stride: 2 }); // 256 → 512 channels
 * const y = block.forward(tf.zeros([1, 56, 56, 256])); // [1, 28, 28, 512]
 * ```
 */
export class Bottleneck extends Module implements Labelled {
  /** Output channels = planes × expansion. */
  static readonly expansion = 4;
  /** 1×1 reduction. */
  readonly conv1: Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: BatchNorm2d;
  /** 3×3 convolution (carries the stride). */
  readonly conv2: Conv2d;
  /** Batch norm after conv2. */
  readonly bn2: BatchNorm2d;
  /** 1×1 expansion to planes × 4. */
  readonly conv3: Conv2d;
  /** Batch norm after conv3. */
  readonly bn3: BatchNorm2d;
  /** The projection shortcut, or null for the identity. */
  readonly downsample: UnaryModule | null;
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /**
   * @param inplanes input channels.
   * @param planes bottleneck width (output is planes × 4).
   */
  constructor(readonly inplanes: number, readonly planes: number, options: ResidualBlockOptions = {}) {
    super();
    checkKeys('Bottleneck', options, KEYS);
    checkInt('Bottleneck', 'inplanes', inplanes);
    checkInt('Bottleneck', 'planes', planes);
    const stride = checkInt('Bottleneck', 'stride', options.stride ?? 1);
    const groups = checkInt('Bottleneck', 'groups', options.groups ?? 1);
    const width = Math.floor(planes * (checkInt('Bottleneck', 'baseWidth', options.baseWidth ?? 64) / 64)) * groups;
    const out = planes * Bottleneck.expansion;
    this.conv1 = this.registerModule('conv1', conv1x1b(inplanes, width));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(width));
    this.conv2 = this.registerModule('conv2', conv3x3(width, width, stride, groups));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(width));
    this.conv3 = this.registerModule('conv3', conv1x1b(width, out));
    this.bn3 = this.registerModule('bn3', new BatchNorm2d(out));
    const ds = shortcut('Bottleneck', inplanes, out, stride, options.downsample);
    this.downsample = ds ? this.registerModule('downsample', ds) : null;
    if (options.zeroInitResidual) tf.tidy(() => this.bn3.weight!.assign(tf.zeros([out])));
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inplanes]` → `[N, H/stride, W/stride, planes·4]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    return tf.tidy(() => {
      let h = tf.relu(this.bn1.forward(this.conv1.forward(x))); // [N, H, W, width]
      h = tf.relu(this.bn2.forward(this.conv2.forward(h))); // [N, H', W', width]
      const f = this.bn3.forward(this.conv3.forward(h)); // [N, H', W', 4·planes]
      const identity = this.downsample ? this.downsample.forward(x) : x; // [N, H', W', 4·planes]
      return tf.relu(tf.add(f, identity)) as tf.Tensor4D;
    });
  }
}
