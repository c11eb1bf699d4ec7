#!/usr/bin/env node
// Runs a package's vitest suite once per backend (DL_BACKENDS, default "cpu,wasm,webgpu") and prints
// which backends ran and how many tests passed on each. Exits non-zero if any backend failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

const backends = (process.env.DL_BACKENDS ?? 'cpu,wasm,webgpu').split(',').map((s) => s.trim()).filter(Boolean);
const pkg = JSON.parse(readFileSync('package.json', 'utf8')).name;
const vitest = path.resolve('node_modules/.bin/vitest');
mkdirSync('test-results', { recursive: true });
const rows = [];
for (const backend of backends) {
  const out = `test-results/${backend}.json`;
  const started = Date.now();
  const env = { ...process.env, DL_BACKEND: backend };
  if (backend === 'webgpu') {
    env.XDG_RUNTIME_DIR ??= '/tmp';
    if (!env.VK_ICD_FILENAMES && !env.DL_WEBGPU_NATIVE && existsSync('/usr/lib/chromium/vk_swiftshader_icd.json')) {
      env.VK_ICD_FILENAMES = '/usr/lib/chromium/vk_swiftshader_icd.json';
    }
  }
  console.log(`\n=== ${pkg} on ${backend} ===`);
  const r = spawnSync(vitest, ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)], { stdio: 'inherit', env });
  let passed = 0, failed = 0, skipped = 0;
  if (existsSync(out)) {
    const j = JSON.parse(readFileSync(out, 'utf8'));
    passed = j.numPassedTests;
    failed = j.numFailedTests;
    skipped = j.numPendingTests + j.numTodoTests;
  }
  if (r.status !== 0 && failed === 0) failed = 1;
  rows.push({ backend, passed, failed, skipped, seconds: ((Date.now() - started) / 1000).toFixed(1), status: r.status });
}
console.log(`\n${pkg}: tests per backend`);
console.log('backend  passed  failed  skipped  seconds');
for (const r of rows) console.log(`${r.backend.padEnd(8)} ${String(r.passed).padStart(6)} ${String(r.failed).padStart(7)} ${String(r.skipped).padStart(8)} ${r.seconds.padStart(8)}`);
const total = rows.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed }), { passed: 0, failed: 0 });
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(rows.some((r) => r.status !== 0 || r.failed > 0) ? 1 : 0);
