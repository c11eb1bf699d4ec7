// Runs the browser self-tests (src/selftest.mjs) in headless Chromium on every browser backend and takes a
// screenshot of the demo page. Needs Debian's chromium (/usr/bin/chromium); never downloads a browser.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { serve } from '../serve.mjs';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
  // WebGPU and WebGL on SwiftShader, so they run without a GPU.
  '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader',
];
const BACKENDS = (process.env.DL_BROWSER_BACKENDS ?? 'cpu,wasm,webgl,webgpu').split(',');

let server;
let browser;
let base;
before(async () => {
  assert.ok(existsSync(executablePath), `Chromium not found at ${executablePath} (apt-get install chromium)`);
  assert.ok(existsSync(new URL('../dist/app.js', import.meta.url)), 'run `node build.mjs` first');
  server = await serve(0);
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath, args: FLAGS, headless: true });
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
    await page.goto(`${base}?selftest=1&backend=${backend}`);
    const report = await page.evaluate(() => window.__selftest);
    await page.close();
    assert.equal(report.error, undefined, report.error);
    assert.equal(report.backend, backend, `asked for ${backend}, got ${report.summary}`);
    const failed = report.results.filter((r) => !r.ok);
    counts[backend] = { numPassedTests: report.results.length - failed.length, numFailedTests: failed.length, numPendingTests: 0, numTodoTests: 0 };
    summary.push(`${backend.padEnd(7)} ${String(report.results.length - failed.length).padStart(3)} passed ${String(failed.length).padStart(3)} failed`);
    assert.deepEqual(failed, [], `${failed.length} of ${report.results.length} self-tests failed on ${backend}`);
    assert.ok(report.results.length >= 49, `only ${report.results.length} self-tests ran`); // 1 + 13 layers + 10 activations + 23 losses + 2
    assert.deepEqual(errors, []);
  });
}

test('the demo page trains and draws its decision regions', { timeout: 300_000 }, async () => {
  const page = await browser.newPage();
  await page.goto(base);
  await page.selectOption('#backend', 'wasm');
  await page.click('#train');
  await page.waitForFunction(() => /s on wasm/.test(document.getElementById('log').textContent), null, { timeout: 240_000 });
  const log = await page.textContent('#log');
  const losses = [...log.matchAll(/loss (\d+\.\d+)/g)].map((m) => Number(m[1]));
  assert.ok(losses.at(-1) < losses[0] * 0.5, `loss did not fall: ${losses.join(', ')}`);
  mkdirSync(new URL('../out/', import.meta.url), { recursive: true });
  await page.screenshot({ path: new URL('../out/demo.png', import.meta.url).pathname });
  await page.close();
});

after(() => {
  // Same shape as vitest's JSON report, for scripts/summarize-tests.mjs: one file per browser backend.
  mkdirSync(new URL('../test-results/', import.meta.url), { recursive: true });
  for (const [backend, c] of Object.entries(counts)) writeFileSync(new URL(`../test-results/chromium-${backend}.json`, import.meta.url), JSON.stringify(c));
  if (summary.length) console.log(`\nbrowser self-tests per backend:\n${summary.join('\n')}`);
});
