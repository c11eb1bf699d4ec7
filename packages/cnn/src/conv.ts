import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, depthwiseConv2d, DLArgumentError, kaimingNormal, kaimingUniform, Module, uniform, type Initializer, type Rng } from '@dl/core';
import { fusedConv2d, ownConvKernels, type ExplicitPad } from './conv-kernels.js';
import { axisPadding, checkBool, checkPadding, dilateKernel, dims, effectiveKernel, optionKeys, pair, type Labelled, type Pair, type Padding2d } from './util.js';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Step between receptive fields. Default 1. */
  stride?: Pair;
  /** `'valid'` (default 0), `'same'`, a number, `[ph, pw]` or `[[top, bottom], [left, right]]`. */
  padding?: Padding2d;
  /** Spacing between kernel taps. Default 1. */
  dilation?: Pair;
  /** Split channels into this many independent groups (`groups = inChannels` is depthwise). Default 1. */
  groups?: number;
  /** Learn an additive bias per output channel. Default true. */
  bias?: boolean;
  /**
   * A fused activation applied after the bias (not part of PyTorch's layer; the state dict is unchanged).
   * `'relu'` lets tfjs fuse conv + bias + ReLU into one kernel. Default `'linear'`.
   */
  activation?: 'linear' | 'relu';
  /** Weight initialiser, called with our kernel shape `[kh, kw, in/groups, out]`. Default PyTorch's. */
  weightInit?: Initializer;
  /** Bias initialiser. Default PyTorch's U(±1/√fanIn). */
  biasInit?: Initializer;
  /** Generator for the initial values. */
  rng?: Rng;
}

const CONV2D_KEYS = optionKeys<Conv2dOptions>()(['stride', 'padding', 'dilation', 'groups', 'bias', 'activation', 'weightInit', 'biasInit', 'rng']);

/** Geometry of a sliding-window layer along one axis, for {@link receptiveField}-style bookkeeping. */
export interface LayerGeometry {
  /** Kernel size `[h, w]`. */
  kernel: [number, number];
  /** Stride `[h, w]`. */
  stride: [number, number];
  /** Dilation `[h, w]`. */
  dilation: [number, number];
}

/** PyTorch's default conv initialisers for a kernel with the given fans: kaiming-uniform(a=√5), bias U(±1/√fanIn). */
function defaultInits(fanIn: number, fanOut: number): { weight: Initializer; bias: Initializer } {
  const bound = 1 / Math.sqrt(fanIn);
  return { weight: kaimingUniform({ a: Math.sqrt(5), fans: { fanIn, fanOut } }), bias: uniform(-bound, bound) };
}

/**
 * The convolution every conv layer runs: NHWC `x`, kernel `[kh, kw, in/groups, out]`, explicit padding,
 * any stride and dilation (dilation through a zero-stuffed kernel, since tfjs has no dilated conv
 * gradient), groups by splitting (depthwise through @dl/core's `depthwiseConv2d`), bias and a fused ReLU.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { conv2dNHWC } from '@dl/cnn';
 * const x = tf.ones([1, 5, 5, 2]) as tf.Tensor4D; // [N, H, W, in]
 * const w = tf.ones([3, 3, 2, 4]); // [kh, kw, in, out]
 * // stride 2, one pixel of padding on every side, dilation 1, one group, no bias
 * const y = conv2dNHWC(x, w, null, [2, 2], [[1, 1], [1, 1]], [1, 1], 1); // [1, 3, 3, 4]
 * ```
 */
export function conv2dNHWC(
  x: tf.Tensor4D,
  weight: tf.Tensor,
  bias: tf.Tensor | null,
  stride: [number, number],
  pads: [[number, number], [number, number]],
  dilation: [number, number],
  groups: number,
  activation: 'linear' | 'relu' = 'linear',
): tf.Tensor4D {
  return tf.tidy(() => {
    // Always 'valid' or explicit: given one number, tfjs sizes both axes from the kernel's height and
    // stride, which is wrong for non-square kernels and unequal strides or dilations.
    const none = pads[0][0] === 0 && pads[0][1] === 0 && pads[1][0] === 0 && pads[1][1] === 0;
    const pad: ExplicitPad = none ? 'valid' : [[0, 0], pads[0], pads[1], [0, 0]];
    const inC = x.shape[3];
    const outC = weight.shape[3] as number;
    let y: tf.Tensor4D;
    if (groups > 1 && weight.shape[2] === 1 && groups === inC) {
      // Depthwise: PyTorch's output channel o reads input channel ⌊o / m⌋, tfjs's is c·m + j: the same order.
      // @dl/core's depthwiseConv2d takes the dilation itself and has fast gradients on wasm.
      const dw = tf.reshape(weight, [weight.shape[0] as number, weight.shape[1] as number, inC, outC / inC]) as tf.Tensor4D; // [kh, kw, in, m]
      y = depthwiseConv2d(x, dw, { stride, padding: pads, dilation }); // [N, oH, oW, out]
    } else {
      const k = dilateKernel(weight, dilation); // [effH, effW, in/g, out]
      const own = ownConvKernels(tf.getBackend());
      if (groups === 1) {
        if (own) return fusedConv2d(x, k, bias, stride, pads, pad, activation); // [N, oH, oW, out]
        return tf.fused.conv2d({ x, filter: k, strides: stride, pad, bias: bias ?? undefined, activation }); // [N, oH, oW, out]
      }
      const xs = tf.split(x, groups, 3); // groups × [N, H, W, in/g]
      const ks = tf.split(k, groups, 3); // groups × [effH, effW, in/g, out/g]
      // Each group is a convolution of its own; DLConv2D's where tfjs's filter gradient is slow (cpu, wasm).
      const one = (xi: tf.Tensor4D, ki: tf.Tensor4D) => (own ? fusedConv2d(xi, ki, null, stride, pads, pad, 'linear') : tf.conv2d(xi, ki, stride, pad)); // [N, oH, oW, out/g]
      y = tf.concat(xs.map((xi, i) => one(xi as tf.Tensor4D, ks[i] as tf.Tensor4D)), 3); // [N, oH, oW, out]
    }
    if (bias) y = tf.add(y, bias);
    return activation === 'relu' ? tf.relu(y) : y;
  });
}

/**
 * 2-D convolution over NHWC images, as `torch.nn.Conv2d` (cross-correlation, same arguments), with
 * `'same'` / `'valid'` / explicit padding, stride, dilation, groups (depthwise when
 * `groups = inChannels`) and bias. The kernel is stored for tfjs as `[kh, kw, in/groups, out]`;
 * PyTorch's `[out, in/groups, kh, kw]` converts with `loadPytorchStateDict` (see `pytorch.ts`).
 * Output size per axis: ⌊(n + p_before + p_after − d·(f − 1) − 1) / s⌋ + 1, i.e. (n − f + 2p)/s + 1 rounded down.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Conv2d } from '@dl/cnn';
 * const conv = new Conv2d(3, 16, 3, { stride: 2, padding: 1 });
 * const y = conv.forward(tf.zeros([8, 32, 32, 3])); // [8, 16, 16, 16]
 * ```
 */
export class Conv2d extends Module implements Labelled {
  /** Kernel `[kh, kw, inChannels / groups, outChannels]`. */
  readonly weight: tf.Variable;
  /** Bias `[outChannels]`, or null. */
  readonly bias: tf.Variable | null;
  /** Kernel size `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sh, sw]`. */
  readonly stride: [number, number];
  /** Dilation `[dh, dw]`. */
  readonly dilation: [number, number];
  /** Number of groups. */
  readonly groups: number;
  /** Padding mode or explicit `[[top, bottom], [left, right]]`. */
  readonly padding: 'same' | 'valid' | [[number, number], [number, number]];
  /** Fused activation. */
  readonly activation: 'linear' | 'relu';
  /** Path in the model, for error messages (set by the models). */
  label: string | undefined = undefined;

  /**
   * @param inChannels channels of the input (last axis).
   * @param outChannels number of filters.
   * @param kernelSize `k` or `[kh, kw]`.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dOptions = {},
  ) {
    super();
    checkKeys('Conv2d', options, CONV2D_KEYS);
    checkInt('Conv2d', 'inChannels', inChannels);
    checkInt('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize);
    this.stride = pair('Conv2d', 'stride', options.stride ?? 1);
    this.dilation = pair('Conv2d', 'dilation', options.dilation ?? 1);
    this.groups = checkInt('Conv2d', 'groups', options.groups ?? 1);
    this.padding = checkPadding('Conv2d', options.padding ?? 0);
    this.activation = options.activation ?? 'linear';
    if (this.activation !== 'linear' && this.activation !== 'relu') throw new DLArgumentError('Conv2d', 'activation', "'linear' or 'relu'", options.activation);
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new DLArgumentError('Conv2d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, this.groups);
    }
    const [kh, kw] = this.kernelSize;
    const shape = [kh, kw, inChannels / this.groups, outChannels];
    const fanIn = (inChannels / this.groups) * kh * kw;
    const fanOut = outChannels * kh * kw; // PyTorch: weight.size(0) · receptive field
    const init = defaultInits(fanIn, fanOut);
    this.weight = this.registerParameter('weight', (options.weightInit ?? init.weight)(shape, options.rng));
    this.bias = checkBool('Conv2d', 'bias', options.bias ?? true) ? this.registerParameter('bias', (options.biasInit ?? init.bias)([outChannels], options.rng)) : null;
  }

  /** Kernel, stride and dilation, for receptive-field arithmetic. */
  geometry(): LayerGeometry {
    return { kernel: this.kernelSize, stride: this.stride, dilation: this.dilation };
  }

  /** A short description used in error messages. */
  describe(): string {
    const extra = [this.stride[0] * this.stride[1] > 1 ? `stride ${dims(this.stride)}` : '', this.dilation[0] * this.dilation[1] > 1 ? `dilation ${dims(this.dilation)}` : '', this.groups > 1 ? `groups ${this.groups}` : ''].filter(Boolean);
    return `${this.label ? `${this.label} ` : ''}(Conv2d ${this.inChannels}→${this.outChannels}, ${dims(this.kernelSize)}${extra.length ? `, ${extra.join(', ')}` : ''})`;
  }

  /** Explicit padding for an input of spatial size `[h, w]`. */
  resolvePadding(h: number, w: number): [[number, number], [number, number]] {
    const eh = effectiveKernel(this.kernelSize[0], this.dilation[0]);
    const ew = effectiveKernel(this.kernelSize[1], this.dilation[1]);
    return [axisPadding(this.padding, 0, h, eh, this.stride[0]), axisPadding(this.padding, 1, w, ew, this.stride[1])];
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inChannels]` → `[N, H', W', outChannels]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const pads = checkConvInput(this.describe(), x, this.inChannels, 4, (h, w) => this.resolvePadding(h, w), this.kernelSize, this.dilation, '[N, H, W, C] (NHWC)');
    return conv2dNHWC(x as tf.Tensor4D, this.weight, this.bias, this.stride, pads, this.dilation, this.groups, this.activation);
  }
}

/**
 * Checks rank, channels and that the (padded) input is at least as large as the dilated kernel; returns
 * the explicit padding. Errors name the layer, the expected shape and the given one.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkConvInput } from '@dl/cnn';
 * const x = tf.zeros([1, 8, 8, 3]);
 * // a 3×3 kernel with 'same' padding (one pixel on every side): returns [[1, 1], [1, 1]]
 * const pads = checkConvInput('MyConv', x, 3, 4, () => [[1, 1], [1, 1]], [3, 3], [1, 1], '[N, H, W, C]');
 * // 4 channels expected, 3 given:
 * checkConvInput('MyConv', x, 4, 4, () => [[1, 1], [1, 1]], [3, 3], [1, 1], '[N, H, W, C]'); // throws "MyConv: input must be of shape [N, H, W, 4] (4 input channels), got …"
 * ```
 */
export function checkConvInput(
  where: string,
  x: tf.Tensor,
  channels: number,
  rank: 3 | 4,
  padsFor: (h: number, w: number) => [[number, number], [number, number]],
  kernel: [number, number],
  dilation: [number, number],
  layout: string,
): [[number, number], [number, number]] {
  const channelsText = `with ${channels} channels last`;
  if (x == null || typeof x !== 'object' || !('shape' in x)) throw new DLArgumentError(where, 'input', `a tf.Tensor of shape ${layout}`, x);
  if (x.rank !== rank) throw new DLArgumentError(where, 'input', `of rank ${rank}, ${layout} ${channelsText}`, x);
  if (x.shape[rank - 1] !== channels) {
    throw new DLArgumentError(where, 'input', `of shape ${layout.replace(/C\]/, `${channels}]`)} (${channels} input channels)`, x);
  }
  const h = rank === 4 ? (x.shape[1] as number) : 1;
  const w = x.shape[rank - 2] as number;
  const pads = padsFor(h, w);
  const eh = effectiveKernel(kernel[0], dilation[0]);
  const ew = effectiveKernel(kernel[1], dilation[1]);
  const ph = h + pads[0][0] + pads[0][1];
  const pw = w + pads[1][0] + pads[1][1];
  if (ph < eh || pw < ew) {
    const size = rank === 4 ? `${eh}×${ew}` : `${ew}`;
    throw new DLArgumentError(where, 'input', `at least ${size} after padding for its ${size} (dilated) kernel, i.e. spatial size ≥ ${rank === 4 ? `${eh - pads[0][0] - pads[0][1]}×${ew - pads[1][0] - pads[1][1]}` : `${ew - pads[1][0] - pads[1][1]}`}`, x);
  }
  return pads;
}

/** Options of {@link Conv1d}. */
export interface Conv1dOptions extends Omit<Conv2dOptions, 'stride' | 'padding' | 'dilation'> {
  /** Step. Default 1. */
  stride?: number;
  /** `'valid'` (default 0), `'same'`, a number or `[left, right]`. */
  padding?: 'same' | 'valid' | number | [number, number];
  /** Spacing between taps. Default 1. */
  dilation?: number;
}

const CONV1D_KEYS = optionKeys<Conv1dOptions>()(['stride', 'padding', 'dilation', 'groups', 'bias', 'activation', 'weightInit', 'biasInit', 'rng']);
const CONV1X1_KEYS = optionKeys<Omit<Conv2dOptions, 'padding' | 'dilation'>>()(['stride', 'groups', 'bias', 'activation', 'weightInit', 'biasInit', 'rng']);

/**
 * 1-D convolution over `[N, L, C]` sequences (channels last; PyTorch's `[N, C, L]` transposed), as
 * `torch.nn.Conv1d`. Kernel stored `[k, in/groups, out]` (PyTorch's `[out, in/groups, k]` converts with
 * `loadPytorchStateDict`). Runs as a 2-D convolution of height 1.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Conv1d } from '@dl/cnn';
 * const conv = new Conv1d(4, 8, 3, { padding: 'same', dilation: 2 });
 * const y = conv.forward(tf.zeros([2, 50, 4])); // [2, 50, 8]
 * ```
 */
export class Conv1d extends Module implements Labelled {
  /** Kernel `[k, inChannels / groups, outChannels]`. */
  readonly weight: tf.Variable;
  /** Bias `[outChannels]`, or null. */
  readonly bias: tf.Variable | null;
  /** Kernel size. */
  readonly kernelSize: number;
  /** Stride. */
  readonly stride: number;
  /** Dilation. */
  readonly dilation: number;
  /** Groups. */
  readonly groups: number;
  /** Padding mode or explicit `[left, right]`. */
  readonly padding: 'same' | 'valid' | [number, number];
  /** Fused activation. */
  readonly activation: 'linear' | 'relu';
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /**
   * @param inChannels channels of the input (last axis).
   * @param outChannels number of filters.
   * @param kernelSize taps per filter.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: number,
    options: Conv1dOptions = {},
  ) {
    super();
    checkKeys('Conv1d', options, CONV1D_KEYS);
    checkInt('Conv1d', 'inChannels', inChannels);
    checkInt('Conv1d', 'outChannels', outChannels);
    this.kernelSize = checkInt('Conv1d', 'kernelSize', kernelSize);
    this.stride = checkInt('Conv1d', 'stride', options.stride ?? 1);
    this.dilation = checkInt('Conv1d', 'dilation', options.dilation ?? 1);
    this.groups = checkInt('Conv1d', 'groups', options.groups ?? 1);
    this.activation = options.activation ?? 'linear';
    const p = options.padding ?? 0;
    if (p === 'same' || p === 'valid') this.padding = p;
    else {
      const explicit = checkPadding('Conv1d', typeof p === 'number' ? [0, p] : [[0, 0], p as [number, number]]) as [[number, number], [number, number]];
      const [l, r] = explicit[1];
      this.padding = [l, r];
    }
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new DLArgumentError('Conv1d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, this.groups);
    }
    const k = this.kernelSize;
    const fanIn = (inChannels / this.groups) * k;
    const init = defaultInits(fanIn, outChannels * k);
    this.weight = this.registerParameter('weight', (options.weightInit ?? init.weight)([k, inChannels / this.groups, outChannels], options.rng));
    this.bias = checkBool('Conv1d', 'bias', options.bias ?? true) ? this.registerParameter('bias', (options.biasInit ?? init.bias)([outChannels], options.rng)) : null;
  }

  /** A short description used in error messages. */
  describe(): string {
    return `${this.label ? `${this.label} ` : ''}(Conv1d ${this.inChannels}→${this.outChannels}, ${this.kernelSize}${this.stride > 1 ? `, stride ${this.stride}` : ''}${this.dilation > 1 ? `, dilation ${this.dilation}` : ''}${this.groups > 1 ? `, groups ${this.groups}` : ''})`;
  }

  /**

   * Forward pass.

   * @param x `[N, L, inChannels]` → `[N, L', outChannels]`.

   */
  forward(x: tf.Tensor): tf.Tensor3D {
    const mode = this.padding;
    const pads = checkConvInput(
      this.describe(), x, this.inChannels, 3,
      (_h, w) => [[0, 0], mode === 'same' || mode === 'valid' ? axisPadding(mode, 1, w, effectiveKernel(this.kernelSize, this.dilation), this.stride) : mode],
      [1, this.kernelSize], [1, this.dilation], '[N, L, C]',
    );
    return tf.tidy(() => {
      const [n, l, c] = x.shape;
      const x4 = tf.reshape(x, [n, 1, l, c]) as tf.Tensor4D; // [N, 1, L, C]
      const w4 = tf.expandDims(this.weight, 0); // [1, k, in/g, out]
      const y = conv2dNHWC(x4, w4, this.bias, [1, this.stride], pads, [1, this.dilation], this.groups, this.activation); // [N, 1, L', out]
      return tf.squeeze(y, [1]) as tf.Tensor3D; // [N, L', out]
    });
  }
}

/**
 * A 1×1 convolution (Network-in-Network's "mlpconv" building block): a per-pixel linear map across
 * channels, `Conv2d(in, out, 1)`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { conv1x1 } from '@dl/cnn';
 * const squeeze = conv1x1(64, 32); // 64 feature maps → 32
 * const y = squeeze.forward(tf.zeros([1, 8, 8, 64])); // [1, 8, 8, 32]
 * ```
 */
export function conv1x1(inChannels: number, outChannels: number, options: Omit<Conv2dOptions, 'padding' | 'dilation'> = {}): Conv2d {
  checkKeys('conv1x1', options, CONV1X1_KEYS);
  return new Conv2d(inChannels, outChannels, 1, options);
}

/**
 * fan_in and fan_out of a conv kernel in our layout `[..., k, in/groups, out]` (last two axes channels),
 * computed as PyTorch does for its `[out, in/groups, ...k]` layout.
 *
 * @example
 * ```ts
 * import { convFans } from '@dl/cnn';
 * convFans([3, 3, 16, 32]); // { fanIn: 144, fanOut: 288 }
 * ```
 */
export function convFans(shape: number[]): {
  /** (in/groups) · kernel elements. */
  fanIn: number;
  /** out · kernel elements. */
  fanOut: number;
} {
  if (shape.length < 3) throw new DLArgumentError('convFans', 'shape', 'a conv kernel shape [...k, in/groups, out]', shape);
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[shape.length - 2] * receptive, fanOut: shape[shape.length - 1] * receptive };
}

/**
 * torchvision's ResNet conv initialiser for our kernel layout: Kaiming normal, mode fan_out, gain √2.
 *
 * @example
 * ```ts
 * import { Conv2d, convKaimingNormal } from '@dl/cnn';
 * const conv = new Conv2d(64, 64, 3, { padding: 1, bias: false, weightInit: convKaimingNormal() });
 * ```
 */
export function convKaimingNormal(): Initializer {
  return (shape, rng) => kaimingNormal({ mode: 'fanOut', nonlinearity: 'relu', fans: convFans(shape) })(shape, rng);
}
