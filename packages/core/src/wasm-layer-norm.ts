import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, kernelsFor, wasmInternals, type WasmBackendInternals } from './wasm-kernels.js';

// LayerNorm on tfjs's wasm backend: the forward pass in @dl/core's SIMD module (src/wasm/norm.c), the
// backward pass as ~16 tfjs ops written out (the statistics recomputed, then the closed-form gradient)
// instead of autodiff through tf.moments (~60 kernels forward and backward together). The backward is made
// of differentiable ops of x, so a second derivative (a gradient penalty through a LayerNorm) works as with
// plain ops.

/** What DLLayerNorm carries: eps, the normalised size and the number of normalised axes. */
interface LayerNormAttrs {
  eps: number;
  cols: number;
  k: number;
}

function kernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const wb = wasmInternals(backend) as WasmBackendInternals;
  const g = kernelsFor(wb)!;
  const { eps, cols } = attrs as unknown as LayerNormAttrs;
  const x = inputs.x as tf.TensorInfo;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const y = wb.makeOutput(x.shape, 'float32'); // allocates: offsets after this
  if (size > 0) g.exports.layer_norm(size / cols, cols, heapOffset(wb, x), heapOffset(wb, inputs.gamma as tf.TensorInfo), heapOffset(wb, inputs.beta as tf.TensorInfo), eps, heapOffset(wb, y));
  return y;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: 'DLLayerNorm', backendName: 'wasm', kernelFunc: kernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: 'DLLayerNorm',
    inputsToSave: ['x', 'gamma'],
    gradFunc: (dys, saved, attrs) => {
      const [x, gamma] = saved;
      const dy = dys as tf.Tensor;
      const { eps, k } = attrs as unknown as LayerNormAttrs;
      const axes = Array.from({ length: k }, (_, i) => x.rank - k + i); // the normalised axes
      const lead = Array.from({ length: x.rank - k }, (_, i) => i); // the others (rows)
      // The statistics from x with tfjs ops (not outputs of the kernel: tfjs connects a kernel's saved
      // outputs to the tape after the kernel's own node, so a second derivative would miss their
      // dependence on x).
      const mean = tf.mean(x, axes, true); // [..., 1]
      const centred = tf.sub(x, mean); // [..., C]
      const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(centred), axes, true), eps)); // [..., 1]
      const xhat = tf.mul(centred, rstd); // [..., C]
      return {
        // dx = r·(dŷ − mean(dŷ) − x̂·mean(dŷ·x̂)) with dŷ = dy·γ.
        x: () =>
          tf.tidy(() => {
            const dxhat = tf.mul(dy, gamma); // [..., C]
            const m1 = tf.mean(dxhat, axes, true); // [..., 1]
            const m2 = tf.mean(tf.mul(dxhat, xhat), axes, true); // [..., 1]
            return tf.mul(rstd, tf.sub(tf.sub(dxhat, m1), tf.mul(xhat, m2))); // [..., C]
          }),
        gamma: () => (lead.length ? tf.sum(tf.mul(dy, xhat), lead) : tf.mul(dy, xhat)), // normalizedShape
        beta: () => (lead.length ? tf.sum(dy, lead) : tf.clone(dy)), // normalizedShape
      };
    },
  });
}

/**
 * y = (x − mean)·rstd·γ + β over the last `k` axes with @dl/core's kernel (package-internal: LayerNorm
 * calls it on wasm while the kernels are on). `gamma` and `beta` are shaped like those axes.
 */
export function wasmLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number, k: number): tf.Tensor {
  register();
  const cols = x.shape.slice(x.rank - k).reduce((a, b) => a * b, 1);
  return tf.engine().runKernel('DLLayerNorm', { x, gamma, beta }, { eps, cols, k } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
