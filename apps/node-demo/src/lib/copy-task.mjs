// The copy task with out-of-vocabulary words (See et al. 2017's pointer-generator): sentences of common
// words and invented names; the target is the sentence itself. The names are outside the model's
// vocabulary (the model reads them as <unk>), and the held-out sentences use names never seen in
// training, so only copying can reproduce them. Two models of the same size train on the same batches:
// a pointer-generator (PointerGenerator on an EncoderDecoder, decoded through @dl/decode's copyStep and
// extended vocabulary) and the plain EncoderDecoder, which can only write <unk> for a name.
import { writeFileSync, mkdirSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@dl/core';
import { beamSearch, copyStep, extendSource, greedy } from '@dl/decode';
import { AdamW, warmupCosine } from '@dl/optim';
import { EncoderDecoder, PointerGenerator } from '@dl/transformer';
import { attentionHeatmapPng, lossCurvePng } from './charts.mjs';
import { progressBar } from './progress.mjs';

const PAD = 0;
const BOS = 1;
const EOS = 2;
const UNK = 3;
const WORDS = ('the a cat dog saw met likes sees house tree big small red blue and with near old new ' +
  'visits knows calls runs to from city park river book reads writes under over one two three friend').split(' ');
/** The model's vocabulary: 4 specials then the common words (V = 41). */
const VOCAB = new Map([['<pad>', PAD], ['<bos>', BOS], ['<eos>', EOS], ['<unk>', UNK], ...WORDS.map((w, i) => [w, 4 + i])]);
const V = VOCAB.size;
const SYMBOLS = [...VOCAB.keys()];

/** Invented names (consonant-vowel syllables), capitalised so they read as names: e.g. 'Tovaki'. */
function names(count, seed) {
  const rng = new Rng(seed);
  const c = 'bdfgklmnprstvz';
  const v = 'aeiou';
  const pick = (s) => s[Math.floor(rng.uniform() * s.length)];
  const out = new Set();
  while (out.size < count) {
    const syl = 2 + Math.floor(rng.uniform() * 2);
    let n = '';
    for (let i = 0; i < syl; i++) n += pick(c) + pick(v);
    out.add(n[0].toUpperCase() + n.slice(1));
  }
  return [...out];
}

export const COPY_CONFIGS = {
  full: { steps: 600, batchSize: 32, dModel: 64, nHeads: 4, layers: 2, peakLr: 3e-3, test: 200 },
  quick: { steps: 120, batchSize: 32, dModel: 48, nHeads: 4, layers: 1, peakLr: 5e-3, test: 64 },
};

/** A sentence of 4–9 tokens; each is a name with probability 0.25. */
function sentence(rng, pool) {
  const L = 4 + Math.floor(rng.uniform() * 6);
  return Array.from({ length: L }, () => (rng.uniform() < 0.25 ? pool[Math.floor(rng.uniform() * pool.length)] : WORDS[Math.floor(rng.uniform() * WORDS.length)]));
}

/** Pads copy sources into model inputs, extended-id sources (−1 pads) and teacher-forced targets. */
function batch(sources) {
  const Ls = Math.max(...sources.map((s) => s.modelIds.length));
  const pad = (a, n, v) => [...a, ...Array(n - a.length).fill(v)];
  return {
    src: sources.map((s) => pad(s.modelIds, Ls, PAD)), // [B, Ls] model ids (names as <unk>)
    srcExt: sources.map((s) => pad(s.extendedIds, Ls, -1)), // [B, Ls] extended ids
    tgtIn: sources.map((s) => pad([BOS, ...s.modelIds], Ls + 1, PAD)), // [B, Ls+1] what the decoder reads
    tgtOut: sources.map((s) => pad([...s.extendedIds, EOS], Ls + 1, PAD)), // [B, Ls+1] extended ids to predict
    tgtOutPlain: sources.map((s) => pad([...s.modelIds, EOS], Ls + 1, PAD)), // [B, Ls+1] what a plain model can predict
  };
}

/** Exact copies and the share of names reproduced, from decoded extended ids. */
function score(sources, outputs) {
  let exact = 0;
  let names = 0;
  let copied = 0;
  sources.forEach((s, i) => {
    const out = outputs[i];
    if (out.join() === [...s.extendedIds, EOS].join()) exact++;
    s.extendedIds.forEach((id, j) => {
      if (id >= V) {
        names++;
        if (out[j] === id) copied++;
      }
    });
  });
  return { exact: exact / sources.length, copied: copied / names, names };
}

const words = (s, ids) => ids.filter((t) => t !== EOS).map((t) => (t >= V ? s.oovs[t - V] : SYMBOLS[t]));
const pct = (x) => `${(100 * x).toFixed(1)} %`;

/**
 * Trains both models and reports held-out exact copies and copied names (greedy and beam 4), a few
 * outputs with their beams, the copy attention with p_gen as a heatmap, and the loss curves.
 */
export async function runCopyTask({ quick = false, outDir, log = console.log }) {
  const c = quick ? COPY_CONFIGS.quick : COPY_CONFIGS.full;
  const pool = names(1200, 1);
  const trainNames = pool.slice(0, 1000);
  const testNames = pool.slice(1000); // never seen in training
  const source = (rng, p) => extendSource(sentence(rng, p), VOCAB, V, UNK);
  const make = (seed) => new EncoderDecoder({ srcVocabSize: V, tgtVocabSize: V, dModel: c.dModel, nHeads: c.nHeads, dimFeedforward: 4 * c.dModel, numEncoderLayers: c.layers, numDecoderLayers: c.layers, normFirst: true, dropout: 0, padId: PAD, seed });
  const pg = new PointerGenerator(make(1), { seed: 2 });
  const plain = make(1);
  log(`copy task: sentences of 4–9 tokens from ${WORDS.length} common words and invented names (25 %); vocabulary ${V} (names are <unk> to the model); ${trainNames.length} training names, ${testNames.length} held-out names`);
  log(`models: ${c.layers}+${c.layers} layers, d=${c.dModel}; pointer-generator ${pg.numParameters().toLocaleString('en')} parameters, plain ${plain.numParameters().toLocaleString('en')}; ${c.steps} steps of ${c.batchSize}`);

  const lr = warmupCosine({ peak: c.peakLr, warmupSteps: Math.round(c.steps / 10), totalSteps: c.steps, end: c.peakLr / 20 });
  const optPg = new AdamW(pg.parameters(), { lr, weightDecay: 0.01 });
  const optPlain = new AdamW(plain.parameters(), { lr, weightDecay: 0.01 });
  const rng = new Rng(5);
  const losses = { 'pointer-generator': [], 'plain encoder-decoder': [] };
  const bar = progressBar(c.steps, 'copy task training');
  const started = Date.now();
  for (let s = 0; s < c.steps; s++) {
    const b = batch(Array.from({ length: c.batchSize }, () => source(rng, trainNames)));
    const l1 = await optPg.minimize(() => pg.loss(b.src, b.srcExt, b.tgtIn, b.tgtOut));
    const l2 = await optPlain.minimize(() => plain.loss(b.src, b.tgtIn, b.tgtOutPlain));
    const [v1, v2] = [(await l1.data())[0], (await l2.data())[0]];
    tf.dispose([l1, l2]);
    losses['pointer-generator'].push([s + 1, v1]);
    losses['plain encoder-decoder'].push([s + 1, v2]);
    bar.update(s + 1, { 'pointer-generator': v1.toFixed(3), plain: v2.toFixed(3) });
  }
  bar.done();
  log(`training: ${((Date.now() - started) / 1000).toFixed(0)} s for both models on ${tf.getBackend()}`);

  // Held-out sentences with unseen names.
  pg.eval();
  plain.eval();
  const heldOut = new Rng(1234);
  const test = Array.from({ length: c.test }, () => source(heldOut, testNames));
  const b = batch(test);
  const sources = test.map((s) => s.extendedIds);
  const common = { eosTokenId: EOS, maxNewTokens: 12 };
  const decodePg = async (numBeams) => {
    const { step, state } = pg.decoding(b.src);
    const copying = copyStep(step, { sources, vocabSize: V, unkTokenId: UNK });
    const prompts = b.src.map(() => [BOS]);
    const r = numBeams === 1 ? await greedy(copying, prompts, { ...common, state }) : await beamSearch(copying, prompts, { ...common, state, numBeams, numReturnSequences: 3 });
    state.dispose();
    return r.sequences;
  };
  const decodePlain = async (numBeams) => {
    const { step, state } = plain.decoding(b.src);
    const prompts = b.src.map(() => [BOS]);
    const r = numBeams === 1 ? await greedy(step, prompts, { ...common, state }) : await beamSearch(step, prompts, { ...common, state, numBeams });
    state.dispose();
    return r.sequences;
  };
  const pgGreedy = await decodePg(1);
  const pgBeam = await decodePg(4);
  const plainGreedy = await decodePlain(1);
  const plainBeam = await decodePlain(4);
  const rows = [
    ['pointer-generator', 'greedy', score(test, pgGreedy.map((h) => h[0].tokens))],
    ['pointer-generator', 'beam 4', score(test, pgBeam.map((h) => h[0].tokens))],
    ['plain encoder-decoder', 'greedy', score(test, plainGreedy.map((h) => h[0].tokens))],
    ['plain encoder-decoder', 'beam 4', score(test, plainBeam.map((h) => h[0].tokens))],
  ];
  log(`\nheld-out: ${test.length} sentences, ${rows[0][2].names} names never seen in training`);
  log('| model | decoding | exact copies | names copied |');
  log('| --- | --- | ---: | ---: |');
  for (const [model, dec, r] of rows) log(`| ${model} | ${dec} | ${pct(r.exact)} | ${pct(r.copied)} |`);

  log('\nbeam search (4 beams), 3 best of the pointer-generator, on held-out sentences:');
  for (let i = 0; i < 3; i++) {
    log(`  source: ${words(test[i], test[i].extendedIds).join(' ')}`);
    pgBeam[i].forEach((h, k) => log(`    ${k + 1}. ${words(test[i], h.tokens).join(' ')}  (score ${h.score.toFixed(3)})`));
    log(`    plain: ${words(test[i], plainGreedy[i][0].tokens).join(' ')}`);
  }

  // The copy attention and p_gen of one held-out sentence, teacher-forced on the pointer-generator's output.
  mkdirSync(outDir, { recursive: true });
  const k = test.findIndex((s) => s.oovs.length >= 2);
  const ex = test[k >= 0 ? k : 0];
  const outIds = pgGreedy[k >= 0 ? k : 0][0].tokens; // extended ids, ending in EOS
  const tgtIn = [[BOS, ...outIds.slice(0, -1).map((t) => (t >= V ? UNK : t))]]; // [1, Lt]
  const f = pg.forward([ex.modelIds], [ex.extendedIds], tgtIn);
  const [att, pGen] = await Promise.all([f.attention.data(), f.pGen.data()]); // [1, Lt, Ls], [1, Lt]
  tf.dispose([f.probs, f.pGen, f.attention, f.logits]);
  const outWords = [...words(ex, outIds), '</s>'];
  const png = await attentionHeatmapPng(att, outWords.map((w, t) => `${w} (p_gen ${pGen[t].toFixed(2)})`), words(ex, ex.extendedIds), {
    title: 'Pointer-generator: copy attention (rows: output word and p_gen)',
    rowTitle: 'output word',
    colTitle: 'source word',
  });
  writeFileSync(`${outDir}/copy-attention.png`, png);
  const smooth = (pts, w = 20) => pts.map(([s], i) => [s, pts.slice(Math.max(0, i - w + 1), i + 1).reduce((a, [, v]) => a + v, 0) / Math.min(i + 1, w)]);
  writeFileSync(`${outDir}/copy-loss.png`, await lossCurvePng(Object.fromEntries(Object.entries(losses).map(([n, p]) => [n, smooth(p)])), { title: 'Copy task with unseen names: training loss (20-step mean)', yTitle: 'cross-entropy (nats per token)' }));
  log(`copy attention of '${words(ex, ex.extendedIds).join(' ')}': ${outDir}/copy-attention.png; loss curves: ${outDir}/copy-loss.png`);
  optPg.dispose();
  optPlain.dispose();
  pg.dispose();
  plain.dispose();
  return Object.fromEntries(rows.map(([m, d, r]) => [`${m} ${d}`, r]));
}
