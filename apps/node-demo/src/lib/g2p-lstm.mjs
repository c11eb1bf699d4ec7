// Grapheme-to-phoneme on CMUdict with the recurrent baseline the Transformer is compared with: a
// bidirectional LSTM encoder and an LSTM decoder with Bahdanau et al. (2015)'s additive attention and input
// feeding (RNNEncoderDecoder from @dl/transformer). It uses the same split, validation words, batches,
// Trainer schedule (AdamW, warmup + cosine, label smoothing, clipping, resumable checkpoints), decoding and
// error rates as the Transformer's run in g2p.mjs, so the two runs' WER, PER and training time can be
// compared directly.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { loadIntoModule } from '@dl/core';
import { RNNEncoderDecoder, Trainer } from '@dl/transformer';
import { BOS, EOS, LETTERS, PHONES, batcher, encodePron, encodeWord, errorRates, g2pSplits, padBatch, trainingPairs } from './cmudict.mjs';
import { attentionHeatmapPng, lossCurvePng } from './charts.mjs';
import { continuedRun, predict, trainG2PModel } from './g2p.mjs';
import { progressBar } from './progress.mjs';
import { saveModel } from './save.mjs';

/**
 * The LSTM models. The full one has 1.46 M parameters, close to the Transformer's 1.4 M, and uses the same
 * epochs and batch size. The quick one is for CI.
 */
export const G2P_LSTM_CONFIGS = {
  full: { embeddingDim: 64, hiddenSize: 128, decoderHiddenSize: 256, attentionSize: 128, numEncoderLayers: 2, numDecoderLayers: 1, dropout: 0.2, epochs: 12, batchSize: 64, peakLr: 2e-3, warmupSteps: 500 },
  quick: { embeddingDim: 32, hiddenSize: 64, decoderHiddenSize: 128, attentionSize: 64, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0.1, epochs: 1, batchSize: 32, peakLr: 1e-2, warmupSteps: 10 },
};

function buildModel(c, seed = 1, cell = 'lstm') {
  return new RNNEncoderDecoder({
    srcVocabSize: LETTERS.length,
    tgtVocabSize: PHONES.length,
    embeddingDim: c.embeddingDim,
    hiddenSize: c.hiddenSize,
    decoderHiddenSize: c.decoderHiddenSize,
    attentionSize: c.attentionSize,
    numEncoderLayers: c.numEncoderLayers,
    numDecoderLayers: c.numDecoderLayers,
    cell,
    dropout: c.dropout,
    padId: 0,
    seed,
  });
}

/**
 * Trains the LSTM (or GRU) encoder-decoder and evaluates it. A run resumes from `runDir/checkpoint.safetensors`
 * when that file exists. The trained model is written to `runDir/g2p-<cell>.safetensors` (and to `save`
 * when given) with its configuration in the metadata, for the ensemble run and for loading elsewhere.
 * `seed` (default 1) seeds the initialisation and the batch order. `cell: 'gru'` trains the same model with
 * GRU recurrences instead (file and plot names then say `g2p-gru`): a different kind of ensemble member.
 * With `initFrom` (a file this run wrote, e.g. `.runs/g2p-lstm/g2p-lstm.safetensors`) training continues
 * from those weights, as the Transformer's `--init-from` does: the file's configuration decides the model,
 * and a fresh optimizer runs its own warmup + cosine schedule at half the peak learning rate.
 * @param {{ quick?: boolean, runDir: string, outDir: string, epochs?: number, evalBeams?: number, save?: string, seed?: number, cell?: 'lstm' | 'gru', initFrom?: string }} options
 */
export async function runG2PLSTM({ quick = false, runDir, outDir, epochs, evalBeams = 4, save, seed = 1, cell = 'lstm', initFrom, log = console.log }) {
  const name = `g2p-${cell}`; // g2p-lstm or g2p-gru: the files' and progress lines' name
  const CELL = cell.toUpperCase();
  const c = { ...(quick ? G2P_LSTM_CONFIGS.quick : G2P_LSTM_CONFIGS.full) };
  if (epochs) c.epochs = epochs;
  if (initFrom) {
    const saved = await continuedRun(c, initFrom, 'RNNEncoderDecoder', ['embeddingDim', 'hiddenSize', 'decoderHiddenSize', 'attentionSize', 'numEncoderLayers', 'numDecoderLayers', 'dropout']);
    const savedCell = saved.cell ?? 'lstm'; // RNNEncoderDecoder's default
    if (savedCell !== cell) throw new Error(`--init-from: ${initFrom} has cell ${savedCell} but --cell is ${cell}; pass --cell=${savedCell}`);
  }
  const { train, valid, test } = g2pSplits(quick, log);
  const pairs = trainingPairs(train);
  const data = batcher(pairs, c.batchSize, seed);
  const model = buildModel(c, seed, cell);
  if (initFrom) {
    await loadIntoModule(model, initFrom);
    log(`initialised from ${initFrom}; continued training at peak learning rate ${c.peakLr} (warmup ${c.warmupSteps} steps)`);
  }
  log(
    `model: ${model.numParameters().toLocaleString('en')} parameters, bidirectional ${CELL} encoder ${c.numEncoderLayers} × ${c.hiddenSize}·2, ` +
      `${CELL} decoder ${c.numDecoderLayers} × ${c.decoderHiddenSize} with additive attention; ${c.epochs} epochs × ${data.batchesPerEpoch} batches of ${c.batchSize}`,
  );
  mkdirSync(outDir, { recursive: true });
  const { trainer, history } = await trainG2PModel({ model, data, c, valid, runDir, quick, log, label: name });

  // A few words with their n-best lists.
  const examples = ['PYTHON', 'TRANSFORMER', 'ATTENTION', 'QUIXOTIC', 'MOBY'];
  const nbest = await predict(model, examples.map((word) => ({ word })), { numBeams: 4, numReturn: 3 });
  examples.forEach((w, i) => {
    log(`  ${w.padEnd(12)} ${nbest[i].map((h) => `${h.pron.join(' ')} (${h.score.toFixed(2)})`).join('  |  ')}`);
  });

  // The additive attention for one word: phonemes (rows) over letters (columns).
  const word = 'TRANSFORMER';
  const [pron] = await predict(model, [{ word }]);
  const { src, tgtIn } = padBatch([{ src: encodeWord(word), tgt: encodePron(pron) }]);
  const { logits, attention } = model.forward(src, tgtIn); // [1, Lt, V], [1, Lt, Ls]
  const png = await attentionHeatmapPng(await attention.data(), [...pron, '</s>'], [...word], {
    title: `${CELL} decoder's additive attention: ${word}`,
    rowTitle: 'predicted phoneme',
    colTitle: 'letter',
  });
  writeFileSync(`${outDir}/${name}-attention.png`, png);
  log(`additive attention of '${word}' → ${pron.join(' ')}: ${outDir}/${name}-attention.png`);
  const smooth = (pts, k = 50) => pts.map(([s], i) => [s, pts.slice(Math.max(0, i - k + 1), i + 1).reduce((a, [, v]) => a + v, 0) / Math.min(i + 1, k)]);
  writeFileSync(`${outDir}/${name}-loss.png`, await lossCurvePng({ 'training loss (50-step mean)': smooth(history.losses) }, { title: `G2P ${CELL} encoder-decoder: label-smoothed cross-entropy`, yTitle: 'loss (nats per phoneme)' }));
  tf.dispose([logits, attention]);

  // Held-out evaluation, greedy and with beam search, printed last in the Transformer's format plus the
  // training time.
  const started = Date.now();
  const evalBar = progressBar(test.length, `beam search (${evalBeams} beams) on held-out words`);
  const beamPreds = await predict(model, test, { numBeams: evalBeams, onBatch: (n) => evalBar.update(n) });
  evalBar.done();
  const beam = errorRates(test, beamPreds);
  const greedyRates = errorRates(test, await predict(model, test));
  const trainMinutes = history.trainSeconds / 60;
  const result = { greedy: greedyRates, beam, steps: trainer.step, trainMinutes, backend: tf.getBackend() };
  writeFileSync(`${runDir}/result.json`, JSON.stringify(result, null, 2));
  const meta = { model: 'RNNEncoderDecoder', config: model.config, letters: LETTERS, phones: PHONES, specials: { pad: 0, bos: BOS, eos: EOS }, heldOut: { wer: beam.wer, per: beam.per, beams: evalBeams } };
  for (const dir of save ? [runDir, save] : [runDir]) await saveModel(dir, name, model, meta);
  trainer.dispose();
  model.dispose();
  log(
    `held-out (${test.length} words): greedy WER ${(100 * greedyRates.wer).toFixed(1)} %, PER ${(100 * greedyRates.per).toFixed(2)} %; ` +
      `beam ${evalBeams}: WER ${(100 * beam.wer).toFixed(1)} %, PER ${(100 * beam.per).toFixed(2)} % (${((Date.now() - started) / 1000).toFixed(0)} s to decode); ` +
      `${CELL} trained ${trainMinutes.toFixed(1)} min on ${tf.getBackend()}`,
  );
  return result;
}
