import * as tf from '@tensorflow/tfjs-core';
import { dilateKernel } from './dilate-kernel.js';
import { checkKeys, DLArgumentError } from './errors.js';
import { args, attrsOf, fromAttrs, geometry, type Geometry } from './patches.js';
import { isTensor } from './tensor-check.js';
import { heapOffset, kernelsFor, kernelsUsable, wasmInternals, type WasmBackendInternals } from './wasm-kernels.js';

// Depthwise convolution (every channel convolved with its own filters: MobileNet's and ConvNeXt's spatial
// convolutions, PyTorch's Conv2d with groups = in_channels). tfjs-backend-wasm has the forward kernel
// (XNNPACK) but neither gradient: both fell back to tfjs-backend-cpu's scalar loops, ~1.3 s a step for
// 64 channels of 16 × 28 × 28 images against a forward pass of ~6 ms. On wasm both gradients run in
// @dl/core's SIMD module (src/wasm/patches.c). tfjs-backend-cpu's own filter gradient is the same slow
// loop: there it is one forward depthwise convolution. Elsewhere this is tfjs's depthwiseConv2d.

/** Options of {@link depthwiseConv2d}. */
export interface DepthwiseConv2dOptions {
  /** Step between windows. Default 1. */
  stride?: number | readonly [number, number];
  /** Zeros around the image: `p`, `[ph, pw]` (both sides) or `[[top, bottom], [left, right]]`. Default 0. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
  /** Spacing between a window's taps. Default 1. */
  dilation?: number | readonly [number, number];
}

const KEYS = ['stride', 'padding', 'dilation'];

/** What the kernels carry: the geometry (kernel, stride, dilation, padding) and the channel multiplier. */
interface DepthwiseAttrs {
  geometry: Geometry;
  multiplier: number;
}

const attrsFor = (g: Geometry, multiplier: number) => ({ ...attrsOf(g), multiplier }) as unknown as tf.NamedAttrMap;
const explicit = (g: Geometry) => [[0, 0], g.pads[0], g.pads[1], [0, 0]] as tf.backend_util.ExplicitPadding;

/** tfjs's attributes of a depthwise convolution (and of its input gradient, with `inputShape`) for a geometry. */
const tfjsAttrs = (g: Geometry) => ({ strides: [g.sh, g.sw], pad: explicit(g), dilations: [g.dh, g.dw], dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: [g.n, g.h, g.w, g.c] }) as unknown as tf.NamedAttrMap;

/** The forward kernel on `backendName`: that backend's own DepthwiseConv2dNative. */
function forwardKernel(backendName: string): tf.KernelFunc {
  const native = tf.getKernel('DepthwiseConv2dNative', backendName)!;
  return ({ inputs, backend, attrs }) => native.kernelFunc({ inputs, backend, attrs: tfjsAttrs(fromAttrs(attrs)) }) as tf.TensorInfo;
}

/**
 * The filter gradient on the cpu backend, whose DepthwiseConv2dNativeBackpropFilter is a scalar loop
 * (~2 s for 64 channels of 16 × 28 × 28 images), as one forward depthwise convolution: with every
 * (channel, image) pair as a channel of one image, the output gradient is the filter and the stride the
 * dilation: dW[i, j, c, k] = Σ_{n,r,q} xpad[n, i + r·sh, j + q·sw, c] · g[n, r, q, c·m + k] (dilation 1 here:
 * the cpu path spreads a dilated filter first).
 */
function filterGradientByConv(x: tf.Tensor, dy: tf.Tensor, g: Geometry, m: number): tf.Tensor {
  return tf.tidy(() => {
    const xp = tf.pad(x, [[0, 0], g.pads[0], g.pads[1], [0, 0]]); // [N, Hp, Wp, C]
    const [hp, wp] = [xp.shape[1] as number, xp.shape[2] as number];
    const images = tf.reshape(tf.transpose(xp, [1, 2, 3, 0]), [1, hp, wp, g.c * g.n]) as tf.Tensor4D; // [1, Hp, Wp, C·N]
    const filters = tf.reshape(tf.transpose(tf.reshape(dy, [g.n, g.oh, g.ow, g.c, m]), [1, 2, 3, 0, 4]), [g.oh, g.ow, g.c * g.n, m]) as tf.Tensor4D; // [oH, oW, C·N, m]
    const full = tf.depthwiseConv2d(images, filters, 1, 'valid', 'NHWC', [g.sh, g.sw]); // [1, ≥kh, ≥kw, C·N·m]
    const taps = tf.slice(full, [0, 0, 0, 0], [1, g.kh, g.kw, g.c * g.n * m]); // [1, kh, kw, C·N·m]
    return tf.sum(tf.reshape(taps, [g.kh, g.kw, g.c, g.n, m]), 3); // [kh, kw, C, m]
  });
}

function gradKernel(which: 'filter' | 'input', { inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const k = kernelsFor(wb)!;
  const { geometry: g, multiplier: m } = attrs as unknown as DepthwiseAttrs;
  const shape = which === 'filter' ? [g.kh, g.kw, g.c, m] : [g.n, g.h, g.w, g.c];
  const out = wb.makeOutput(shape, 'float32'); // allocates: offsets after this
  if (shape.every((d) => d > 0)) {
    const a = inputs.a as tf.TensorInfo;
    const b = inputs.b as tf.TensorInfo;
    const pointers = [a.shape.every((d) => d > 0) ? heapOffset(wb, a) : 0, b.shape.every((d) => d > 0) ? heapOffset(wb, b) : 0, heapOffset(wb, out)];
    if (which === 'filter') k.exports.depthwise_filter_grad(...args(g), m, ...pointers);
    else k.exports.depthwise_input_grad(...args(g), m, ...pointers);
  }
  return out;
}

const registered = new Set<string>();

/**
 * Registers `DLDepthwiseConv2D` for wasm or cpu (the backend's own forward kernel) and, once, its gradient:
 * on wasm both parts in the module; on cpu tfjs's input-gradient kernel and the filter gradient as a forward convolution.
 */
function register(backendName: 'wasm' | 'cpu'): void {
  if (registered.has(backendName)) return;
  if (backendName === 'wasm') {
    // a: the images (filter gradient) or the output gradient (input gradient); b: the output gradient or the filter.
    tf.registerKernel({ kernelName: 'DLDepthwiseFilterGrad', backendName: 'wasm', kernelFunc: ((call: Parameters<tf.KernelFunc>[0]) => gradKernel('filter', call)) as tf.KernelFunc });
    tf.registerKernel({ kernelName: 'DLDepthwiseInputGrad', backendName: 'wasm', kernelFunc: ((call: Parameters<tf.KernelFunc>[0]) => gradKernel('input', call)) as tf.KernelFunc });
  }
  tf.registerKernel({ kernelName: 'DLDepthwiseConv2D', backendName, kernelFunc: forwardKernel(backendName) });
  if (registered.size === 0) registerGradient();
  registered.add(backendName);
}

function registerGradient(): void {
  tf.registerGradient({
    kernelName: 'DLDepthwiseConv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved;
      const m = (attrs as unknown as DepthwiseAttrs).multiplier;
      const g = fromAttrs(attrs);
      if (tf.getBackend() === 'cpu') {
        return {
          x: () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy as tf.Tensor, filter }, tfjsAttrs(g)) as tf.Tensor, // [N, H, W, C]
          filter: () => filterGradientByConv(x, dy as tf.Tensor, g, m), // [kh, kw, C, m]
        };
      }
      return {
        x: () => tf.engine().runKernel('DLDepthwiseInputGrad', { a: dy as tf.Tensor, b: filter }, attrsFor(g, m)) as tf.Tensor, // [N, H, W, C]
        filter: () => tf.engine().runKernel('DLDepthwiseFilterGrad', { a: x, b: dy as tf.Tensor }, attrsFor(g, m)) as tf.Tensor, // [kh, kw, C, m]
      };
    },
  });
}

/**
 * Depthwise 2-D convolution of NHWC images (PyTorch's `F.conv2d` with `groups = C`, here with the filter in
 * tfjs's `[kh, kw, C, m]` layout): every channel `c` is convolved with its own `m` filters, giving output
 * channels `c·m + j`:
 * `y[b, y, x, c·m + j] = Σ_{i, k} x[b, y·sh − top + i·dh, x·sw − left + k·dw, c] · filter[i, k, c, j]` (zeros
 * outside the image). Output size per axis: ⌊(n + before + after − d·(k − 1) − 1) / s⌋ + 1. Differentiable
 * with respect to both inputs. On the wasm backend the forward pass is tfjs's kernel (XNNPACK) and both
 * gradients run in @dl/core's SIMD module (tfjs-backend-wasm has neither); on cpu the filter gradient is
 * one forward convolution (tfjs's is a scalar loop); on both, a gradient of these gradients is not available;
 * elsewhere it is tfjs's `depthwiseConv2d` (dilation through {@link dilateKernel}, since tfjs's gradient
 * refuses dilation > 1).
 *
 * @param x images `[N, H, W, C]`, float32.
 * @param filter `[kh, kw, C, m]`, float32 (m filters per channel; m = 1 for PyTorch's `out = in`).
 * @param options stride, padding, dilation.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { depthwiseConv2d } from '@dl/core';
 * const x = tf.ones([1, 4, 4, 2]) as tf.Tensor4D;
 * const filter = tf.ones([3, 3, 2, 1]) as tf.Tensor4D; // one 3 × 3 filter per channel
 * const y = depthwiseConv2d(x, filter, { padding: 1 }); // [1, 4, 4, 2]: 4 in the corners, 6 on the edges, 9 inside
 * ```
 */
export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, options: DepthwiseConv2dOptions = {}): tf.Tensor4D {
  for (const [name, t] of [['x', x], ['filter', filter]] as const) {
    if (!isTensor(t)) throw new DLArgumentError('depthwiseConv2d', name, 'a tf.Tensor', t);
    if (t.rank !== 4) throw new DLArgumentError('depthwiseConv2d', name, name === 'x' ? 'a 4-D NHWC tensor [N, H, W, C]' : 'a 4-D filter [kh, kw, C, m]', t);
    if (t.dtype !== 'float32') throw new DLArgumentError('depthwiseConv2d', name, 'a float32 tensor', t);
  }
  if (filter.shape[2] !== x.shape[3]) throw new DLArgumentError('depthwiseConv2d', 'filter', `of shape [kh, kw, ${x.shape[3]}, m] (one set of filters per channel of x)`, filter);
  if (options == null || typeof options !== 'object') throw new DLArgumentError('depthwiseConv2d', 'options', 'an object', options);
  const [kh, kw, , m] = filter.shape;
  if (kh < 1 || kw < 1 || m < 1) throw new DLArgumentError('depthwiseConv2d', 'filter', 'a filter with at least one tap and one filter per channel', filter);
  checkKeys('depthwiseConv2d', options, KEYS);
  let g: Geometry;
  try {
    g = geometry('depthwiseConv2d', x.shape, { ...options, kernelSize: [kh, kw] });
  } catch (e) {
    // The kernel size is the filter's here: name the argument the caller gave.
    if (e instanceof DLArgumentError && e.argument === 'kernelSize') throw new DLArgumentError('depthwiseConv2d', 'filter', `a (dilated) filter that fits the padded ${x.shape[1]} × ${x.shape[2]} image`, filter);
    throw e;
  }
  if (kernelsUsable(x) && tf.getKernel('DepthwiseConv2dNative', 'wasm')) {
    register('wasm');
    return tf.engine().runKernel('DLDepthwiseConv2D', { x, filter }, attrsFor(g, m)) as tf.Tensor4D; // [N, oH, oW, C·m]
  }
  if (tf.getBackend() === 'cpu' && tf.getKernel('DepthwiseConv2dNative', 'cpu') && tf.getKernel('DepthwiseConv2dNativeBackpropInput', 'cpu')) {
    register('cpu');
    // tfjs's input-gradient kernel is used with dilation 1: a dilated filter is spread out first (autodiff
    // takes its gradient back to the taps).
    return tf.tidy(() => {
      const spread = dilateKernel(filter, [g.dh, g.dw]); // [ekh, ekw, C, m]
      const plain = { ...g, kh: spread.shape[0], kw: spread.shape[1], dh: 1, dw: 1 };
      return tf.engine().runKernel('DLDepthwiseConv2D', { x, filter: spread }, attrsFor(plain, m)) as tf.Tensor4D; // [N, oH, oW, C·m]
    });
  }
  return tf.tidy(() => tf.depthwiseConv2d(x, dilateKernel(filter, [g.dh, g.dw]), [g.sh, g.sw], explicit(g))); // [N, oH, oW, C·m]
}
