// Bundles the demo for browsers into dist/ (app.js, index.html and the wasm backend's binaries).
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
mkdirSync('dist', { recursive: true });
await esbuild.build({
  entryPoints: ['src/app.mjs'],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: 'dist/app.js',
  sourcemap: true,
  // Node-only code paths in @dl/core (file checkpoints, Dawn) are behind dynamic imports never taken here.
  external: ['node:*', 'webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  loader: { '.safetensors': 'binary' },
  logLevel: 'warning',
});
copyFileSync('src/index.html', 'dist/index.html');
const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDir, f), path.join('dist', f));
console.log('browser-demo: built dist/');
