// Runs the browser self-tests of the packages (test/selftest/, built by test/selftest/build.mjs) in headless
// Chromium on every browser backend, and leaves one vitest-shaped count file per backend in test-results/
// for scripts/summarize-tests.mjs. Needs Debian's chromium (/usr/bin/chromium); never downloads a browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serveStatic } from './harness.mjs';

const BACKENDS = (process.env.DL_BROWSER_BACKENDS ?? 'cpu,wasm,webgl,webgpu').split(',');
const root = fileURLToPath(new URL('./selftest/dist/', import.meta.url));

let server;
let browser;
let base;
before(async () => {
  assert.ok(existsSync(`${root}selftest.js`), 'run `node test/selftest/build.mjs` first');
  server = await serveStatic(root.replace(/\/$/, ''));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

const summary = [];
const counts = {};
for (const backend of BACKENDS) {
  test(`self-tests pass in Chromium on ${backend}`, { timeout: 600_000 }, async () => {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}?backend=${backend}`);
    const report = await page.evaluate(() => window.__selftest);
    await page.close();
    assert.equal(report.error, undefined, report.error);
    assert.equal(report.backend, backend, `asked for ${backend}, got ${report.summary}`);
    const failed = report.results.filter((r) => !r.ok);
    counts[backend] = { numPassedTests: report.results.length - failed.length, numFailedTests: failed.length, numPendingTests: 0, numTodoTests: 0 };
    summary.push(`${backend.padEnd(7)} ${String(report.results.length - failed.length).padStart(3)} passed ${String(failed.length).padStart(3)} failed`);
    assert.deepEqual(failed, [], `${failed.length} of ${report.results.length} self-tests failed on ${backend}`);
    assert.ok(report.results.length >= 50, `only ${report.results.length} self-tests ran`); // 1 + 13 layers + 10 activations + 23 losses + 3
    assert.deepEqual(errors, []);
  });
}

after(() => {
  // Same shape as vitest's JSON report, for scripts/summarize-tests.mjs: one file per browser backend.
  mkdirSync(new URL('../test-results/', import.meta.url), { recursive: true });
  for (const [backend, c] of Object.entries(counts)) writeFileSync(new URL(`../test-results/chromium-${backend}.json`, import.meta.url), JSON.stringify(c));
  if (summary.length) console.log(`\nbrowser self-tests per backend:\n${summary.join('\n')}`);
});
