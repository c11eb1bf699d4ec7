/**
 * Starts a tfjs backend inside a worker. Backend packages are imported only when asked for, so a
 * page that runs on wasm never downloads the WebGPU or WebGL backends. The cpu backend is always
 * loaded: @dl/core routes kernels the wasm backend lacks to it (a browser bundle cannot import it
 * at run time by name).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { useBackend, type BackendReport } from '@dl/core';
import type { BackendChoice } from './protocol';

const LOADERS = {
  webgpu: () => import('@tensorflow/tfjs-backend-webgpu'),
  webgl: () => import('@tensorflow/tfjs-backend-webgl'),
  wasm: () => import('@tensorflow/tfjs-backend-wasm'),
};

/** The wasm backend's thread count, when it is the active backend (1 without cross-origin isolation). */
export async function wasmThreads(): Promise<number | undefined> {
  if (tf.getBackend() !== 'wasm') return undefined;
  const wasm = await LOADERS.wasm();
  return wasm.getThreadsCount();
}

/**
 * Loads the backend package(s) for `choice` and activates one with @dl/core's `useBackend`, whose
 * report says what it chose and why the better ones were unavailable.
 *
 * @param wasmPath URL of the folder holding tfjs-backend-wasm*.wasm (the worker cannot guess the page's base).
 */
export async function startBackend(choice: BackendChoice, wasmPath: string): Promise<BackendReport> {
  const wanted = choice === 'auto' ? (['webgpu', 'webgl', 'wasm'] as const) : choice === 'cpu' ? [] : [choice];
  for (const name of wanted) {
    try {
      const mod = await LOADERS[name]();
      if (name === 'wasm') (mod as typeof import('@tensorflow/tfjs-backend-wasm')).setWasmPaths(wasmPath);
    } catch {
      // Reported by useBackend as "registered no backend".
    }
  }
  return useBackend(choice);
}
