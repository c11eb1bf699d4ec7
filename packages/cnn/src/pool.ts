import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, DLArgumentError, maxPool2d, Module } from '@dl/core';
import type { LayerGeometry } from './conv.js';
import { applySpatialMatrices, checkBool, dims, optionKeys, pair, tapMatrix, type Labelled, type Pair } from './util.js';

/** Options of {@link MaxPool2d} and {@link AvgPool2d}. */
export interface Pool2dOptions {
  /** Step between windows. Default: the kernel size. */
  stride?: Pair;
  /** Implicit padding on every side, at most half the kernel. Default 0. */
  padding?: Pair;
  /** Use ⌈⌉ instead of ⌊⌋ for the output size (windows may run past the bottom/right). Default false. */
  ceilMode?: boolean;
}

const MAX_KEYS = optionKeys<Pool2dOptions>()(['stride', 'padding', 'ceilMode']);

/** Output size of a pooling window along one axis, PyTorch's rule (a last window must start inside the input or left padding). */
function poolOut(n: number, k: number, s: number, p: number, ceil: boolean): number {
  const span = n + 2 * p - k;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out -= 1;
  return out;
}

abstract class Pool2dBase extends Module implements Labelled {
  /** Window size `[kh, kw]`. */
  readonly kernelSize: [number, number];
  /** Stride `[sh, sw]`. */
  readonly stride: [number, number];
  /** Padding `[ph, pw]`. */
  readonly padding: [number, number];
  /** Whether output sizes round up. */
  readonly ceilMode: boolean;
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;
  /** @internal */
  protected abstract readonly kind: string;

  constructor(where: string, kernelSize: Pair, options: Pool2dOptions, known: readonly string[]) {
    super();
    checkKeys(where, options, known);
    this.kernelSize = pair(where, 'kernelSize', kernelSize);
    this.stride = pair(where, 'stride', options.stride ?? this.kernelSize);
    this.padding = pair(where, 'padding', options.padding ?? 0, 0);
    this.ceilMode = checkBool(where, 'ceilMode', options.ceilMode ?? false);
    for (const a of [0, 1]) {
      if (this.padding[a] * 2 > this.kernelSize[a]) throw new DLArgumentError(where, 'padding', `at most half the kernel size ${dims(this.kernelSize)}`, options.padding);
    }
  }

  /** Kernel, stride and dilation (1), for receptive-field arithmetic. */
  geometry(): LayerGeometry {
    return { kernel: this.kernelSize, stride: this.stride, dilation: [1, 1] };
  }

  /** A short description used in error messages. */
  describe(): string {
    return `${this.label ? `${this.label} ` : ''}(${this.kind} ${dims(this.kernelSize)}, stride ${dims(this.stride)})`;
  }

  /** @internal Output `[h, w]` and the explicit padding that produces it with a 'valid' pool. */
  protected plan(x: tf.Tensor): { out: [number, number]; pads: [[number, number], [number, number], [number, number], [number, number]] } {
    const where = this.describe();
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4) throw new DLArgumentError(where, 'input', 'of rank 4, [N, H, W, C] (NHWC)', x);
    const [, h, w] = x.shape;
    if (h + 2 * this.padding[0] < this.kernelSize[0] || w + 2 * this.padding[1] < this.kernelSize[1]) {
      throw new DLArgumentError(where, 'input', `at least ${dims(this.kernelSize)} (the window) after padding ${dims(this.padding)}`, x);
    }
    const out: [number, number] = [poolOut(h, this.kernelSize[0], this.stride[0], this.padding[0], this.ceilMode), poolOut(w, this.kernelSize[1], this.stride[1], this.padding[1], this.ceilMode)];
    const after = (a: 0 | 1, n: number) => Math.max((out[a] - 1) * this.stride[a] + this.kernelSize[a] - n - this.padding[a], 0);
    return { out, pads: [[0, 0], [this.padding[0], after(0, h)], [this.padding[1], after(1, w)], [0, 0]] };
  }
}

/**
 * Max pooling over NHWC images, as `torch.nn.MaxPool2d` (padding counts as −∞, `ceilMode`): keeps the
 * strongest response in each window, shrinking the feature map.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { MaxPool2d } from '@dl/cnn';
 * const pool = new MaxPool2d(3, { stride: 2, padding: 1 }); // ResNet's stem pool
 * const y = pool.forward(tf.zeros([1, 112, 112, 64])); // [1, 56, 56, 64]
 * ```
 */
export class MaxPool2d extends Pool2dBase {
  /** @internal */
  protected readonly kind = 'MaxPool2d';
  /**
   * @param kernelSize window `k` or `[kh, kw]`.
   * @param options stride (default the window), padding, ceilMode.
   */
  constructor(kernelSize: Pair, options: Pool2dOptions = {}) {
    super('MaxPool2d', kernelSize, options, MAX_KEYS);
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[N, H', W', C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const { pads } = this.plan(x);
    // @dl/core's maxPool2d: padding never wins and the gradient goes to each window's first largest value,
    // as in PyTorch (on wasm in @dl/core's SIMD module; tfjs 4.22's wasm MaxPoolGrad is wrong for some inputs).
    return maxPool2d(x as tf.Tensor4D, { kernelSize: this.kernelSize, stride: this.stride, padding: [pads[1], pads[2]] }); // [N, H', W', C]
  }
}

/** Options of {@link AvgPool2d}. */
export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count padded zeros in the divisor (PyTorch's default, true) or average only real pixels. */
  countIncludePad?: boolean;
}

const AVG_KEYS = optionKeys<AvgPool2dOptions>()(['stride', 'padding', 'ceilMode', 'countIncludePad']);


/**
 * Average pooling over NHWC images, as `torch.nn.AvgPool2d` (including `count_include_pad` and
 * `ceil_mode`: a window running past the bottom/right padding averages only the cells inside it).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { AvgPool2d } from '@dl/cnn';
 * const pool = new AvgPool2d(2); // LeNet's sub-sampling
 * const y = pool.forward(tf.zeros([1, 28, 28, 6])); // [1, 14, 14, 6]
 * ```
 */
export class AvgPool2d extends Pool2dBase {
  /** @internal */
  protected readonly kind = 'AvgPool2d';
  /** Whether padded zeros count in the divisor. */
  readonly countIncludePad: boolean;

  /**
   * @param kernelSize window `k` or `[kh, kw]`.
   * @param options stride (default the window), padding, ceilMode, countIncludePad.
   */
  constructor(kernelSize: Pair, options: AvgPool2dOptions = {}) {
    super('AvgPool2d', kernelSize, options, AVG_KEYS);
    this.countIncludePad = checkBool('AvgPool2d', 'countIncludePad', options.countIncludePad ?? true);
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[N, H', W', C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    const { pads } = this.plan(x);
    return tf.tidy(() => {
      const [, h, w] = x.shape as [number, number, number, number];
      const any = pads.some(([a, b]) => a || b);
      const padded = any ? tf.pad(x, pads) : x; // [N, H+p, W+p, C]
      const avg = tf.avgPool(padded as tf.Tensor4D, this.kernelSize, this.stride, 'valid'); // [N, H', W', C]
      // The divisor counts the cells of a window inside the padded input (countIncludePad) or inside the
      // input only; ceil mode's overhang past the bottom/right padding never counts.
      const overhang = pads[1][1] > this.padding[0] || pads[2][1] > this.padding[1];
      if (!any || (this.countIncludePad && !overhang)) return avg;
      const counted = this.countIncludePad
        ? tf.pad(tf.ones([1, h + pads[1][0] + Math.min(pads[1][1], this.padding[0]), w + pads[2][0] + Math.min(pads[2][1], this.padding[1]), 1]), [[0, 0], [0, Math.max(pads[1][1] - this.padding[0], 0)], [0, Math.max(pads[2][1] - this.padding[1], 0)], [0, 0]]) // [1, H+p, W+p, 1]
        : tf.pad(tf.ones([1, h, w, 1]), pads); // [1, H+p, W+p, 1]
      return tf.div(avg, tf.avgPool(counted as tf.Tensor4D, this.kernelSize, this.stride, 'valid')); // [N, H', W', C]
    });
  }
}

/**
 * Adaptive average pooling to a fixed output size, as `torch.nn.AdaptiveAvgPool2d`: output cell i
 * averages rows ⌊i·H/out⌋ … ⌈(i+1)·H/out⌉ − 1 (windows overlap when H is not a multiple of out).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { AdaptiveAvgPool2d } from '@dl/cnn';
 * const pool = new AdaptiveAvgPool2d([3, 2]);
 * const y = pool.forward(tf.zeros([1, 7, 5, 8])); // [1, 3, 2, 8]
 * ```
 */
export class AdaptiveAvgPool2d extends Module implements Labelled {
  /** Output size `[h, w]`. */
  readonly outputSize: [number, number];
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /** @param outputSize `s` or `[h, w]`. */
  constructor(outputSize: Pair) {
    super();
    this.outputSize = pair('AdaptiveAvgPool2d', 'outputSize', outputSize);
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[N, outH, outW, C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4) {
      throw new DLArgumentError(`${this.label ?? ''} (AdaptiveAvgPool2d ${dims(this.outputSize)})`.trim(), 'input', 'of rank 4, [N, H, W, C] (NHWC)', x);
    }
    return adaptiveAvgPool2d(x as tf.Tensor4D, this.outputSize);
  }
}

/**
 * Functional adaptive average pooling (see {@link AdaptiveAvgPool2d}). Uses one `avgPool` when the sizes
 * divide evenly, otherwise exact averaging matrices.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { adaptiveAvgPool2d } from '@dl/cnn';
 * adaptiveAvgPool2d(tf.zeros([2, 7, 7, 512]), [1, 1]); // [2, 1, 1, 512]
 * ```
 */
export function adaptiveAvgPool2d(x: tf.Tensor4D, outputSize: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [oh, ow] = outputSize;
  return tf.tidy(() => {
    if (oh === 1 && ow === 1) return tf.mean(x, [1, 2], true) as tf.Tensor4D; // [N, 1, 1, C]
    if (h % oh === 0 && w % ow === 0) return tf.avgPool(x, [h / oh, w / ow], [h / oh, w / ow], 'valid'); // [N, oh, ow, C]
    const taps = (inSize: number, outSize: number) => (r: number): [number, number][] => {
      const start = Math.floor((r * inSize) / outSize);
      const end = Math.ceil(((r + 1) * inSize) / outSize);
      return Array.from({ length: end - start }, (_, i) => [start + i, 1 / (end - start)]);
    };
    return applySpatialMatrices(x, tapMatrix(oh, h, taps(h, oh)), tapMatrix(ow, w, taps(w, ow))); // [N, oh, ow, C]
  });
}

/**
 * Global average pooling: the mean of each feature map, `[N, H, W, C]` → `[N, C]` (or `[N, 1, 1, C]`
 * with `keepDims`). Network-in-Network's replacement for fully connected layers.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GlobalAvgPool2d } from '@dl/cnn';
 * const gap = new GlobalAvgPool2d();
 * const y = gap.forward(tf.zeros([4, 6, 6, 10])); // [4, 10]
 * ```
 */
export class GlobalAvgPool2d extends Module implements Labelled {
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /** @param keepDims keep the spatial axes as size 1. Default false. */
  constructor(readonly keepDims = false) {
    super();
    checkBool('GlobalAvgPool2d', 'keepDims', keepDims);
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[N, C]` or `[N, 1, 1, C]`.

   */
  forward(x: tf.Tensor): tf.Tensor {
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4) {
      throw new DLArgumentError(`${this.label ?? ''} (GlobalAvgPool2d)`.trim(), 'input', 'of rank 4, [N, H, W, C] (NHWC)', x);
    }
    return tf.mean(x, [1, 2], this.keepDims);
  }
}
