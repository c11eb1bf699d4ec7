// Opens the built documentation site (docs/site, `pnpm run docs` first) in headless Chromium over a local static
// server and checks what a reader does: search for AdamW, follow the result, see its update rule rendered by
// KaTeX (with KaTeX's fonts loaded), go from a @dl/transformer class to @dl/core's Module, and open a guide with
// an inline figure. Screenshots go to out/docs-site/ (gitignored). Needs Debian's chromium (CHROMIUM_PATH,
// default /usr/bin/chromium); never downloads a browser. Run: node --test scripts/docs/site.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.join(repo, 'docs/site');
const shots = path.join(repo, 'out/docs-site');
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.json': 'application/json' };

/** A static server for the site on 127.0.0.1 (a free port): the search index is fetched, so file:// won't do. */
function serve() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const file = path.join(site, path.normalize(decodeURIComponent(url.pathname === '/' ? '/index.html' : url.pathname)));
    if (!file.startsWith(site)) return void res.writeHead(403).end();
    let body;
    try {
      body = await readFile(file);
    } catch {
      return void res.writeHead(404).end('not found');
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

let server;
let browser;
let base;
before(async () => {
  assert.ok(existsSync(path.join(site, 'index.html')), 'no site in docs/site: run `pnpm run docs` first');
  assert.ok(existsSync(executablePath), `Chromium not found at ${executablePath} (apt-get install chromium)`);
  mkdirSync(shots, { recursive: true });
  server = await serve();
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath, args: FLAGS, headless: true });
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** A page that records script errors and requests that failed (a missing stylesheet, font or image). */
async function open(url) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });
  // An aborted request is a navigation that a click superseded, not a missing file.
  page.on('requestfailed', (r) => { if (r.failure()?.errorText !== 'net::ERR_ABORTED') problems.push(`failed ${r.url()}: ${r.failure()?.errorText}`); });
  await page.goto(url, { waitUntil: 'load' });
  return { page, problems };
}

test('search finds AdamW, and the page it links to shows the update rule typeset by KaTeX', { timeout: 180_000 }, async () => {
  const { page, problems } = await open(base);
  await page.click('#tsd-search-trigger');
  await page.fill('#tsd-search-input', 'AdamW');
  const hit = page.locator('#tsd-search-results a[href$="classes/_dl_optim.AdamW.html"]');
  await hit.waitFor({ timeout: 30_000 });
  await hit.click();
  await page.waitForURL(/classes\/_dl_optim\.AdamW\.html/);
  // The class's summary links to the function that holds the update rule.
  await page.locator('.tsd-comment a[href$="functions/_dl_optim.adamw.html"]').first().click();
  await page.waitForURL(/functions\/_dl_optim\.adamw\.html/);
  const math = page.locator('.tsd-comment .katex');
  assert.ok(await math.count() > 0, 'no KaTeX-rendered formula on the adamw page');
  assert.equal(await page.locator('.katex-error').count(), 0, 'KaTeX reported an error');
  // The stylesheet and fonts came with the site: KaTeX's main font is loaded, not a fallback.
  await page.evaluate(() => document.fonts.ready);
  assert.ok(await page.evaluate(() => document.fonts.check('16px KaTeX_Main')), 'KaTeX_Main font not loaded');
  await page.screenshot({ path: path.join(shots, 'adamw.png'), fullPage: false });
  await page.close();
  assert.deepEqual(problems, []);
});

test('a @dl/transformer class links to @dl/core Module, and the link opens its page', { timeout: 180_000 }, async () => {
  const { page, problems } = await open(`${base}classes/_dl_transformer.TransformerLayer.html`);
  await page.locator('.tsd-hierarchy a', { hasText: /^Module$/ }).first().click();
  await page.waitForURL(/_dl_core\.index\.Module\.html/);
  assert.match(await page.locator('h1').first().textContent(), /Module/);
  await page.close();
  assert.deepEqual(problems, []);
});

test('the guides are in the navigation, in reading order, and the schedules page shows its plots inline', { timeout: 180_000 }, async () => {
  const { page, problems } = await open(base);
  const guides = page.locator('.site-menu a', { hasText: /^Guides$/ }).first();
  await guides.waitFor({ timeout: 30_000 });
  await guides.click();
  await page.waitForURL(/documents\/Guides\.html/);
  const guidesUrl = page.url();
  // The guides page lists them in order; the first is Getting started.
  const links = page.locator('.col-content ol a');
  assert.match(await links.first().textContent(), /Getting started/);
  await links.first().click();
  await page.waitForURL(/Getting_started/);
  assert.match(await page.locator('h1').first().textContent(), /Getting started/);
  await page.goto(guidesUrl, { waitUntil: 'load' });
  await page.locator('.col-content ol a', { hasText: 'Learning-rate schedules' }).click();
  await page.waitForURL(/Learning_rate_schedules/);
  const plots = page.locator('.col-content img[src$=".svg"]');
  assert.ok(await plots.count() >= 10, `only ${await plots.count()} schedule plots inline`);
  // Every image on the page decoded (a broken src has naturalWidth 0).
  assert.ok(await page.evaluate(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)), 'an image did not load');
  await page.screenshot({ path: path.join(shots, 'schedules.png'), fullPage: false });
  await page.close();
  assert.deepEqual(problems, []);
});
