#!/usr/bin/env node
// Draws the attention heatmaps the documentation shows (docs/figures/*.png) with @dl/attention's own
// heatmapPng, so the pictures are what the library computes. Run after `pnpm build`:
//   node scripts/docs/make-figures.mjs
// The PNGs are committed (like docs/schedules' plots): the site build copies them, it does not draw them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// Resolve from @dl/attention's package, as a user of it would: one copy of tfjs-core for all.
const req = createRequire(path.join(repo, 'packages/attention/package.json'));
const tf = await import(req.resolve('@tensorflow/tfjs-core'));
await import(req.resolve('@tensorflow/tfjs-backend-cpu'));
const { heatmapPng, patternMask, scaledDotProductAttention } = await import(path.join(repo, 'packages/attention/dist/index.js'));
const { manualSeed } = await import(req.resolve('@dl/core'));
await tf.setBackend('cpu');
manualSeed(0);

const out = path.join(repo, 'docs/figures');
mkdirSync(out, { recursive: true });
const L = 24;
const figures = {
  // Softmax weights of causal scaled dot-product attention on random queries and keys (one head).
  'attention-causal': () => {
    const q = tf.randomNormal([1, 1, L, 16], 0, 1, 'float32', 1);
    const k = tf.randomNormal([1, 1, L, 16], 0, 1, 'float32', 2);
    const { weights } = scaledDotProductAttention(q, k, k, { causal: true, returnWeights: true });
    return tf.reshape(weights, [L, L]);
  },
  // Sparse patterns (white/yellow = attended): a sliding window, strided steps, and window + global tokens.
  'pattern-local': () => tf.cast(patternMask({ local: { lookBack: 3, lookForward: 3 } }, L), 'float32'),
  'pattern-strided': () => tf.cast(patternMask({ strided: { stride: 4, lookBack: 3, lookForward: 3 } }, L), 'float32'),
  'pattern-local-global': () => tf.cast(patternMask({ local: { lookBack: 2, lookForward: 2 }, global: { count: 2 } }, L), 'float32'),
};
for (const [name, make] of Object.entries(figures)) {
  const matrix = make();
  writeFileSync(path.join(out, `${name}.png`), await heatmapPng(matrix, { cellSize: 8 }));
  tf.dispose(matrix);
}
console.log(`wrote ${Object.keys(figures).length} heatmaps to ${path.relative(repo, out)}/`);
