import * as tf from '@tensorflow/tfjs-core';
import { col2im, matMul, reluBackward, wasmKernelsActive } from '@dl/core';

// The convolution kernels @dl/cnn registers with tfjs on the cpu and wasm backends, where tfjs's own
// gradients are slow: `DLConv2D` (Conv2d, groups 1 or each group of a grouped one) and `DLConvTranspose2D`
// (ConvTranspose2d on cpu; on wasm a transposed convolution is col2im(x · Wᵀ) in @dl/core's kernels). Each
// runs tfjs's forward kernel under a name whose gradient is ours: computed input by input, only where
// something needs it, the filter gradient as one forward convolution.

/**
 * Backends whose filter gradient is slow (tfjs-backend-cpu's Conv2DBackpropFilter is a scalar loop,
 * ~25× the forward pass for LeNet) or missing (wasm, which then runs the same cpu loop): on these the
 * filter gradient is computed as one forward convolution (batch as channels, the output gradient as the
 * filter), which their Conv2D kernels do fast.
 */
const FAST_FILTER_GRAD = new Set(['cpu', 'wasm']);

/** Whether convolutions on `backend` run as @dl/cnn's kernels below (`DLConv2D`, `DLConvTranspose2D`). */
export function ownConvKernels(backend: string): boolean {
  return FAST_FILTER_GRAD.has(backend);
}

/** What the tfjs ops get: 'valid' or explicit `[[0, 0], [top, bottom], [left, right], [0, 0]]`, never one number. */
export type ExplicitPad = 'valid' | [[number, number], [number, number], [number, number], [number, number]];

/**
 * The gradient of a convolution with respect to its input. On wasm with @dl/core's kernels it is
 * col2im(g · Wᵀ), any stride. Otherwise, with stride 1 and padding p ≤ k − 1, a forward convolution of the
 * output gradient, padded by k − 1 − p, with the kernel flipped in space and its in/out axes swapped
 * (dx[h, w, c] = Σ g[h + p − i, w + p − j, o] · k[i, j, c, o]: 1.6× and 4× faster than tfjs's
 * `Conv2DBackpropInput` for LeNet's two layers on wasm without the module, `tf.profile`); else tfjs's
 * `conv2dTranspose`.
 */
function inputGradient(
  g: tf.Tensor4D,
  k: tf.Tensor4D,
  xShape: [number, number, number, number],
  stride: [number, number],
  pads: [[number, number], [number, number]],
  pad: ExplicitPad,
): tf.Tensor4D {
  const [kh, kw, cin, cout] = k.shape;
  if (tf.getBackend() === 'wasm' && wasmKernelsActive()) {
    // col2im(g · Wᵀ): one product in @dl/core's matrix kernels and one scatter-add of patches, any stride.
    const [n, oh, ow] = g.shape;
    const rows = matMul(tf.reshape(g, [n * oh * ow, cout]), tf.reshape(k, [kh * kw * cin, cout]), false, true); // [N·oH·oW, kh·kw·in]
    return col2im(tf.reshape(rows, [n, oh, ow, kh * kw * cin]) as tf.Tensor4D, xShape, { kernelSize: [kh, kw], stride, padding: pads }); // [N, H, W, in]
  }
  const full = [kh - 1 - pads[0][0], kh - 1 - pads[0][1], kw - 1 - pads[1][0], kw - 1 - pads[1][1]];
  if (stride[0] !== 1 || stride[1] !== 1 || full.some((p) => p < 0)) return tf.conv2dTranspose(g, k, xShape, stride, pad); // [N, H, W, in]
  const flipped = tf.transpose(tf.reverse(k, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D; // [kh, kw, out, in]
  const gp = tf.pad(g, [[0, 0], [full[0], full[1]], [full[2], full[3]], [0, 0]]); // [N, H + kh − 1, W + kw − 1, out]
  return tf.conv2d(gp, flipped, 1, 'valid'); // [N, H, W, in]
}

/**
 * The filter gradient as a forward convolution: dW[i, j, c, o] = Σ_{n,r,q} xpad[n, i + s·r, j + s·q, c] ·
 * g[n, r, q, o], a convolution with the batch as the channel axis and g as the filter, dilated by the stride.
 */
function filterGradient(x: tf.Tensor4D, g: tf.Tensor4D, kShape: number[], stride: [number, number], pads: [[number, number], [number, number]]): tf.Tensor4D {
  const [kh, kw, cin, cout] = kShape;
  const xt = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D; // [in, H, W, N]
  const gt = tf.transpose(g, [1, 2, 0, 3]) as tf.Tensor4D; // [oH, oW, N, out]
  // The padding goes to the convolution (explicit), not through a padded copy of x.
  const none = pads.every(([a, b]) => a === 0 && b === 0);
  const full = tf.conv2d(xt, gt, 1, none ? 'valid' : ([[0, 0], pads[0], pads[1], [0, 0]] as tf.backend_util.ExplicitPadding), 'NHWC', stride); // [in, ≥kh, ≥kw, out]
  const exact = full.shape[1] === kh && full.shape[2] === kw;
  return tf.transpose(exact ? full : tf.slice(full, [0, 0, 0, 0], [cin, kh, kw, cout]), [1, 2, 0, 3]); // [kh, kw, in, out]
}

/** What `DLConv2D` carries besides its inputs. */
interface ConvAttrs {
  stride: [number, number];
  pads: [[number, number], [number, number]];
  pad: ExplicitPad;
  activation: 'linear' | 'relu';
}

const CONV_KERNEL = 'DLConv2D';
const convBackends = new Set<string>();

/**
 * `DLConv2D`: tfjs's own fused convolution kernel (bias and ReLU included) under a name whose gradient is
 * ours, registered lazily per backend. A gradient registered for a kernel is computed input by input,
 * and only for the inputs something needs: a network's first layer, whose input is data, gets no input
 * gradient (tfjs's `customGrad` computes every input's gradient, and tfjs's conv2d gradient is ours to
 * replace anyway, see `inputGradient`). Returns false where the backend has no FusedConv2D kernel.
 */
function registerConv(backendName: string): boolean {
  if (convBackends.has(backendName)) return true;
  const fused = tf.getKernel('FusedConv2D', backendName);
  if (!fused) return false;
  tf.registerKernel({
    kernelName: CONV_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvAttrs;
      return fused.kernelFunc({
        inputs,
        backend,
        attrs: { strides: a.stride, pad: a.pad, dilations: [1, 1], dataFormat: 'NHWC', dimRoundingMode: undefined, activation: a.activation, leakyreluAlpha: 0 } as unknown as tf.NamedAttrMap,
      });
    },
  });
  if (convBackends.size === 0) {
    tf.registerGradient({
      kernelName: CONV_KERNEL,
      inputsToSave: ['x', 'filter'],
      outputsToSave: [true],
      gradFunc: (dy, saved, attrs) => {
        const [x, k, y] = saved as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
        const { stride, pads, pad, activation } = attrs as unknown as ConvAttrs;
        // Made once here, outside the per-input scopes, so every input's gradient can use it.
        const g = (activation === 'relu' ? reluBackward(dy as tf.Tensor, y) : dy) as tf.Tensor4D; // [N, oH, oW, out]
        return {
          x: () => inputGradient(g, k, x.shape, stride, pads, pad), // [N, H, W, in]
          filter: () => filterGradient(x, g, k.shape, stride, pads), // [kh, kw, in, out]
          bias: () => tf.sum(g, [0, 1, 2]), // [out]
        };
      },
    });
  }
  convBackends.add(backendName);
  return true;
}

/**
 * Conv + bias + activation as `DLConv2D` (see `registerConv`): tfjs's fused forward kernel, and gradients
 * only for the inputs that need one, the filter's as a forward convolution. Plain tfjs where the backend
 * has no fused kernel.
 */
export function fusedConv2d(
  x: tf.Tensor4D,
  k: tf.Tensor4D,
  bias: tf.Tensor | null,
  stride: [number, number],
  pads: [[number, number], [number, number]],
  pad: ExplicitPad,
  activation: 'linear' | 'relu',
): tf.Tensor4D {
  if (!registerConv(tf.getBackend())) return tf.fused.conv2d({ x, filter: k, strides: stride, pad, bias: bias ?? undefined, activation }); // [N, oH, oW, out]
  const inputs: tf.NamedTensorMap = bias ? { x, filter: k, bias } : { x, filter: k };
  const attrs: ConvAttrs = { stride, pads, pad, activation };
  return tf.engine().runKernel(CONV_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D; // [N, oH, oW, out]
}

/** What `DLConvTranspose2D` carries besides its inputs. */
interface ConvTransposeAttrs {
  stride: [number, number];
  /** The full output `[N, (H − 1)·sh + kh, (W − 1)·sw + kw, out]` (no padding removed). */
  outShape: [number, number, number, number];
}

const CONV_TRANSPOSE_KERNEL = 'DLConvTranspose2D';
const convTransposeBackends = new Set<string>();

/**
 * `DLConvTranspose2D`: tfjs's `Conv2DBackpropInput` kernel (a transposed convolution is the input gradient
 * of a convolution) under a name whose gradient is ours, registered lazily per backend. The input's
 * gradient is the forward convolution of the output gradient with the same kernel; the filter's is
 * `filterGradient` with the output gradient as the images and the input as the gradient, one forward
 * convolution where tfjs would run its `Conv2DBackpropFilter` (a scalar loop on cpu, and on wasm, which
 * lacks the kernel, the same loop). Returns false where the backend has no Conv2DBackpropInput kernel.
 */
function registerConvTranspose(backendName: string): boolean {
  if (convTransposeBackends.has(backendName)) return true;
  const backprop = tf.getKernel('Conv2DBackpropInput', backendName);
  if (!backprop) return false;
  tf.registerKernel({
    kernelName: CONV_TRANSPOSE_KERNEL,
    backendName,
    kernelFunc: ({ inputs, backend, attrs }) => {
      const a = attrs as unknown as ConvTransposeAttrs;
      return backprop.kernelFunc({
        inputs: { dy: inputs.x, filter: inputs.filter },
        backend,
        attrs: { inputShape: a.outShape, strides: a.stride, pad: 'valid', dataFormat: 'NHWC', dimRoundingMode: undefined } as unknown as tf.NamedAttrMap,
      });
    },
  });
  if (convTransposeBackends.size === 0) {
    tf.registerGradient({
      kernelName: CONV_TRANSPOSE_KERNEL,
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        const [x, k] = saved as [tf.Tensor4D, tf.Tensor4D];
        const { stride } = attrs as unknown as ConvTransposeAttrs;
        const g = dy as tf.Tensor4D; // [N, fullH, fullW, out]
        return {
          x: () => tf.conv2d(g, k, stride, 'valid'), // [N, H, W, in]
          filter: () => filterGradient(g, x, k.shape, stride, [[0, 0], [0, 0]]), // [kh, kw, out, in]
        };
      },
    });
  }
  convTransposeBackends.add(backendName);
  return true;
}

/**
 * The full transposed convolution of NHWC `x` `[N, H, W, in]` with `k` `[kh, kw, out, in]` and stride `s`:
 * `[N, (H − 1)·sh + kh, (W − 1)·sw + kw, out]`, nothing cropped. As `DLConvTranspose2D` on cpu and wasm
 * (see `registerConvTranspose`), elsewhere tfjs's `conv2dTranspose`.
 */
export function convTranspose2dFull(x: tf.Tensor4D, k: tf.Tensor4D, stride: [number, number]): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const [kh, kw, out] = k.shape;
  const outShape: [number, number, number, number] = [n, (h - 1) * stride[0] + kh, (w - 1) * stride[1] + kw, out];
  if (tf.getBackend() === 'wasm' && wasmKernelsActive()) {
    // col2im(x · Wᵀ): one product in @dl/core's matrix kernels and one scatter-add of patches; autodiff
    // gives the gradients (im2col and two products).
    const rows = matMul(tf.reshape(x, [n * h * w, x.shape[3]]), tf.reshape(k, [kh * kw * out, x.shape[3]]), false, true); // [N·H·W, kh·kw·out]
    return col2im(tf.reshape(rows, [n, h, w, kh * kw * out]) as tf.Tensor4D, outShape, { kernelSize: [kh, kw], stride }); // [N, fullH, fullW, out]
  }
  if (!ownConvKernels(tf.getBackend()) || !registerConvTranspose(tf.getBackend())) return tf.conv2dTranspose(x, k, outShape, stride, 'valid'); // [N, fullH, fullW, out]
  const attrs: ConvTransposeAttrs = { stride, outShape };
  return tf.engine().runKernel(CONV_TRANSPOSE_KERNEL, { x, filter: k }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D; // [N, fullH, fullW, out]
}
