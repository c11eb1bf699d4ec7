/**
 * Test helpers shared by every `@dl` package: leak checks, tolerances per backend, closeness checks,
 * numerical gradients, and the backend set-up the test matrix uses. Import from `@dl/core/testing`.
 * They throw plain Errors, so they work with any test runner.
 * @module
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, type BackendName, type BackendReport } from './backend.js';
import { importAtRuntime } from './runtime-import.js';
import { checkKeys } from './errors.js';
import { isTensor } from './tensor-check.js';

/**
 * Runs `fn` and throws if it leaves more tensors alive than before (what it returns may stay alive
 * only if `allowReturned` counts them). Works for sync and async functions.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { assertNoLeaks } from '@dl/core/testing';
 * await assertNoLeaks(() => tf.tidy(() => { tf.add(tf.ones([2]), 1); })); // passes: tidy freed both
 * await assertNoLeaks(() => { tf.add(tf.ones([2]), 1); }); // throws "block leaked 2 tensor(s): …" (the ones and the sum)
 * ```
 */
export async function assertNoLeaks<T>(fn: () => T | Promise<T>, label = 'block', allowReturned = 0): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  if (after - before > allowReturned) {
    throw new Error(`${label} leaked ${after - before - allowReturned} tensor(s): ${before} before, ${after} after`);
  }
  return result;
}

/** Absolute and relative tolerance for comparing float32 results. */
export interface Tolerance {
  /** Absolute part. */
  atol: number;
  /** Relative part. */
  rtol: number;
}

/**
 * The tolerance this project states per backend for parity with PyTorch: cpu 1e-5; wasm 1e-4 (XNNPACK
 * reorders sums); webgpu 1e-3 (GPU transcendental functions and reduction order); others 1e-3.
 *
 * @example
 * ```ts
 * import { backendTolerance } from '@dl/core/testing';
 * const { atol, rtol } = backendTolerance(); // for the active backend
 * ```
 */
export function backendTolerance(name: string = tf.getBackend()): Tolerance {
  switch (name) {
    case 'cpu':
      return { atol: 1e-5, rtol: 1e-5 };
    case 'wasm':
      return { atol: 1e-4, rtol: 1e-4 };
    default:
      return { atol: 1e-3, rtol: 1e-3 };
  }
}

/**
 * Throws unless every |actual − expected| ≤ atol + rtol·|expected| (shapes must match when `actual` is
 * a tensor and `shape` is given). The message gives the worst element.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { assertClose } from '@dl/core/testing';
 * await assertClose(tf.tensor1d([1, 2]), [1, 2.000001]);
 * ```
 */
export async function assertClose(
  actual: tf.Tensor | ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Partial<Tolerance> = backendTolerance(),
  label = 'value',
  shape?: number[],
): Promise<void> {
  checkKeys('assertClose', tol, ['atol', 'rtol']);
  if (shape && isTensor(actual, 'assertClose', 'actual') && actual.shape.join(',') !== shape.join(',')) {
    throw new Error(`${label}: shape [${actual.shape}] != expected [${shape}]`);
  }
  // data(), not dataSync(): WebGPU in Node cannot read synchronously.
  const a = isTensor(actual, 'assertClose', 'actual') ? await actual.data() : actual;
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-5;
  if (a.length !== expected.length) throw new Error(`${label}: ${a.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(Number(a[i]) - expected[i]);
    const excess = diff - (atol + rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(diff))) {
      worst = i;
      worstExcess = Number.isNaN(diff) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${label}: element ${worst} is ${a[worst]}, expected ${expected[worst]} (atol ${atol}, rtol ${rtol})`);
  }
}

/**
 * Central-difference gradient of scalar function `f` at `x` (computed in float64 on the host via tfjs
 * float32 evaluations, so use eps ≈ 1e-2 and loose tolerances). For checking hand-written gradients.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { numericalGradient } from '@dl/core/testing';
 * const g = await numericalGradient((x) => tf.sum(tf.square(x)), tf.tensor1d([1, 2])); // ≈ [2, 4]
 * ```
 */
export async function numericalGradient(f: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, eps = 1e-2): Promise<Float64Array> {
  const base = Float32Array.from(await x.data());
  const out = new Float64Array(base.length);
  const evalAt = async (values: Float32Array) => {
    const y = tf.tidy(() => f(tf.tensor(values, x.shape)));
    const v = (await y.data())[0];
    y.dispose();
    return v;
  };
  for (let i = 0; i < base.length; i++) {
    const plus = Float32Array.from(base);
    const minus = Float32Array.from(base);
    plus[i] += eps;
    minus[i] -= eps;
    out[i] = ((await evalAt(plus)) - (await evalAt(minus))) / (2 * eps);
  }
  return out;
}

/**
 * Selects the backend for a test process from `DL_BACKEND` (default `cpu`). For `webgpu` in Node
 * without a GPU it points Vulkan at SwiftShader when `/usr/lib/chromium/vk_swiftshader_icd.json`
 * exists and no driver was chosen. The report is printed once per process by the matrix runner.
 *
 * @example
 * ```ts
 * // vitest setup file
 * import { setupTestBackend } from '@dl/core/testing';
 * await setupTestBackend();
 * ```
 */
export async function setupTestBackend(name = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.DL_BACKEND ?? 'cpu'): Promise<BackendReport> {
  const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env;
  if (name === 'webgpu' && env) {
    const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
    const fs = await importAtRuntime<typeof import('node:fs')>('node:fs');
    if (!env.VK_ICD_FILENAMES && !env.DL_WEBGPU_NATIVE && fs.existsSync(icd)) env.VK_ICD_FILENAMES = icd;
    env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  const report = await useBackend(name as BackendName);
  if (report.name !== name) throw new Error(`test backend ${name} unavailable: ${report.summary}`);
  return report;
}
