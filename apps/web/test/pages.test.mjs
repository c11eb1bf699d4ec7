// Opens every page of the built app (dist/, from `pnpm --filter web build`) in headless Chromium on webgl,
// webgpu (both on SwiftShader) and wasm, runs a short training, and checks what a person would see: the
// loss goes down, the heatmaps are drawn, a drawn digit gets a class, no console errors. Also: the page is
// cross-origin isolated, and the first load stays within 500 kB of gzipped JavaScript. Screenshots go to
// out/screenshots/ (the README's come from there).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { launch, serveStatic, watchErrors } from './harness.mjs';

const BACKENDS = (process.env.DL_WEB_BACKENDS ?? 'wasm,webgl,webgpu').split(',');
const dist = (process.env.WEB_DIST ?? fileURLToPath(new URL('../dist', import.meta.url))).replace(/\/$/, '');
const shots = fileURLToPath(new URL('../out/screenshots/', import.meta.url));
const FIRST_LOAD_BUDGET = 500 * 1024;
// WebGPU here is SwiftShader (Vulkan on the CPU): compiling each shader takes seconds, so its runs are shorter.
const SHORT = { wasm: false, webgl: false, webgpu: true };

let server;
let browser;
let base;
before(async () => {
  assert.ok(existsSync(`${dist}/index.html`), 'run `pnpm --filter web build` first');
  mkdirSync(shots, { recursive: true });
  server = await serveStatic(dist);
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function open(route) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  const errors = watchErrors(page);
  await page.goto(`${base}#/${route}`);
  await page.waitForSelector('.run-controls .start');
  return { page, errors };
}

/** Clicks start and waits until the run is done (or failed, which the caller's assertions then report). */
async function trainToEnd(page, timeout = 540_000) {
  await page.click('.run-controls .start', { timeout: 120_000 });
  await page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('.run-controls').dataset.state), null, { timeout });
  const state = await page.getAttribute('.run-controls', 'data-state');
  assert.equal(state, 'done', `the run ended ${state}: ${await page.textContent('.run-controls .error')}`);
}

/** The backend the worker reports it runs on. */
const activeBackend = (page) => page.getAttribute('.backend-status', 'data-backend');

/** [first, last] per series of a loss chart. */
async function series(page, selector) {
  await page.waitForFunction((s) => document.querySelector(s).dataset.series, selector);
  return JSON.parse(await page.getAttribute(selector, 'data-series'));
}

/** Pixels of a canvas that differ from its most common colour (the background). */
function paintedPixels(page, selector) {
  return page.$$eval(selector, (canvases) =>
    canvases.map((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const bg = d.slice(0, 4).join(',');
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (`${d[i]},${d[i + 1]},${d[i + 2]},${d[i + 3]}` !== bg) n++;
      return n;
    }),
  );
}

/** Trains the CNN page at `route`, saves its checkpoint with the page's button and returns the file. */
async function trainAndSave(route) {
  const { page, errors } = await open(route);
  await trainToEnd(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.save', { timeout: 120_000 })]);
  const file = `${shots}lenet5-${route.replace(/\W+/g, '-')}.safetensors`;
  await download.saveAs(file);
  assert.deepEqual(errors, []);
  await page.close();
  return file;
}

test('the app is cross-origin isolated and its first load is at most 500 kB of gzipped JavaScript', async () => {
  const page = await browser.newPage();
  const errors = watchErrors(page);
  const scripts = new Map();
  page.on('response', async (r) => {
    if (/\.m?js(\?|$)/.test(r.url())) scripts.set(r.url(), r.body());
  });
  await page.goto(base);
  await page.waitForSelector('.run-controls .start');
  await page.waitForLoadState('networkidle');
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP missing');
  let gz = 0;
  for (const body of scripts.values()) gz += gzipSync(await body).length;
  console.log(`first load: ${scripts.size} scripts, ${(gz / 1024).toFixed(1)} kB gzipped`);
  assert.ok(gz > 0 && gz <= FIRST_LOAD_BUDGET, `first load is ${(gz / 1024).toFixed(1)} kB gzipped JS`);
  // Only the shell and the first page: no worker, no tfjs backend, no other page.
  assert.ok(![...scripts.keys()].some((u) => /worker/.test(u)), `a worker loaded before training: ${[...scripts.keys()].join(', ')}`);
  assert.deepEqual(errors, []);
  await page.close();
});

for (const backend of BACKENDS) {
  test(`optimizers page on ${backend}: every optimizer lowers f, the Hessian classifies the end points`, { timeout: 600_000 }, async () => {
    const { page, errors } = await open(`optimizers?backend=${backend}&steps=40`);
    await trainToEnd(page);
    assert.equal(await activeBackend(page), backend);
    const losses = await series(page, '#loss-chart');
    assert.ok(Object.keys(losses).length >= 7, `series: ${Object.keys(losses)}`);
    for (const [name, [first, last]] of Object.entries(losses)) assert.ok(last < first, `${name}: f − f* went ${first} → ${last}`);
    await page.waitForSelector('.hessian-table tr[data-kind]', { timeout: 120_000 });
    const kinds = await page.$$eval('.hessian-table tr[data-kind]', (rows) => rows.map((r) => r.dataset.kind));
    assert.ok(kinds.length >= 7 && kinds.every((k) => ['local minimum', 'local maximum', 'saddle point', 'degenerate', 'not critical'].includes(k)), kinds.join(', '));
    assert.ok((await paintedPixels(page, '#surface-chart > div > canvas:first-child'))[0] > 1000, 'the contour plot is empty');
    await page.screenshot({ path: `${shots}optimizers-${backend}.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`CNN page on ${backend}: LeNet's loss falls, a drawn digit gets a class, the feature maps are drawn`, { timeout: 900_000 }, async () => {
    let page;
    let errors;
    if (SHORT[backend]) {
      // Training LeNet on SwiftShader's WebGPU did not finish 12 steps in 9 minutes here, so on webgpu the
      // model is trained on wasm, saved by the page, and loaded into a run on webgpu, which then classifies.
      const checkpoint = await trainAndSave('cnn?backend=wasm&steps=40');
      ({ page, errors } = await open(`cnn?backend=${backend}`));
      await page.setInputFiles('input.checkpoint-file', checkpoint);
      await page.waitForFunction(() => ['done', 'failed'].includes(document.querySelector('.run-controls').dataset.state), null, { timeout: 540_000 });
      assert.equal(await page.getAttribute('.run-controls', 'data-state'), 'done', await page.textContent('.run-controls .error'));
      assert.ok(Number(await page.getAttribute('#page', 'data-accuracy')) > 0.5, 'the loaded model is no better than chance on webgpu');
    } else {
      ({ page, errors } = await open(`cnn?backend=${backend}&steps=40`));
      await trainToEnd(page);
      const { loss } = await series(page, '#loss-chart');
      assert.ok(loss[1] < loss[0], `loss ${loss[0]} → ${loss[1]}`);
    }
    assert.equal(await activeBackend(page), backend);
    // Draw a 7 with the mouse: a top bar and a diagonal.
    const box = await page.locator('canvas.pad').boundingBox();
    const stroke = async (points) => {
      await page.mouse.move(box.x + points[0][0], box.y + points[0][1]);
      await page.mouse.down();
      for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x, box.y + y, { steps: 8 });
      await page.mouse.up();
    };
    await stroke([[70, 60], [210, 60], [130, 240]]);
    await page.waitForFunction(() => document.querySelector('.prediction').dataset.class !== undefined, null, { timeout: 300_000 });
    const digit = Number(await page.getAttribute('.prediction', 'data-class'));
    assert.ok(Number.isInteger(digit) && digit >= 0 && digit <= 9, `class ${digit}`);
    const maps = await paintedPixels(page, '.maps canvas');
    assert.equal(maps.length, 6 + 16);
    assert.ok(maps.filter((n) => n > 0).length >= 11, `feature maps painted: ${maps}`);
    await page.screenshot({ path: `${shots}cnn-${backend}.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`attention page on ${backend}: the loss falls and every head's heatmap is drawn`, { timeout: 900_000 }, async () => {
    const variant = { wasm: 'local', webgl: 'global', webgpu: 'full' }[backend] ?? 'full';
    const { page, errors } = await open(`attention?backend=${backend}&variant=${variant}&steps=${SHORT[backend] ? 12 : 40}&n=32&costN=32,64,128`);
    await trainToEnd(page);
    assert.equal(await activeBackend(page), backend);
    const losses = await series(page, '#loss-chart');
    const [first, last] = losses[variant];
    assert.ok(last < first, `loss ${first} → ${last}`);
    await page.waitForFunction(() => document.getElementById('page').dataset.heatmaps === '4', null, { timeout: 300_000 });
    await page.waitForTimeout(500); // one animation frame for the last heatmap
    const heat = await paintedPixels(page, '.heat > div > canvas:first-child'); // ECharts adds hover layers
    assert.equal(heat.length, 4);
    for (const n of heat) assert.ok(n > 500, `a heatmap canvas is (nearly) empty: ${heat}`);
    await page.click('button.measure', { timeout: 120_000 });
    await page.waitForFunction(() => document.getElementById('page').dataset.cost === 'measured', null, { timeout: 300_000 });
    assert.match(await page.textContent('.cost'), new RegExp(`${variant}: memory ∝ N\\^`));
    await page.screenshot({ path: `${shots}attention-${backend}.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('CNN page: a checkpoint saved by the page loads into a fresh run and gives the same class', { timeout: 600_000 }, async () => {
  const { page, errors } = await open('cnn?backend=wasm&steps=30');
  await trainToEnd(page);
  const box = await page.locator('canvas.pad').boundingBox();
  await page.mouse.move(box.x + 140, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + 140, box.y + 240, { steps: 10 });
  await page.mouse.up();
  await page.waitForFunction(() => document.querySelector('.prediction').dataset.class !== undefined);
  const before = await page.textContent('.prediction');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('button.save', { timeout: 120_000 })]);
  const file = `${shots}lenet5.safetensors`;
  await download.saveAs(file);
  await page.evaluate(() => delete document.querySelector('.prediction').dataset.class);
  await page.setInputFiles('input.checkpoint-file', file);
  await page.waitForFunction(() => document.querySelector('.run-controls').dataset.state === 'done' && document.querySelector('.prediction').dataset.class !== undefined, null, { timeout: 120_000 });
  assert.equal(await page.textContent('.prediction'), before);
  assert.deepEqual(errors, []);
  await page.close();
});

test('optimizers page: stop halts the worker between steps and resume continues', { timeout: 600_000 }, async () => {
  const { page, errors } = await open('optimizers?backend=wasm&steps=1000000');
  await page.click('.run-controls .start', { timeout: 120_000 });
  await page.waitForFunction(() => Number(document.getElementById('page').dataset.step) >= 8, null, { timeout: 300_000 });
  await page.click('.run-controls .pause', { timeout: 120_000 });
  await page.waitForFunction(() => document.querySelector('.run-controls').dataset.state === 'paused');
  const stoppedAt = Number(await page.getAttribute('#page', 'data-step'));
  await page.waitForTimeout(1500);
  assert.equal(Number(await page.getAttribute('#page', 'data-step')), stoppedAt, 'the race went on after stop');
  // The page stays responsive while paused: the Hessian table is computed on request.
  await page.waitForSelector('.hessian-table tr[data-kind]', { timeout: 120_000 });
  await page.click('.run-controls .resume', { timeout: 120_000 });
  await page.waitForFunction((n) => Number(document.getElementById('page').dataset.step) > n, stoppedAt, { timeout: 300_000 });
  assert.equal(await page.getAttribute('.run-controls', 'data-state'), 'running');
  assert.deepEqual(errors, []);
  await page.close();
});
