import * as tf from '@tensorflow/tfjs-core';

// Kernels that cannot be moved between backends as plain typed arrays (complex and string data, canvases).
const NOT_PORTABLE = new Set(['Complex', 'ComplexAbs', 'Real', 'Imag', 'FFT', 'IFFT', 'Draw', 'StaticRegexReplace']);

type Backend = tf.KernelBackend & {
  write(values: tf.backend_util.BackendValues, shape: number[], dtype: tf.DataType): tf.DataId;
};

/**
 * Gives backend `name` every kernel it lacks but the cpu backend has, by running the cpu kernel on a copy
 * of the inputs and writing the result back. This is how training works on wasm, which has no
 * `Conv2DBackpropFilter` (conv filter gradients) and no `UnsortedSegmentSum` (the gradient of `gather`,
 * i.e. of every embedding). Each fallback costs two copies, so a backend's own kernel always wins: only
 * missing kernels are registered. Needs `@tensorflow/tfjs-backend-cpu` registered (the wasm backend
 * depends on it). {@link useBackend} calls this for you.
 *
 * @returns the kernel names that were added.
 *
 * @example
 * ```ts
 * import { installCpuFallbacks } from '@dl/core';
 * const added = installCpuFallbacks('wasm'); // ['Conv2DBackpropFilter', 'UnsortedSegmentSum', ...]
 * ```
 */
export function installCpuFallbacks(name: string): string[] {
  if (name === 'cpu' || tf.findBackendFactory('cpu') == null) return [];
  const have = new Set(tf.getKernelsForBackend(name).map((k) => k.kernelName));
  const added: string[] = [];
  for (const cpuKernel of tf.getKernelsForBackend('cpu')) {
    const kernelName = cpuKernel.kernelName;
    if (have.has(kernelName) || NOT_PORTABLE.has(kernelName)) continue;
    tf.registerKernel({ kernelName, backendName: name, kernelFunc: (args) => runOnCpu(cpuKernel, args) });
    added.push(kernelName);
  }
  return added;
}

function runOnCpu(cpuKernel: tf.KernelConfig, { inputs, attrs, backend }: Parameters<tf.KernelFunc>[0]) {
  const cpu = tf.engine().findBackend('cpu') as Backend & { firstUse?: boolean };
  // tfjs-backend-cpu prints "looks like you are running TensorFlow.js in Node.js … install tfjs-node" on
  // its first write. Here it only runs a few kernels for another backend that the user chose, so the
  // banner would mislead; a user who selects cpu itself still gets it.
  if (cpu.firstUse) cpu.firstUse = false;
  const target = backend as Backend;
  const cpuInputs: Record<string, tf.TensorInfo> = {};
  for (const [key, info] of Object.entries(inputs)) {
    if (info == null) continue;
    const values = target.readSync(info.dataId) as tf.backend_util.BackendValues;
    cpuInputs[key] = { dataId: cpu.write(values, info.shape, info.dtype), shape: info.shape, dtype: info.dtype };
  }
  try {
    const out = cpuKernel.kernelFunc({ inputs: cpuInputs, attrs, backend: cpu });
    const outs = Array.isArray(out) ? out : [out];
    const moved = outs.map((o) => {
      const values = cpu.readSync(o.dataId) as tf.backend_util.BackendValues;
      cpu.disposeData(o.dataId);
      return { dataId: target.write(values, o.shape, o.dtype), shape: o.shape, dtype: o.dtype };
    });
    return Array.isArray(out) ? moved : moved[0];
  } finally {
    for (const info of Object.values(cpuInputs)) cpu.disposeData(info.dataId);
  }
}
