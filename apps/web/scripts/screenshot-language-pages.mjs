// Takes the README's screenshots of the Transformer and Decoding pages (screenshots/transformer.png,
// screenshots/decoding.png) from a build (dist/, or WEB_DIST) in Debian's chromium on wasm: the tiny GPT
// trained for STEPS steps (default 600) on the names and sampled, and PYTHON decoded.
// Usage: pnpm build && node scripts/screenshot-language-pages.mjs (ONLY=transformer or ONLY=decoding takes one).
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serveStatic } from '../test/harness.mjs';

const DIST = (process.env.WEB_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url))).replace(/\/$/, '');
const SHOTS = fileURLToPath(new URL('../screenshots/', import.meta.url));
const STEPS = Number(process.env.STEPS ?? 600);
const ONLY = process.env.ONLY;
mkdirSync(SHOTS, { recursive: true });

const server = await serveStatic(DIST);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  if (ONLY !== 'decoding') await transformer(page);
  if (ONLY !== 'transformer') await decoding(page);
} finally {
  await browser.close();
  server.close();
}

async function transformer(page) {
  await page.goto(`${base}#/transformer?backend=wasm&steps=${STEPS}`);
  await page.waitForFunction(() => document.querySelector('textarea.corpus')?.value.length > 1000, null, { timeout: 300_000 });
  await page.click('.run-controls .start');
  await page.waitForFunction(() => document.querySelector('.run-controls')?.dataset.state === 'done', null, { timeout: 1_800_000, polling: 1000 });
  await page.click('button.generate');
  await page.waitForFunction(() => document.getElementById('gpt-attention')?.dataset.drawn === '1', null, { timeout: 600_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${SHOTS}transformer.png`, fullPage: true });
  const { first, last } = await page.evaluate(() => ({ ...document.getElementById('gpt-loss').dataset }));
  console.log(`transformer: ${STEPS} steps, loss ${Number(first).toFixed(3)} → ${Number(last).toFixed(3)}; sampled ${JSON.stringify(await page.textContent('.generated-text'))}`);
}

async function decoding(page) {
  await page.goto(`${base}#/decoding?backend=wasm&word=PYTHON`);
  await page.waitForFunction(() => document.getElementById('page')?.dataset.decoded === 'PYTHON', null, { timeout: 300_000 });
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${SHOTS}decoding.png`, fullPage: true });
  console.log(`decoding: ${(await page.textContent('.decode-results h2')) ?? ''}`);
}
