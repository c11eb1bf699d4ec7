// Grapheme-to-phoneme on CMUdict with an encoder-decoder Transformer from @dl/transformer: training with
// the Trainer (AdamW, warmup + cosine, label smoothing, checkpoints every few minutes so a long run can
// be resumed), greedy evaluation during training, then beam search on the held-out words with word and
// phoneme error rates, a few words' n-best lists, and a cross-attention heatmap.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beamSearch, greedy } from '@dl/decode';
import { warmupCosine } from '@dl/optim';
import { loadCheckpoint, loadIntoModule } from '@dl/core';
import { EncoderDecoder, Trainer } from '@dl/transformer';
import { BOS, EOS, LETTERS, PHONES, batcher, decodePron, encodePron, encodeWord, errorRates, g2pSplits, padBatch, trainingPairs } from './cmudict.mjs';
import { attentionGridPng, attentionHeatmapPng, lossCurvePng } from './charts.mjs';
import { progressBar } from './progress.mjs';
import { saveModel } from './save.mjs';

/** The model of the full run (1.4 M parameters) and of the quick CI run. */
export const G2P_CONFIGS = {
  full: { dModel: 128, nHeads: 4, numEncoderLayers: 3, numDecoderLayers: 3, dimFeedforward: 512, epochs: 12, batchSize: 64, peakLr: 1e-3, warmupSteps: 1000 },
  quick: { dModel: 64, nHeads: 4, numEncoderLayers: 2, numDecoderLayers: 2, dimFeedforward: 256, epochs: 1, batchSize: 32, peakLr: 3e-3, warmupSteps: 30 },
};

function buildModel(c, seed = 1) {
  return new EncoderDecoder({
    srcVocabSize: LETTERS.length,
    tgtVocabSize: PHONES.length,
    dModel: c.dModel,
    nHeads: c.nHeads,
    numEncoderLayers: c.numEncoderLayers,
    numDecoderLayers: c.numDecoderLayers,
    dimFeedforward: c.dimFeedforward,
    normFirst: true,
    dropout: 0.1,
    padId: 0,
    seed,
  });
}

/**
 * Decodes `entries` in batches with greedy search or beam search; returns phoneme lists (best first).
 * `model` is anything with `eval()` and `decoding(src) → { step, state }`: a model of @dl/transformer, or
 * an ensemble of them (see g2p-ensemble.mjs).
 */
export async function predict(model, entries, { numBeams = 1, batchSize = 128, numReturn = 1, onBatch } = {}) {
  model.eval();
  const out = [];
  for (let i = 0; i < entries.length; i += batchSize) {
    const part = entries.slice(i, i + batchSize);
    const { src } = padBatch(part.map((e) => ({ src: encodeWord(e.word), tgt: [] })));
    const { step, state } = model.decoding(src);
    const prompts = part.map(() => [BOS]);
    const common = { state, eosTokenId: EOS, maxNewTokens: 32 };
    const r = numBeams === 1 ? await greedy(step, prompts, common) : await beamSearch(step, prompts, { ...common, numBeams, numReturnSequences: numReturn });
    for (const s of Array.isArray(state) ? state : [state]) s.dispose(); // an ensemble's state: one per member
    for (const hyps of r.sequences) out.push(numReturn === 1 ? decodePron(hyps[0].tokens) : hyps.map((h) => ({ pron: decodePron(h.tokens), score: h.score })));
    onBatch?.(Math.min(i + batchSize, entries.length));
  }
  return out;
}

/**
 * Trains a G2P model (anything with `loss(src, tgtIn, tgtOut, options)` and `decoding(src)`) with the
 * Trainer on `data`'s batches: AdamW with warmup + cosine, label smoothing 0.1, clipping, greedy
 * validation every epoch, a checkpoint every 200 steps in `runDir` (resumed from when present), and the
 * loss history. Returns the trainer and the history.
 */
export async function trainG2PModel({ model, data, c, valid, runDir, quick, log, label }) {
  const totalSteps = c.epochs * data.batchesPerEpoch;
  mkdirSync(runDir, { recursive: true });
  const ckpt = `${runDir}/checkpoint.safetensors`;
  const historyFile = `${runDir}/history.json`;
  const history = existsSync(historyFile) && !quick ? JSON.parse(readFileSync(historyFile, 'utf8')) : { losses: [], evals: [], trainSeconds: 0 };
  const bar = progressBar(totalSteps, `${label} training`);
  let sessionStart = Date.now();
  const trainer = new Trainer({
    model,
    batch: (p) => data.batch(p),
    loss: (b) => model.loss(b.src, b.tgtIn, b.tgtOut, { labelSmoothing: 0.1 }),
    optimizer: { lr: warmupCosine({ peak: c.peakLr, warmupSteps: c.warmupSteps, totalSteps, end: c.peakLr / 20 }), weightDecay: 0.01, betas: [0.9, 0.98] },
    clipGradNorm: 1,
    evalEvery: data.batchesPerEpoch,
    evaluate: async (m) => {
      const preds = await predict(m, valid);
      const { wer, per } = errorRates(valid, preds);
      log(`\n  epoch ${Math.round(trainer.step / data.batchesPerEpoch)}: validation (greedy) WER ${(100 * wer).toFixed(1)} %, PER ${(100 * per).toFixed(2)} %`);
      return per;
    },
    onProgress: (p) => {
      history.losses.push([p.step, p.loss]);
      if (p.evalMetric !== undefined) history.evals.push([p.step, p.evalMetric]);
      bar.update(p.step, { loss: p.loss.toFixed(3), lr: p.lr?.toExponential(2), eta: `${Math.round(p.etaMs / 60000)} min` });
    },
    checkpointEvery: quick ? 10_000 : 200,
    onCheckpoint: (bytes) => {
      history.trainSeconds += (Date.now() - sessionStart) / 1000;
      sessionStart = Date.now();
      writeFileSync(`${ckpt}.tmp`, bytes);
      renameSync(`${ckpt}.tmp`, ckpt); // atomic: a killed run never leaves half a checkpoint
      writeFileSync(historyFile, JSON.stringify(history));
    },
  });
  if (!quick && existsSync(ckpt)) {
    await trainer.restore(readFileSync(ckpt));
    log(`resumed from ${ckpt} at step ${trainer.step} (${(history.trainSeconds / 60).toFixed(1)} min trained so far)`);
  }
  await trainer.fit(totalSteps);
  bar.done();
  history.trainSeconds += (Date.now() - sessionStart) / 1000;
  if (!quick) {
    writeFileSync(`${ckpt}.tmp`, await trainer.checkpoint());
    renameSync(`${ckpt}.tmp`, ckpt);
    writeFileSync(historyFile, JSON.stringify(history));
  }
  const first = history.losses[0]?.[1];
  const last = history.losses.at(-1)?.[1];
  const early = history.losses.slice(0, 10).reduce((a, [, v]) => a + v, 0) / Math.max(1, Math.min(10, history.losses.length));
  const late = history.losses.slice(-10).reduce((a, [, v]) => a + v, 0) / Math.max(1, Math.min(10, history.losses.length));
  log(`training: ${trainer.step} steps, loss ${first?.toFixed(3)} → ${last?.toFixed(3)} (mean of the first 10 steps ${early.toFixed(3)}, of the last 10 ${late.toFixed(3)}), ${(history.trainSeconds / 60).toFixed(1)} min on ${tf.getBackend()}`);
  return { trainer, history };
}

/**
 * `--init-from` of the G2P runs: reads the model file `initFrom` (which must hold a `model` of the run's
 * kind, with its `config`, as the runs write), copies the architecture `keys` of its configuration into
 * the run's config `c` (so the weights always fit), and sets the continued run's schedule: a fresh
 * optimizer at half the peak learning rate, at most 500 warmup steps. Returns the saved configuration.
 */
export async function continuedRun(c, initFrom, model, keys) {
  const { tensors, metadata } = await loadCheckpoint(initFrom);
  tensors.forEach((t) => t.dispose());
  if (metadata.model !== model || !metadata.config) {
    throw new Error(`--init-from: ${initFrom} is not a model file of this run (expected metadata 'model' ${model} with its 'config', as the run writes; got model '${metadata.model}')`);
  }
  const saved = JSON.parse(metadata.config);
  for (const k of keys) c[k] = saved[k];
  c.peakLr /= 2;
  c.warmupSteps = Math.min(c.warmupSteps, 500);
  return saved;
}

/**
 * Trains (resuming from `runDir/checkpoint.safetensors` when present) and evaluates. With `initFrom` (a
 * model file written by `--save`, e.g. the one apps/web ships) training starts from those weights instead
 * of a fresh initialisation: a continued run, with a fresh optimizer and its own warmup + cosine schedule
 * at half the peak learning rate. `seed` (default 1) seeds the initialisation and the batch order:
 * runs with other seeds give differently trained members for an ensemble.
 * @param {{ quick?: boolean, runDir: string, outDir: string, epochs?: number, save?: string, evalBeams?: number, initFrom?: string, seed?: number }} options
 */
export async function runG2P({ quick = false, runDir, outDir, epochs, save, evalBeams = 4, initFrom, seed = 1, log = console.log }) {
  const c = { ...(quick ? G2P_CONFIGS.quick : G2P_CONFIGS.full) };
  if (epochs) c.epochs = epochs;
  if (initFrom) await continuedRun(c, initFrom, 'EncoderDecoder', ['dModel', 'nHeads', 'numEncoderLayers', 'numDecoderLayers', 'dimFeedforward']);
  const { train, valid, test } = g2pSplits(quick, log);
  const pairs = trainingPairs(train);
  const data = batcher(pairs, c.batchSize, seed);
  const model = buildModel(c, seed);
  if (initFrom) {
    await loadIntoModule(model, initFrom);
    log(`initialised from ${initFrom}; continued training at peak learning rate ${c.peakLr} (warmup ${c.warmupSteps} steps)`);
  }
  log(`model: ${model.numParameters().toLocaleString('en')} parameters, d=${c.dModel}, ${c.numEncoderLayers}+${c.numDecoderLayers} layers, pre-LN; ${c.epochs} epochs × ${data.batchesPerEpoch} batches of ${c.batchSize}`);
  mkdirSync(outDir, { recursive: true });
  const { trainer, history } = await trainG2PModel({ model, data, c, valid, runDir, quick, log, label: 'g2p' });

  // Held-out evaluation: greedy and beam search.
  const started = Date.now();
  const evalBar = progressBar(test.length, `beam search (${evalBeams} beams) on held-out words`);
  const beamPreds = await predict(model, test, { numBeams: evalBeams, onBatch: (n) => evalBar.update(n) });
  evalBar.done();
  const beam = errorRates(test, beamPreds);
  const greedyPreds = await predict(model, test);
  const greedyRates = errorRates(test, greedyPreds);
  log(`held-out (${test.length} words): greedy WER ${(100 * greedyRates.wer).toFixed(1)} %, PER ${(100 * greedyRates.per).toFixed(2)} %; beam ${evalBeams}: WER ${(100 * beam.wer).toFixed(1)} %, PER ${(100 * beam.per).toFixed(2)} % (${((Date.now() - started) / 1000).toFixed(0)} s to decode)`);

  // A few words with their n-best lists.
  const examples = ['PYTHON', 'TRANSFORMER', 'ATTENTION', 'QUIXOTIC', 'MOBY'];
  const nbest = await predict(model, examples.map((word) => ({ word })), { numBeams: 4, numReturn: 3 });
  examples.forEach((w, i) => {
    log(`  ${w.padEnd(12)} ${nbest[i].map((h) => `${h.pron.join(' ')} (${h.score.toFixed(2)})`).join('  |  ')}`);
  });

  // Cross-attention of the last decoder layer for one word: phonemes (rows) over letters (columns).
  const word = 'TRANSFORMER';
  const [pron] = await predict(model, [{ word }]);
  const { src, tgtIn } = padBatch([{ src: encodeWord(word), tgt: encodePron(pron) }]);
  const { logits, crossWeights } = model.forward(src, tgtIn, { returnWeights: true });
  const attention = tf.tidy(() => tf.mean(tf.squeeze(crossWeights.at(-1), [0]), 0)); // [Lt, Ls] averaged over heads
  const png = await attentionHeatmapPng(await attention.data(), [...pron, '</s>'], [...word], {
    title: `Cross-attention, last decoder layer (mean of heads): ${word}`,
    rowTitle: 'predicted phoneme',
    colTitle: 'letter',
  });
  writeFileSync(`${outDir}/g2p-cross-attention.png`, png);
  // Every decoder layer and head: lower layers spread out, upper ones align letters with phonemes.
  const perHead = await Promise.all(crossWeights.map((w) => w.data())); // each [1, H, Lt, Ls]
  const grid = await attentionGridPng(perHead, c.nHeads, [...pron, '</s>'], [...word], {
    title: `Cross-attention of every decoder layer and head: ${word}`,
    rowTitle: 'predicted phoneme',
    colTitle: 'letter',
    layerName: 'decoder layer',
  });
  writeFileSync(`${outDir}/g2p-cross-attention-heads.png`, grid);
  log(`cross-attention of '${word}' → ${pron.join(' ')}: ${outDir}/g2p-cross-attention.png (mean of heads), ${outDir}/g2p-cross-attention-heads.png (every layer and head)`);
  const smooth = (pts, k = 50) => pts.map(([s], i) => [s, pts.slice(Math.max(0, i - k + 1), i + 1).reduce((a, [, v]) => a + v, 0) / Math.min(i + 1, k)]);
  writeFileSync(`${outDir}/g2p-loss.png`, await lossCurvePng({ 'training loss (50-step mean)': smooth(history.losses) }, { title: 'G2P Transformer: label-smoothed cross-entropy', yTitle: 'loss (nats per phoneme)' }));
  tf.dispose([logits, attention, ...crossWeights]);
  // The run directory always gets the model (an ensemble run reads it from there); --save also writes it elsewhere.
  const meta = { model: 'EncoderDecoder', config: model.config, letters: LETTERS, phones: PHONES, specials: { pad: 0, bos: BOS, eos: EOS }, heldOut: { wer: beam.wer, per: beam.per, beams: evalBeams } };
  for (const dir of save ? [runDir, save] : [runDir]) await saveModel(dir, 'g2p-transformer', model, meta);
  trainer.dispose();
  model.dispose();
  return { greedy: greedyRates, beam, steps: trainer.step, trainMinutes: history.trainSeconds / 60 };
}
