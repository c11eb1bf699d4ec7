import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, checkNumber, DLArgumentError, Module } from '@dl/core';
import { applySpatialMatrices, checkBool, optionKeys, pair, tapMatrix, type Labelled, type Pair } from './util.js';

/** Options of {@link Upsample}: give either `size` or `scaleFactor`. */
export interface UpsampleOptions {
  /** Output size `s` or `[h, w]`. */
  size?: Pair;
  /** Multiplier of the input size (`s` or `[sh, sw]`, may be fractional). */
  scaleFactor?: number | [number, number];
  /** `'nearest'` (default) or `'bilinear'`. */
  mode?: 'nearest' | 'bilinear';
  /** Bilinear only: align the corner pixels (PyTorch's `align_corners`). Default false. */
  alignCorners?: boolean;
}

const KEYS = optionKeys<UpsampleOptions>()(['size', 'scaleFactor', 'mode', 'alignCorners']);

/**
 * Up-sampling of NHWC images, as `torch.nn.Upsample` / `F.interpolate` with `mode` `'nearest'` or
 * `'bilinear'` (both `alignCorners` settings). Implemented as two small interpolation matrices, so it is
 * exact and differentiable on every backend. FCN's fixed (non-learned) alternative to
 * {@link ConvTranspose2d}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Upsample } from '@dl/cnn';
 * const up = new Upsample({ scaleFactor: 2, mode: 'bilinear' });
 * const y = up.forward(tf.zeros([1, 8, 8, 3])); // [1, 16, 16, 3]
 * ```
 */
export class Upsample extends Module implements Labelled {
  /** Interpolation mode. */
  readonly mode: 'nearest' | 'bilinear';
  /** Whether corners are aligned (bilinear). */
  readonly alignCorners: boolean;
  /** Fixed output size, if given. */
  readonly size: [number, number] | null;
  /** Scale factors, if given. */
  readonly scaleFactor: [number, number] | null;
  /** Path in the model, for error messages. */
  label: string | undefined = undefined;

  /** @param options size or scaleFactor, mode, alignCorners. */
  constructor(options: UpsampleOptions) {
    super();
    checkKeys('Upsample', options ?? null, KEYS);
    const { size, scaleFactor } = options;
    if ((size === undefined) === (scaleFactor === undefined)) throw new DLArgumentError('Upsample', 'options', 'exactly one of size or scaleFactor', JSON.stringify(options));
    this.size = size === undefined ? null : pair('Upsample', 'size', size);
    if (scaleFactor !== undefined) {
      const s = Array.isArray(scaleFactor) ? scaleFactor : [scaleFactor, scaleFactor];
      this.scaleFactor = [checkNumber('Upsample', 'scaleFactor', s[0], 0, Infinity, true), checkNumber('Upsample', 'scaleFactor', s[1], 0, Infinity, true)];
    } else this.scaleFactor = null;
    this.mode = options.mode ?? 'nearest';
    if (this.mode !== 'nearest' && this.mode !== 'bilinear') throw new DLArgumentError('Upsample', 'mode', "'nearest' or 'bilinear'", options.mode);
    this.alignCorners = checkBool('Upsample', 'alignCorners', options.alignCorners ?? false);
    if (this.alignCorners && this.mode === 'nearest') throw new DLArgumentError('Upsample', 'alignCorners', "false with mode 'nearest' (as in PyTorch)", true);
  }

  /**

   * Forward pass.

   * @param x `[N, H, W, C]` → `[N, H', W', C]`.

   */
  forward(x: tf.Tensor): tf.Tensor4D {
    if (x == null || typeof x !== 'object' || !('shape' in x) || x.rank !== 4) {
      throw new DLArgumentError(`${this.label ?? ''} (Upsample ${this.mode})`.trim(), 'input', 'of rank 4, [N, H, W, C] (NHWC)', x);
    }
    const [, h, w] = x.shape;
    const out: [number, number] = this.size ?? [Math.floor(h * this.scaleFactor![0]), Math.floor(w * this.scaleFactor![1])];
    // PyTorch maps output to input coordinates with 1/scaleFactor when one was given, else in/out.
    const scale = (a: 0 | 1, n: number) => (this.scaleFactor ? 1 / this.scaleFactor[a] : n / out[a]);
    return interpolate(x as tf.Tensor4D, out, this.mode, this.alignCorners, [scale(0, h), scale(1, w)]);
  }
}

/**
 * Functional resize of NHWC images (see {@link Upsample}); `scales` are PyTorch's output→input
 * coordinate scales (default in/out).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { interpolate } from '@dl/cnn';
 * interpolate(tf.zeros([1, 4, 4, 2]), [7, 9], 'bilinear'); // [1, 7, 9, 2]
 * ```
 */
export function interpolate(x: tf.Tensor4D, size: [number, number], mode: 'nearest' | 'bilinear' = 'nearest', alignCorners = false, scales?: [number, number]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const taps = (inSize: number, outSize: number, scale: number) => (r: number): [number, number][] => {
    // float32 arithmetic as PyTorch's kernel, so ⌊dst·scale⌋ lands on the same pixel at exact boundaries.
    if (mode === 'nearest') return [[Math.min(Math.floor(Math.fround(r * Math.fround(scale))), inSize - 1), 1]];
    let src: number;
    if (alignCorners) src = outSize > 1 ? (r * (inSize - 1)) / (outSize - 1) : 0;
    else src = Math.max((r + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const l = src - i0;
    return [[i0, 1 - l], [i1, l]];
  };
  const [sh, sw] = scales ?? [h / size[0], w / size[1]];
  return tf.tidy(() => applySpatialMatrices(x, tapMatrix(size[0], h, taps(h, size[0], sh)), tapMatrix(size[1], w, taps(w, size[1], sw))));
}
