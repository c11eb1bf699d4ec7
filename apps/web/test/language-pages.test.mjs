// The Transformer page (a tiny character-level GPT) and the Decoding page (the shipped G2P model) in
// Chromium on webgl, webgpu (both on SwiftShader) and wasm: a short training run whose loss falls,
// streamed sampling and a non-empty attention heatmap; a decode of PYTHON with phonemes, an n-best
// table with scores, the beam tree and the cross-attention heatmap; no console errors. Screenshots of
// both pages (wasm) go to out/screenshots/; DL_WEB_BACKENDS picks the backends. Needs `pnpm build` (dist/, or WEB_DIST) and /usr/bin/chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launch, serveStatic, watchErrors } from './harness.mjs';

const DIST = process.env.WEB_DIST ?? fileURLToPath(new URL('../dist/', import.meta.url));
const SHOTS = fileURLToPath(new URL('../out/screenshots/', import.meta.url)); // the README's screenshots come from scripts/screenshot-language-pages.mjs
const BACKENDS = (process.env.DL_WEB_BACKENDS ?? 'wasm,webgl,webgpu').split(',');

let browser;
let server;
let base;
before(async () => {
  assert.ok(existsSync(`${DIST}/index.html`), `no build at ${DIST}: run \`pnpm build\` in apps/web`);
  server = await serveStatic(DIST.replace(/\/$/, ''));
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
});
after(async () => {
  await browser?.close();
  server?.close();
});

/** Pixels of the first canvas under `selector` that are not (near) white or transparent. */
const inkedPixels = (page, selector) =>
  page.evaluate((sel) => {
    const c = document.querySelector(`${sel} canvas`);
    if (!c) return 0;
    const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i] + data[i + 1] + data[i + 2] < 600) n++;
    return n;
  }, selector);

for (const backend of BACKENDS) {
  test(`transformer page on ${backend}: the tiny GPT's loss falls, sampling streams, the attention heatmap is drawn`, { timeout: 1_800_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = watchErrors(page);
    // A small model and few steps, so webgpu and webgl on SwiftShader finish in a reasonable time; wasm
    // trains 30 steps in a few seconds, too fast to stop reliably after step 3, so it gets more.
    const steps = backend === 'wasm' ? 150 : 30;
    await page.goto(`${base}#/transformer?backend=${backend}&steps=${steps}&layers=2&heads=2&width=32&context=16&batch=16&length=15`);
    await page.waitForFunction(() => document.querySelector('textarea.corpus')?.value.length > 1000, null, { timeout: 300_000 });
    await page.click('.run-controls .start');
    // Stop after a few steps: training halts; resume: it continues to the end.
    await page.waitForFunction(() => Number(document.getElementById('page')?.dataset.step) >= 3, null, { timeout: 900_000 });
    await page.click('.run-controls .pause');
    await page.waitForFunction(() => document.querySelector('.run-controls')?.dataset.state === 'paused');
    const stoppedAt = await page.evaluate(() => document.getElementById('page').dataset.step);
    await page.waitForTimeout(1500);
    assert.equal(await page.evaluate(() => document.getElementById('page').dataset.step), stoppedAt, 'training went on while stopped');
    await page.click('.run-controls .resume');
    await page.waitForFunction(() => document.querySelector('.run-controls')?.dataset.state === 'done', null, { timeout: 1_200_000 });
    assert.equal(await page.evaluate(() => document.getElementById('page').dataset.step), String(steps));
    const status = await page.getAttribute('.backend-status', 'data-backend');
    assert.equal(status, backend);
    const { first, last } = await page.evaluate(() => ({ ...document.getElementById('gpt-loss').dataset }));
    assert.ok(Number(last) < Number(first), `the loss did not fall: ${first} → ${last}`);

    // Count the updates of the generated text before the reply: streamed characters arrive one by one.
    await page.evaluate(() => {
      window.__updates = 0;
      new MutationObserver(() => window.__updates++).observe(document.querySelector('.generated-text'), { childList: true, characterData: true, subtree: true });
    });
    await page.click('button.generate');
    await page.waitForFunction(() => document.querySelector('pre.generation')?.dataset.state !== 'streaming', null, { timeout: 600_000 });
    assert.equal(await page.getAttribute('pre.generation', 'data-state'), 'done');
    const generated = await page.textContent('.generated-text');
    assert.equal([...generated].length, 15, `expected 15 sampled characters, got ${JSON.stringify(generated)}`);
    assert.ok((await page.evaluate(() => window.__updates)) >= 10, 'the characters were not streamed one by one');
    await page.waitForFunction(() => document.getElementById('gpt-attention')?.dataset.drawn === '1');
    await page.waitForTimeout(300); // one animation frame for ECharts
    const inked = await inkedPixels(page, '#gpt-attention');
    assert.ok(inked > 2000, `the attention heatmap looks empty (${inked} inked pixels)`);
    if (backend === 'wasm') {
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}transformer.png`, fullPage: true });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`decoding page on ${backend}: PYTHON decodes to phonemes with an n-best list, a beam tree and cross-attention`, { timeout: 1_800_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors = watchErrors(page);
    await page.goto(`${base}#/decoding?backend=${backend}&word=MOBY&steps=3`);
    // The page loads the model and decodes its first word by itself; then we type ours.
    await page.waitForFunction(() => document.getElementById('page')?.dataset.decoded === 'MOBY', null, { timeout: 900_000 });
    assert.equal(await page.getAttribute('.backend-status', 'data-backend'), backend);
    await page.fill('input.word', 'python');
    await page.click('button.decode');
    await page.waitForFunction(() => document.getElementById('page')?.dataset.decoded === 'PYTHON', null, { timeout: 900_000 });
    const rows = await page.$$eval('table.hyps tr[data-kind]', (trs) => trs.map((tr) => ({ kind: tr.dataset.kind, phones: tr.querySelector('.phones').textContent, score: Number(tr.querySelector('.score').textContent) })));
    const greedy = rows.filter((r) => r.kind === 'greedy');
    const beams = rows.filter((r) => r.kind === 'beam');
    const samples = rows.filter((r) => r.kind === 'sample');
    assert.equal(greedy.length, 1);
    assert.match(greedy[0].phones, /^[A-Z]{1,2}( [A-Z]{1,2})*$/, `greedy gave ${JSON.stringify(greedy[0].phones)}`);
    assert.equal(beams.length, 4);
    for (const b of beams) {
      assert.match(b.phones, /^[A-Z]{1,2}( [A-Z]{1,2})*$/);
      assert.ok(Number.isFinite(b.score) && b.score <= 0, `beam score ${b.score}`);
    }
    assert.deepEqual([...beams.map((b) => b.score)].sort((a, b) => b - a), beams.map((b) => b.score), 'the n-best list is not best first');
    assert.equal(samples.length, 5);
    const tree = await page.evaluate(() => ({
      nodes: document.querySelectorAll('svg.beam-tree circle').length,
      ranked: [...document.querySelectorAll('svg.beam-tree text')].filter((t) => /^#\d/.test(t.textContent)).length,
      note: document.querySelector('.beam-tree-box')?.previousElementSibling?.textContent ?? '',
    }));
    assert.ok(tree.nodes >= 8, `the beam tree has ${tree.nodes} nodes`);
    assert.equal(tree.ranked, 4, 'the tree should mark the 4 returned hypotheses');
    assert.match(tree.note, /matched the beams the search kept at every step/);
    await page.waitForTimeout(300);
    assert.ok((await inkedPixels(page, '#g2p-attention')) > 1000, 'the cross-attention heatmap looks empty');
    if (backend === 'wasm') {
      // A word the model cannot spell gets an error naming the letters it knows, not a console error.
      await page.fill('input.word', 'C3PO');
      await page.click('button.decode');
      await page.waitForFunction(() => document.getElementById('page')?.dataset.decoded === 'failed');
      assert.match(await page.textContent('.decode-results .error'), /spells only ABCDEFGHIJKLMNOPQRSTUVWXYZ'; 'C3PO' has "3"/);
      await page.fill('input.word', 'PYTHON');
      // Fine-tuning: a few steps with a live loss curve, then a decode with the changed model.
      await page.click('.run-controls .start');
      await page.waitForFunction(() => document.querySelector('.run-controls')?.dataset.state === 'done', null, { timeout: 900_000 });
      const { first, last } = await page.evaluate(() => ({ ...document.getElementById('g2p-loss').dataset }));
      assert.ok(Number.isFinite(Number(first)) && Number.isFinite(Number(last)), `fine-tuning losses ${first}, ${last}`);
      assert.equal(await page.evaluate(() => document.getElementById('page').dataset.step), '3');
      await page.click('button.decode');
      await page.waitForFunction(() => document.getElementById('page')?.dataset.decoded === 'PYTHON', null, { timeout: 900_000 });
      assert.equal(await page.locator('table.hyps tr[data-kind="beam"]').count(), 4);
      mkdirSync(SHOTS, { recursive: true });
      await page.screenshot({ path: `${SHOTS}decoding.png`, fullPage: true });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
}
