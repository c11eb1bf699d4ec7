import * as tf from '@tensorflow/tfjs-core';
import { checkKeys, DLArgumentError } from './errors.js';
import { isTensor } from './tensor-check.js';
import { heapOffset, kernelsFor, kernelsUsable, wasmInternals, type WasmBackendInternals } from './wasm-kernels.js';

// Image patches as rows (im2col) and back (col2im): PyTorch's `F.unfold` / `F.fold` for NHWC images. A
// convolution is then one matrix product, [N·oH·oW, kh·kw·C] × [kh·kw·C, out], and its gradients are
// products too (the filter's: patchesᵀ · g; the input's: col2im(g · Wᵀ)). On tfjs's wasm backend both
// run in @dl/core's SIMD module (src/wasm/patches.c) and the products in its matrix kernels, so a
// convolution needs no tfjs convolution kernel; and since each piece has its own gradient, autodiff skips
// the input gradient of a layer whose input needs none (a network's first layer), which tfjs's fused
// convolution computes regardless. Elsewhere both are a convolution with a one-hot kernel.

/** Options of {@link im2col} and {@link col2im}. */
export interface PatchOptions {
  /** Kernel size `k` or `[kh, kw]`. */
  kernelSize: number | readonly [number, number];
  /** Step between patches. Default 1. */
  stride?: number | readonly [number, number];
  /** Zeros added around the image: `p`, `[ph, pw]` (both sides) or `[[top, bottom], [left, right]]`. Default 0. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
  /** Spacing between a patch's taps. Default 1. */
  dilation?: number | readonly [number, number];
}

const KEYS = ['kernelSize', 'stride', 'padding', 'dilation'];

/** The checked geometry of a patch extraction. */
export interface Geometry {
  n: number;
  h: number;
  w: number;
  c: number;
  oh: number;
  ow: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pads: [[number, number], [number, number]];
}

function pair(where: string, name: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((x) => Number.isInteger(x) && x >= min)) {
    throw new DLArgumentError(where, name, `an integer ≥ ${min} or a pair of them`, v);
  }
  return [p[0], p[1]];
}

/**
 * Checks patch (or pooling) options against an image shape `[N, H, W, C]` and returns the geometry: the
 * output size, kernel, stride, dilation and padding as numbers (package-internal; max-pool.ts shares it).
 */
export function geometry(where: string, shape: readonly number[], options: PatchOptions, keys: readonly string[] = KEYS, defaultStride: unknown = 1): Geometry {
  if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object with kernelSize', options);
  checkKeys(where, options, keys);
  const [kh, kw] = pair(where, 'kernelSize', options.kernelSize, 1);
  const [sh, sw] = pair(where, 'stride', options.stride ?? defaultStride ?? 1, 1);
  const [dh, dw] = pair(where, 'dilation', options.dilation ?? 1, 1);
  const p = options.padding ?? 0;
  let pads: [[number, number], [number, number]];
  if (Array.isArray(p) && Array.isArray(p[0])) {
    if (p.length !== 2) throw new DLArgumentError(where, 'padding', '[[top, bottom], [left, right]]', p);
    pads = [pair(where, 'padding[0]', p[0], 0), pair(where, 'padding[1]', p[1], 0)];
  } else {
    const [ph, pw] = pair(where, 'padding', p, 0);
    pads = [[ph, ph], [pw, pw]];
  }
  const [n, h, w, c] = shape;
  const oh = Math.floor((h + pads[0][0] + pads[0][1] - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((w + pads[1][0] + pads[1][1] - dw * (kw - 1) - 1) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new DLArgumentError(where, 'kernelSize', `a (dilated) kernel that fits the padded ${h} × ${w} image`, [kh, kw]);
  }
  return { n, h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, pads };
}

/** Geometry as the module's arguments, after which come the two pointers. */
export const args = (g: Geometry) => [g.n, g.h, g.w, g.c, g.oh, g.ow, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pads[0][0], g.pads[1][0]];

/** The geometry travels to the kernels and gradients as the attribute `geometry` (max-pool.ts too). */
export const attrsOf = (g: Geometry) => ({ geometry: g }) as unknown as tf.NamedAttrMap;
export const fromAttrs = (attrs: tf.NamedAttrMap | undefined) => (attrs as unknown as { geometry: Geometry }).geometry;

/** The options again, from a checked geometry (for the gradients). */
function optionsOf(g: Geometry): PatchOptions {
  return { kernelSize: [g.kh, g.kw], stride: [g.sh, g.sw], dilation: [g.dh, g.dw], padding: g.pads };
}

function run(name: 'im2col' | 'col2im', { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const k = kernelsFor(wb)!;
  const g = fromAttrs(attrs);
  const input = inputs.x as tf.TensorInfo;
  const out = wb.makeOutput(name === 'im2col' ? [g.n, g.oh, g.ow, g.kh * g.kw * g.c] : [g.n, g.h, g.w, g.c], 'float32'); // allocates: offsets after this
  if (g.n * g.h * g.w * g.c > 0) k.exports[name](...args(g), heapOffset(wb, input), heapOffset(wb, out));
  return out;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: 'DLIm2Col', backendName: 'wasm', kernelFunc: ((call: Parameters<tf.KernelFunc>[0]) => run('im2col', call)) as tf.KernelFunc });
  tf.registerKernel({ kernelName: 'DLCol2Im', backendName: 'wasm', kernelFunc: ((call: Parameters<tf.KernelFunc>[0]) => run('col2im', call)) as tf.KernelFunc });
  // Each is the other's adjoint, so each one's gradient is the other.
  tf.registerGradient({
    kernelName: 'DLIm2Col',
    gradFunc: (dy, _saved, attrs) => {
      const g = fromAttrs(attrs);
      return { x: () => col2im(dy as tf.Tensor4D, [g.n, g.h, g.w, g.c], optionsOf(g)) };
    },
  });
  tf.registerGradient({
    kernelName: 'DLCol2Im',
    gradFunc: (dy, _saved, attrs) => {
      const g = fromAttrs(attrs);
      return { x: () => im2col(dy as tf.Tensor4D, optionsOf(g)) };
    },
  });
}

/**
 * The one-hot kernel `[ekh, ekw, C, kh·kw·C]` (ek the dilated size) whose convolution copies each patch
 * into a row: tap (i, j) of channel c goes to feature (i·kw + j)·C + c.
 */
function oneHotKernel(g: Geometry): tf.Tensor4D {
  const ekh = g.dh * (g.kh - 1) + 1;
  const ekw = g.dw * (g.kw - 1) + 1;
  const f = g.kh * g.kw * g.c;
  const data = new Float32Array(ekh * ekw * g.c * f);
  for (let i = 0; i < g.kh; i++) {
    for (let j = 0; j < g.kw; j++) {
      for (let ch = 0; ch < g.c; ch++) data[((i * g.dh * ekw + j * g.dw) * g.c + ch) * f + (i * g.kw + j) * g.c + ch] = 1;
    }
  }
  return tf.tensor4d(data, [ekh, ekw, g.c, f]);
}

const explicit = (g: Geometry) => [[0, 0], g.pads[0], g.pads[1], [0, 0]] as tf.backend_util.ExplicitPadding;

function checkImage(where: string, name: string, x: unknown): asserts x is tf.Tensor4D {
  if (!isTensor(x)) throw new DLArgumentError(where, name, 'a tf.Tensor', x);
  if (x.rank !== 4) throw new DLArgumentError(where, name, 'a 4-D NHWC tensor [N, H, W, C]', x);
  if (x.dtype !== 'float32') throw new DLArgumentError(where, name, 'a float32 tensor', x);
}

/**
 * Every patch of NHWC images as one row (im2col; PyTorch's `F.unfold`, here in NHWC order): output
 * `[N, oH, oW, kh·kw·C]` where `out[b, y, x, (i·kw + j)·C + c] = x[b, y·sh − top + i·dh, x·sw − left + j·dw, c]`
 * (zeros outside the image), oH = ⌊(H + top + bottom − dh·(kh − 1) − 1) / sh⌋ + 1 and likewise oW. A
 * convolution with a `[kh, kw, C, out]` kernel is then `matMul(reshape(patches, [N·oH·oW, kh·kw·C]),
 * reshape(kernel, [kh·kw·C, out]))`. PyTorch's unfold orders a row (c, i, j) and puts it on axis 1
 * (`[N, C·kh·kw, L]`); transpose to compare. Differentiable (the gradient is {@link col2im}). On the wasm
 * backend it runs in @dl/core's SIMD module; elsewhere it is a convolution with a one-hot kernel
 * (`kh·kw·C²` weights: meant for the channel counts of small networks).
 *
 * @param x images `[N, H, W, C]`, float32.
 * @param options kernelSize, stride, padding, dilation.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { im2col } from '@dl/core';
 * const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
 * const p = im2col(x, { kernelSize: 2 }); // [1, 2, 2, 4]: [[1, 2, 4, 5], [2, 3, 5, 6]], [[4, 5, 7, 8], [5, 6, 8, 9]]
 * ```
 */
export function im2col(x: tf.Tensor4D, options: PatchOptions): tf.Tensor4D {
  checkImage('im2col', 'x', x);
  const g = geometry('im2col', x.shape, options);
  if (kernelsUsable(x)) {
    register();
    return tf.engine().runKernel('DLIm2Col', { x }, attrsOf(g)) as tf.Tensor4D;
  }
  return tf.tidy(() => tf.conv2d(x, oneHotKernel(g), [g.sh, g.sw], explicit(g))); // [N, oH, oW, kh·kw·C]
}

/**
 * The adjoint of {@link im2col} (PyTorch's `F.fold`, NHWC): adds every row of `cols` `[N, oH, oW, kh·kw·C]`
 * back onto the pixels its values came from, giving images of `inputShape` `[N, H, W, C]` (values that
 * fell on padding are dropped; a pixel several patches share gets their sum). With the same options,
 * `col2im(g, x.shape, o)` is the gradient of `im2col(x, o)` for the output gradient `g`: the input gradient of a
 * convolution is `col2im(reshape(matMul(g, kernelᵀ)), …)`. Differentiable (its gradient is
 * `im2col`). On the wasm backend it runs in @dl/core's SIMD module, elsewhere as a transposed
 * convolution with a one-hot kernel.
 *
 * @param cols patch rows `[N, oH, oW, kh·kw·C]`, float32 (oH, oW as `im2col` gives for `inputShape`).
 * @param inputShape the images' shape `[N, H, W, C]`.
 * @param options the options `im2col` took.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { col2im, im2col } from '@dl/core';
 * const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
 * const counts = col2im(im2col(x, { kernelSize: 2 }), [1, 3, 3, 1], { kernelSize: 2 });
 * // [1, 3, 3, 1]: how many 2 × 2 patches cover each pixel: [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
 * ```
 */
export function col2im(cols: tf.Tensor4D, inputShape: readonly [number, number, number, number], options: PatchOptions): tf.Tensor4D {
  checkImage('col2im', 'cols', cols);
  if (!Array.isArray(inputShape) || inputShape.length !== 4 || !inputShape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new DLArgumentError('col2im', 'inputShape', 'the images\' shape [N, H, W, C]', inputShape);
  }
  const g = geometry('col2im', inputShape, options);
  const expected = [g.n, g.oh, g.ow, g.kh * g.kw * g.c];
  if (cols.shape.join(',') !== expected.join(',')) {
    throw new DLArgumentError('col2im', 'cols', `of shape [${expected.join(', ')}] (im2col of [${inputShape.join(', ')}] with these options)`, cols);
  }
  if (kernelsUsable(cols)) {
    register();
    return tf.engine().runKernel('DLCol2Im', { x: cols }, attrsOf(g)) as tf.Tensor4D;
  }
  return tf.tidy(() => tf.conv2dTranspose(cols, oneHotKernel(g), [...inputShape] as [number, number, number, number], [g.sh, g.sw], explicit(g))); // [N, H, W, C]
}
