import { defineConfig } from 'vitest/config';

/**
 * One vitest config for every package. The backend comes from DL_BACKEND (set by test-backends.mjs);
 * tests run in forked processes, since the wasm and Dawn (webgpu) native modules dislike worker threads.
 */
export function sharedConfig(extra: { testTimeout?: number } = {}) {
  // Each package's test/setup.ts selects the backend (see @dl/core/testing's setupTestBackend).
  const backend = process.env.DL_BACKEND ?? 'cpu';
  const slow = backend === 'webgpu' ? 20 : backend === 'wasm' ? 2 : 1;
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: ['test/setup.ts'],
      pool: 'forks',
      fileParallelism: backend !== 'webgpu',
      maxWorkers: backend === 'webgpu' ? 1 : 2,
      testTimeout: (extra.testTimeout ?? 30_000) * slow,
      hookTimeout: 120_000,
      teardownTimeout: 10_000,
    },
  });
}
