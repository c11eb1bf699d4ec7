// Internal helpers shared by the layers: argument normalisation, padding arithmetic, kernel dilation,
// interpolation matrices and a gradient stop. Not exported from the package.
import * as tf from '@tensorflow/tfjs-core';
import { checkInt, dilateKernel as dilateKernelCore, DLArgumentError } from '@dl/core';

/**
 * The option names of `T` for `checkKeys`, written out once: the compiler rejects a name `T` lacks and
 * reports any option of `T` left out, so the runtime list cannot drift from the interface.
 * Usage: `const KEYS = optionKeys<Conv2dOptions>()(['stride', …])`.
 */
export function optionKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missingOptions: Exclude<keyof T, K[number]> })): readonly string[] => keys;
}

/** Throws unless `value` is an object whose keys are all in `known`; errors name `argument.key` and list the valid keys. */
export function checkObjectKeys(where: string, argument: string, value: unknown, known: readonly string[]): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DLArgumentError(where, argument, 'an object', value);
  for (const k of Object.keys(value)) {
    if (!known.includes(k)) throw new DLArgumentError(where, `${argument}.${k}`, `one of the known options (${known.join(', ')})`, k);
  }
}

/** Throws unless `value` is a boolean. */
export function checkBool(where: string, argument: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new DLArgumentError(where, argument, 'a boolean', value);
  return value;
}

/** A size given once for both spatial axes, or per axis `[h, w]`. */
export type Pair = number | [number, number];

/** `[h, w]` from a number or a pair, each checked to be an integer ≥ `min`. */
export function pair(where: string, argument: string, value: Pair, min = 1): [number, number] {
  const v: unknown[] = Array.isArray(value) ? value : [value, value];
  if (v.length !== 2) throw new DLArgumentError(where, argument, 'a number or a pair [h, w]', value);
  return [checkInt(where, argument, v[0], min), checkInt(where, argument, v[1], min)];
}

/**
 * Padding of a 2-D layer: `'valid'` (none), `'same'` (output size ⌈in / stride⌉, extra padding at the
 * bottom/right as in PyTorch and TensorFlow), one number for every side, `[ph, pw]` (symmetric per axis)
 * or `[[top, bottom], [left, right]]`.
 */
export type Padding2d = 'same' | 'valid' | number | [number, number] | [[number, number], [number, number]];

/** Checks a padding argument; returns it normalised (explicit paddings as `[[t, b], [l, r]]`). */
export function checkPadding(where: string, padding: Padding2d): 'same' | 'valid' | [[number, number], [number, number]] {
  if (padding === 'same' || padding === 'valid') return padding;
  const bad = () => new DLArgumentError(where, 'padding', "'same', 'valid', a number ≥ 0, [ph, pw] or [[top, bottom], [left, right]]", padding);
  const int = (v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw bad();
    return v;
  };
  if (typeof padding === 'number') return [[int(padding), padding], [padding, padding]];
  if (!Array.isArray(padding) || padding.length !== 2) throw bad();
  if (Array.isArray(padding[0]) && Array.isArray(padding[1])) {
    const [a, b] = padding as [[number, number], [number, number]];
    if (a.length !== 2 || b.length !== 2) throw bad();
    return [[int(a[0]), int(a[1])], [int(b[0]), int(b[1])]];
  }
  const [ph, pw] = padding as [number, number];
  return [[int(ph), ph], [int(pw), pw]];
}

/** Explicit `[before, after]` padding of one axis for `'same'`, `'valid'` or explicit padding. */
export function axisPadding(mode: 'same' | 'valid' | [[number, number], [number, number]], axis: 0 | 1, size: number, effKernel: number, stride: number): [number, number] {
  if (mode === 'valid') return [0, 0];
  if (mode === 'same') {
    const out = Math.ceil(size / stride);
    const total = Math.max((out - 1) * stride + effKernel - size, 0);
    return [Math.floor(total / 2), total - Math.floor(total / 2)];
  }
  return mode[axis];
}

/** Size of a dilated kernel: d·(k − 1) + 1. */
export const effectiveKernel = (k: number, d: number): number => d * (k - 1) + 1;

/** Zero taps between a kernel's (see @dl/core's `dilateKernel`), taking any tensor the layers hold as their weight. */
export const dilateKernel = (w: tf.Tensor, dilation: [number, number]): tf.Tensor4D => dilateKernelCore(w as tf.Tensor4D, dilation);

/**
 * Applies `[outH, inH]` and `[outW, inW]` matrices along the spatial axes of NHWC `x`: y = Mh · x · Mwᵀ
 * per image and channel. Exact and differentiable with plain matMuls on every backend.
 */
export function applySpatialMatrices(x: tf.Tensor, mh: tf.Tensor2D, mw: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const oh = mh.shape[0];
    const ow = mw.shape[0];
    const hFirst = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, n * w * c]); // [H, N·W·C]
    const yh = tf.reshape(tf.matMul(mh, hFirst), [oh, n, w, c]); // [oH, N, W, C]
    const wFirst = tf.reshape(tf.transpose(yh, [2, 0, 1, 3]), [w, oh * n * c]); // [W, oH·N·C]
    const yw = tf.reshape(tf.matMul(mw, wFirst), [ow, oh, n, c]); // [oW, oH, N, C]
    return tf.transpose(yw, [2, 1, 0, 3]) as tf.Tensor4D; // [N, oH, oW, C]
  });
}

/** Builds an `[out, in]` matrix from per-row (index, weight) taps. */
export function tapMatrix(outSize: number, inSize: number, taps: (row: number) => [number, number][]): tf.Tensor2D {
  const m = new Float32Array(outSize * inSize);
  for (let r = 0; r < outSize; r++) for (const [i, v] of taps(r)) m[r * inSize + i] += v;
  return tf.tensor2d(m, [outSize, inSize]);
}

/** The identity in the forward pass, zero gradient in the backward pass (torch's `detach`). */
export const stopGradient = (x: tf.Tensor): tf.Tensor =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const t = args[0] as tf.Tensor;
    return { value: tf.clone(t), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) };
  })(x);

/** Formats `[a, b]` as `a×b`. */
export const dims = (p: [number, number]): string => `${p[0]}×${p[1]}`;

/** A module that reports its path in errors once {@link labelLayers} has named it. */
export interface Labelled {
  /** Path of the layer in its model (e.g. `ResNet.layer1.0.conv1`), set by `labelLayers`. */
  label: string | undefined;
}

/**
 * Gives every labelled layer in `root` (convolutions, pools, …) its dotted path, so errors name the
 * layer: `ResNet.layer2.0.conv1 (Conv2d 64→128, 3×3, stride 2): input must be …`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Sequential } from '@dl/core';
 * import { Conv2d, MaxPool2d, labelLayers } from '@dl/cnn';
 * const stem = new Sequential(new Conv2d(3, 8, 3), new MaxPool2d(2));
 * labelLayers(stem, 'stem');
 * stem.forward(tf.zeros([1, 16, 16, 1])); // throws "stem.0 (Conv2d 3→8, 3×3): input must be of shape [N, H, W, 3] …"
 * ```
 */
export function labelLayers(root: { namedModules(prefix?: string): [string, object][] }, prefix: string): void {
  for (const [path, m] of root.namedModules(prefix)) {
    if ('label' in m) (m as Labelled).label = path;
  }
}
