import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, DLArgumentError, kaimingUniform, Module, uniform, type Initializer, type Rng } from '@dl/core';
import { convTranspose2dFull } from './conv-kernels.js';
import { checkBool, dilateKernel, dims, effectiveKernel, optionKeys, pair, type Labelled, type Pair } from './util.js';

/** Options of {@link ConvTranspose2d}. */
export interface ConvTranspose2dOptions {
  /** Up-sampling factor. Default 1. */
  stride?: Pair;
  /** Rows/columns removed from each border of the full output (PyTorch's `padding`). Default 0. */
  padding?: Pair;
  /** Extra rows/columns added at the bottom/right (PyTorch's `output_padding`, < stride or dilation). Default 0. */
  outputPadding?: Pair;
  /** Spacing between kernel taps. Default 1. */
  dilation?: Pair;
  /** Independent channel groups. Default 1. */
  groups?: number;
  /** Learn a bias. Default true. */
  bias?: boolean;
  /** Weight initialiser, called with our kernel shape `[kh, kw, out/groups, in]`. Default PyTorch's. */
  weightInit?: Initializer;
  /** Bias initialiser. */
  biasInit?: Initializer;
  /** Generator for the initial values. */
  rng?: Rng;
}

const KEYS = optionKeys<ConvTranspose2dOptions>()(['stride', 'padding', 'outputPadding', 'dilation', 'groups', 'bias', 'weightInit', 'biasInit', 'rng']);

/**
 * Transposed convolution ("deconvolution", learned up-sampling) over NHWC images, as
 * `torch.nn.ConvTranspose2d`: output size (n − 1)·s − 2p + d·(k − 1) + outputPadding + 1. The kernel is
 * stored for tfjs's `conv2dTranspose` as `[kh, kw, out/groups, in]`; PyTorch's `[in, out/groups, kh, kw]`
 * converts with `loadPytorchStateDict`. FCN uses it, initialised to bilinear interpolation
 * ({@link bilinearKernel}), for its learned up-sampling.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { ConvTranspose2d } from '@dl/cnn';
 * const up = new ConvTranspose2d(8, 8, 4, { stride: 2, padding: 1 }); // exactly ×2
 * const y = up.forward(tf.zeros([1, 7, 7, 8])); // [1, 14, 14, 8]
 * ```
 */
export class ConvTranspose2d extends Module implements Labelled {
  /** Kernel `[kh, kw, outChannels / groups, inChannels]`. */
  readonly weight: tf.Variable;
  /** Bias `[outChannels]`, or null. */
  readonly bias: tf.Variable | null;
  /** Kernel size `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sh, sw]`. */
  readonly stride: [number, number];
  /** Padding `[ph, pw]`. */
  readonly padding: [number, number];
  /** Output padding `[oph, opw]`. */
  readonly outputPadding: [number, number];
  /** Dilation `[dh, dw]`. */
  readonly dilation: [number, number];
  /** Groups. */
  readonly groups: number;
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /**
   * @param inChannels channels of the input.
   * @param outChannels channels of the output.
   * @param kernelSize `k` or `[kh, kw]`.
   */
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: ConvTranspose2dOptions = {},
  ) {
    super();
    checkKeys('ConvTranspose2d', options, KEYS);
    checkInt('ConvTranspose2d', 'inChannels', inChannels);
    checkInt('ConvTranspose2d', 'outChannels', outChannels);
    this.kernelSize = pair('ConvTranspose2d', 'kernelSize', kernelSize);
    this.stride = pair('ConvTranspose2d', 'stride', options.stride ?? 1);
    this.padding = pair('ConvTranspose2d', 'padding', options.padding ?? 0, 0);
    this.outputPadding = pair('ConvTranspose2d', 'outputPadding', options.outputPadding ?? 0, 0);
    this.dilation = pair('ConvTranspose2d', 'dilation', options.dilation ?? 1);
    this.groups = checkInt('ConvTranspose2d', 'groups', options.groups ?? 1);
    for (const a of [0, 1]) {
      if (this.outputPadding[a] >= Math.max(this.stride[a], this.dilation[a])) {
        throw new DLArgumentError('ConvTranspose2d', 'outputPadding', `smaller than stride or dilation (${dims(this.stride)}, ${dims(this.dilation)})`, options.outputPadding);
      }
    }
    if (inChannels % this.groups || outChannels % this.groups) {
      throw new DLArgumentError('ConvTranspose2d', 'groups', `a divisor of inChannels (${inChannels}) and outChannels (${outChannels})`, this.groups);
    }
    const [kh, kw] = this.kernelSize;
    // PyTorch's weight is [in, out/g, kh, kw], so its "fan_in" is (out/g)·kh·kw.
    const fanIn = (outChannels / this.groups) * kh * kw;
    const bound = 1 / Math.sqrt(fanIn);
    const wInit = options.weightInit ?? kaimingUniform({ a: Math.sqrt(5), fans: { fanIn, fanOut: inChannels * kh * kw } });
    this.weight = this.registerParameter('weight', wInit([kh, kw, outChannels / this.groups, inChannels], options.rng));
    this.bias = !checkBool('ConvTranspose2d', 'bias', options.bias ?? true) ? null : this.registerParameter('bias', (options.biasInit ?? uniform(-bound, bound))([outChannels], options.rng));
  }

  /** A short description used in error messages. */
  describe(): string {
    return `${this.label ? `${this.label} ` : ''}(ConvTranspose2d ${this.inChannels}→${this.outChannels}, ${dims(this.kernelSize)}, stride ${dims(this.stride)})`;
  }

  /** Output spatial size for an input of `[h, w]`. */
  outputSize(h: number, w: number): [number, number] {
    const o = (n: number, a: 0 | 1) => (n - 1) * this.stride[a] - 2 * this.padding[a] + effectiveKernel(this.kernelSize[a], this.dilation[a]) + this.outputPadding[a];
    return [o(h, 0), o(w, 1)];
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, inChannels]` → `[N, H', W', outChannels]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const where = this.describe();
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4 || x.shape[3] !== this.inChannels) {
      throw new DLArgumentError(where, 'input', `of shape [N, H, W, ${this.inChannels}] (NHWC, ${this.inChannels} input channels)`, x);
    }
    const [n, h, w] = x.shape;
    const [oh, ow] = this.outputSize(h, w);
    if (oh < 1 || ow < 1) throw new DLArgumentError(where, 'input', `large enough for a positive output (padding ${dims(this.padding)} removes too much)`, x);
    return tf.tidy(() => {
      const k = dilateKernel(this.weight, this.dilation); // [effH, effW, out/g, in]
      const [eh, ew] = [k.shape[0], k.shape[1]];
      const fullH = (h - 1) * this.stride[0] + eh;
      const fullW = (w - 1) * this.stride[1] + ew;
      const g = this.groups;
      let y: tf.Tensor4D;
      if (g === 1) y = convTranspose2dFull(x as tf.Tensor4D, k, this.stride); // [N, fullH, fullW, out]
      else {
        const xs = tf.split(x, g, 3); // g × [N, H, W, in/g]
        const ks = tf.split(k, g, 3); // g × [effH, effW, out/g, in/g]
        y = tf.concat(xs.map((xi, i) => convTranspose2dFull(xi as tf.Tensor4D, ks[i] as tf.Tensor4D, this.stride)), 3); // [N, fullH, fullW, out]
      }
      // Crop `padding` from the top/left; the bottom/right keeps outputPadding extra rows (zeros past the end).
      const [ph, pw] = this.padding;
      const extraH = Math.max(ph + oh - fullH, 0);
      const extraW = Math.max(pw + ow - fullW, 0);
      if (extraH || extraW) y = tf.pad(y, [[0, 0], [0, extraH], [0, extraW], [0, 0]]);
      y = tf.slice(y, [0, ph, pw, 0], [n, oh, ow, this.outChannels]); // [N, oH, oW, out]
      return this.bias ? tf.add(y, this.bias) : y;
    });
  }
}

/**
 * A `[k, k, channels, channels]` kernel that makes a {@link ConvTranspose2d} (stride s, k = 2s, padding
 * s/2) up-sample each channel bilinearly, as FCN initialises its up-sampling layers.
 *
 * @example
 * ```ts
 * import { ConvTranspose2d, bilinearKernel } from '@dl/cnn';
 * const up = new ConvTranspose2d(3, 3, 4, { stride: 2, padding: 1, bias: false });
 * up.weight.assign(bilinearKernel(4, 3));
 * ```
 */
export function bilinearKernel(kernelSize: number, channels: number): tf.Tensor4D {
  checkInt('bilinearKernel', 'kernelSize', kernelSize);
  checkInt('bilinearKernel', 'channels', channels);
  const factor = Math.floor((kernelSize + 1) / 2);
  const center = kernelSize % 2 === 1 ? factor - 1 : factor - 0.5;
  const w = new Float32Array(kernelSize * kernelSize * channels * channels);
  for (let i = 0; i < kernelSize; i++) {
    for (let j = 0; j < kernelSize; j++) {
      const v = (1 - Math.abs(i - center) / factor) * (1 - Math.abs(j - center) / factor);
      for (let c = 0; c < channels; c++) w[((i * kernelSize + j) * channels + c) * channels + c] = v;
    }
  }
  return tf.tensor4d(w, [kernelSize, kernelSize, channels, channels]);
}
