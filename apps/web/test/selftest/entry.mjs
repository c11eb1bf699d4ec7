// The test-only page of the browser self-tests (never part of the app's production build):
// `?backend=X` runs src/selftest.mjs on backend X and publishes the report as window.__selftest.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { runSelfTests } from './selftest.mjs';

setWasmPaths(new URL('./', import.meta.url).href);
const backend = new URLSearchParams(location.search).get('backend') ?? 'auto';
window.__selftest = runSelfTests(backend).catch((e) => ({ backend, error: String(e && e.stack ? e.stack : e), results: [] }));
window.__selftest.then((r) => {
  document.getElementById('log').textContent = JSON.stringify(r, null, 1);
});
