import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from './errors.js';
import { args, attrsOf, fromAttrs, geometry, type Geometry } from './patches.js';
import { isTensor } from './tensor-check.js';
import { heapOffset, kernelsFor, kernelsUsable, wasmInternals, type HeapInternals, type WasmBackendInternals } from './wasm-kernels.js';

// Max pooling with PyTorch's semantics: padding never wins (it is not read), and the gradient goes to
// the first largest value of each window. On tfjs's wasm backend it runs in @dl/core's SIMD module
// (src/wasm/patches.c), forward with the winners' positions and backward as one scatter; tfjs 4.22's
// wasm MaxPoolGrad returns wrong gradients for some inputs, so without the module wasm pools through
// plain differentiable ops. Elsewhere it is tfjs's maxPool.

/** Options of {@link maxPool2d}. */
export interface MaxPoolOptions {
  /** Window size `k` or `[kh, kw]`. */
  kernelSize: number | readonly [number, number];
  /** Step between windows. Default: the window size. */
  stride?: number | readonly [number, number];
  /** Cells around the image that never win: `p`, `[ph, pw]` or `[[top, bottom], [left, right]]` (e.g. PyTorch's `ceil_mode` as extra bottom/right cells). Default 0. */
  padding?: number | readonly [number, number] | readonly [readonly [number, number], readonly [number, number]];
}

const KEYS = ['kernelSize', 'stride', 'padding'];
const LOWEST = -3.4028234663852886e38;

function forwardKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const wb = wasmInternals(backend) as HeapInternals;
  const k = kernelsFor(wb)!;
  const g = fromAttrs(attrs);
  const shape = [g.n, g.oh, g.ow, g.c];
  const y = wb.makeOutput(shape, 'float32'); // allocates: offsets after this
  const idx = wb.makeOutput(shape, 'int32');
  if (g.n * g.c > 0) k.exports.max_pool(...args(g), heapOffset(wb, inputs.x as tf.TensorInfo), heapOffset(wb, y), heapOffset(wb, idx));
  return [y, idx];
}

function gradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const k = kernelsFor(wb)!;
  const g = fromAttrs(attrs);
  const dx = wb.makeOutput([g.n, g.h, g.w, g.c], 'float32'); // allocates: offsets after this
  if (g.n * g.h * g.w * g.c > 0) k.exports.max_pool_grad(g.n, g.h * g.w, g.c, g.oh * g.ow, heapOffset(wb, inputs.dy as tf.TensorInfo), heapOffset(wb, inputs.idx as tf.TensorInfo), heapOffset(wb, dx));
  return dx;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: 'DLMaxPool', backendName: 'wasm', kernelFunc: forwardKernel as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: 'DLMaxPoolGrad', backendName: 'wasm', kernelFunc: gradKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: 'DLMaxPool',
    outputsToSave: [false, true],
    gradFunc: (dy, saved, attrs) => {
      const [idx] = saved;
      const dyY = (Array.isArray(dy) ? dy[0] : dy) as tf.Tensor;
      return { x: () => tf.engine().runKernel('DLMaxPoolGrad', { dy: dyY, idx }, attrs) as tf.Tensor };
    },
  });
  // The gradient of the gradient (double backward): dy's gradient reads the winners back.
  tf.registerGradient({
    kernelName: 'DLMaxPoolGrad',
    inputsToSave: ['idx'],
    gradFunc: (ddx, saved, attrs) => {
      const [idx] = saved;
      const g = fromAttrs(attrs);
      return {
        dy: () =>
          tf.tidy(() => {
            // ddy[b, p, c] = ddx[b, idx[b, p, c], c]: gather over the flattened pixels of each image and channel.
            const flat = tf.reshape(tf.transpose(ddx as tf.Tensor, [0, 3, 1, 2]), [g.n * g.c, g.h * g.w]); // [N·C, H·W]
            const at = tf.reshape(tf.transpose(tf.maximum(idx, tf.scalar(0, 'int32')), [0, 3, 1, 2]), [g.n * g.c, g.oh * g.ow]); // [N·C, oH·oW]
            const picked = tf.gather(flat, at, 1, 1); // [N·C, oH·oW]
            const valid = tf.reshape(tf.transpose(tf.cast(tf.greaterEqual(idx, 0), 'float32'), [0, 3, 1, 2]), [g.n * g.c, g.oh * g.ow]);
            return tf.transpose(tf.reshape(tf.mul(picked, valid), [g.n, g.c, g.oh, g.ow]), [0, 2, 3, 1]); // [N, oH, oW, C]
          }),
        idx: () => tf.zerosLike(idx),
      };
    },
  });
}

/** Pooling through plain differentiable ops (wasm without @dl/core's module): windows of a −∞-padded copy. */
function maxPoolByWindows(x: tf.Tensor4D, g: Geometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { n, c, oh, ow, kh, kw, sh, sw } = g;
    const pads = [[0, 0], g.pads[0], g.pads[1], [0, 0]] as [number, number][];
    const xp = pads.some(([a, b]) => a || b) ? tf.pad(x, pads, LOWEST) : x; // [N, Hp, Wp, C]
    if (kh === sh && kw === sw) {
      const whole = oh * kh === xp.shape[1] && ow * kw === xp.shape[2]; // tfjs copies even a slice of everything
      const cropped = whole ? xp : tf.slice(xp, [0, 0, 0, 0], [n, oh * kh, ow * kw, c]); // [N, oh·kh, ow·kw, C]
      return tf.max(tf.reshape(cropped, [n, oh, kh, ow, kw, c]), [2, 4]) as tf.Tensor4D; // [N, oh, ow, C]
    }
    let y: tf.Tensor | null = null;
    for (let i = 0; i < kh; i++) {
      const rows = tf.gather(xp, tf.tensor1d(Array.from({ length: oh }, (_, r) => i + r * sh), 'int32'), 1); // [N, oh, Wp, C]
      for (let j = 0; j < kw; j++) {
        const win = tf.gather(rows, tf.tensor1d(Array.from({ length: ow }, (_, q) => j + q * sw), 'int32'), 2); // [N, oh, ow, C]
        y = y ? tf.maximum(y, win) : win;
      }
    }
    return y as tf.Tensor4D;
  });
}

/**
 * Max pooling over NHWC images with PyTorch's semantics (`F.max_pool2d`): each output is the largest
 * value of its window, padding cells never win, and the gradient goes to the first largest value of
 * each window (ties do not share it). Output size per axis: ⌊(n + before + after − k) / s⌋ + 1 (give
 * PyTorch's `ceil_mode` as extra `after` cells). On the wasm backend it runs in @dl/core's SIMD module,
 * forward and backward; elsewhere it is tfjs's `maxPool`.
 *
 * @param x images `[N, H, W, C]`, float32.
 * @param options kernelSize, stride (default the window), padding.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { maxPool2d } from '@dl/core';
 * const x = tf.tensor4d([1, 5, 2, 0, 3, 4, 8, 1, 0, 2, 7, 6, 1, 1, 3, 9], [1, 4, 4, 1]);
 * const y = maxPool2d(x, { kernelSize: 2 }); // [1, 2, 2, 1]: [[5, 8], [2, 9]]
 * ```
 */
export function maxPool2d(x: tf.Tensor4D, options: MaxPoolOptions): tf.Tensor4D {
  if (!isTensor(x)) throw new DLArgumentError('maxPool2d', 'x', 'a tf.Tensor', x);
  if (x.rank !== 4) throw new DLArgumentError('maxPool2d', 'x', 'a 4-D NHWC tensor [N, H, W, C]', x);
  if (x.dtype !== 'float32') throw new DLArgumentError('maxPool2d', 'x', 'a float32 tensor', x);
  const g = geometry('maxPool2d', x.shape, options, KEYS, options?.kernelSize);
  const [kh, kw] = [g.kh, g.kw];
  // Every window must reach a pixel (else it would have no winner): PyTorch keeps padding to half the window.
  const [[t], [l]] = g.pads;
  if (t >= kh || l >= kw || (g.oh - 1) * g.sh - t >= g.h || (g.ow - 1) * g.sw - l >= g.w) {
    throw new DLArgumentError('maxPool2d', 'padding', `such that every window [${kh}, ${kw}] reaches a pixel (less than the window before the image, and no window wholly after it)`, g.pads);
  }
  if (kernelsUsable(x)) {
    register();
    const [y, idx] = tf.engine().runKernel('DLMaxPool', { x }, attrsOf(g)) as unknown as tf.Tensor[];
    idx.dispose(); // the gradient keeps its own copy
    return y as tf.Tensor4D;
  }
  if (tf.getBackend() === 'wasm') return maxPoolByWindows(x, g);
  const none = g.pads.every(([a, b]) => a === 0 && b === 0);
  return tf.maxPool(x, [kh, kw], [g.sh, g.sw], none ? 'valid' : ([[0, 0], g.pads[0], g.pads[1], [0, 0]] as tf.backend_util.ExplicitPadding)); // [N, oH, oW, C]
}
