// Bundles the browser self-tests into test/selftest/dist/ (selftest.js, index.html, the wasm backend's
// binaries). Test-only: the app's production build (vite build) never includes them.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, 'dist');
const require = createRequire(import.meta.url);
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(here, 'entry.mjs')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: path.join(out, 'selftest.js'),
  sourcemap: true,
  // Node-only code paths in @dl/core (file checkpoints, Dawn) are behind dynamic imports never taken here.
  external: ['node:*', 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  loader: { '.safetensors': 'binary' },
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDir, f), path.join(out, f));
console.log('web: built the self-tests into test/selftest/dist/');
