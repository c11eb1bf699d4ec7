import { defineConfig, type Plugin } from 'vite';

/**
 * Cross-origin isolation (COOP + COEP) lets the page use SharedArrayBuffer, which tfjs's multi-threaded
 * wasm backend needs; without it the wasm backend falls back to one thread. Set on the dev server and on
 * `vite preview`; a production host must send the same two headers (see README).
 */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

const crossOriginIsolation = (): Plugin => ({
  name: 'cross-origin-isolation',
  configureServer(server) {
    server.middlewares.use((_req, res, next) => {
      for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
      next();
    });
  },
  configurePreviewServer(server) {
    server.middlewares.use((_req, res, next) => {
      for (const [k, v] of Object.entries(ISOLATION)) res.setHeader(k, v);
      next();
    });
  },
});

export default defineConfig({
  base: './',
  plugins: [crossOriginIsolation()],
  server: { headers: ISOLATION },
  preview: { headers: ISOLATION, port: 4173 },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    sourcemap: true,
    // tfjs-core alone is ~480 kB minified; it lives in lazily loaded chunks, so the warning is noise.
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // @dl/core and @dl/optim reach Node-only code (file checkpoints, Dawn) through runtime imports that never run here.
      external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'fs/promises', 'node:fs/promises'],
    },
  },
});
