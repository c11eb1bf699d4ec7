// Grapheme-to-phoneme with an ensemble: the Transformer and the LSTM encoder-decoder (or any saved G2P
// models) decode together through @dl/decode's `ensemble`, which averages their next-token probabilities
// at every step of beam search. Each model is also decoded alone on the same held-out words, so the
// table shows what combining them buys.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint, loadIntoModule } from '@dl/core';
import { ensemble } from '@dl/decode';
import { EncoderDecoder, RNNEncoderDecoder } from '@dl/transformer';
import { LETTERS, PHONES, errorRates, g2pSplits } from './cmudict.mjs';
import { predict } from './g2p.mjs';
import { progressBar } from './progress.mjs';

const MODELS = { EncoderDecoder, RNNEncoderDecoder };

/**
 * The ensemble's default members: the two shipped models (the Transformer apps/web uses and the 16 + 4-epoch
 * LSTM in apps/node-demo/models, which together meet the README's target), or with `quick` the models the
 * quick runs wrote under `runsDir`. `--members=a.safetensors,b.safetensors` picks others, e.g.
 * `.runs/g2p-lstm/g2p-lstm.safetensors`.
 */
export function defaultMembers(quick, runsDir) {
  if (quick) return [`${runsDir}g2p-quick/g2p-transformer.safetensors`, `${runsDir}g2p-lstm-quick/g2p-lstm.safetensors`];
  return [fileURLToPath(new URL('../../../web/public/models/g2p-transformer.safetensors', import.meta.url)), fileURLToPath(new URL('../../models/g2p-lstm.safetensors', import.meta.url))];
}

/** Builds the model a file written by the G2P runs describes (its metadata) and loads its weights. */
export async function loadG2PModel(path) {
  const { tensors, metadata } = await loadCheckpoint(path);
  tensors.forEach((t) => t.dispose());
  const Model = MODELS[metadata.model];
  if (!Model || !metadata.config) throw new Error(`${path}: not a G2P model file (expected 'model' of ${Object.keys(MODELS).join(' or ')} and 'config' in its metadata)`);
  // The vocabularies must be this demo's: the members share letter and phoneme ids.
  if (metadata.letters !== JSON.stringify(LETTERS) || metadata.phones !== JSON.stringify(PHONES)) throw new Error(`${path}: its letters or phonemes differ from this demo's vocabularies`);
  const config = JSON.parse(metadata.config);
  const model = new Model(config);
  await loadIntoModule(model, path);
  return { model, kind: metadata.model === 'EncoderDecoder' ? 'Transformer' : `${config.cell === 'gru' ? 'GRU' : 'LSTM'} + attention`, heldOut: JSON.parse(metadata.heldOut ?? 'null') };
}

/** Something `predict` can decode with: the members' decodings combined by `ensemble`. */
export function ensembleDecoder(models, options) {
  return {
    eval: () => models.forEach((m) => m.eval()),
    decoding: (src) => ensemble(models.map((m) => m.decoding(src)), options),
  };
}

/**
 * Decodes the held-out words with every member alone and with the ensemble (beam search), and prints
 * the error rates side by side. With `storedMemberScores` (full runs), members are not decoded again: their
 * figures are the ones their runs wrote into their files (the same words, beams and code), marked as such.
 * @param {{ members: string[], weights?: number[], quick?: boolean, numBeams?: number, storedMemberScores?: boolean, log?: (s: string) => void }} options
 */
export async function runG2PEnsemble({ members, weights, quick = false, numBeams = 4, storedMemberScores = false, log = console.log }) {
  const missing = members.filter((p) => !existsSync(p));
  if (missing.length) throw new Error(`g2p-ensemble: no model file at ${missing.join(', ')} (train the members first, or pass --members=a.safetensors,b.safetensors)`);
  const { test } = g2pSplits(quick, log);
  const loaded = [];
  for (const path of members) loaded.push({ path, ...(await loadG2PModel(path)) });
  const rows = [];
  const decode = async (label, model) => {
    const started = Date.now();
    const bar = progressBar(test.length, `${label}: beam search (${numBeams} beams)`);
    const preds = await predict(model, test, { numBeams, onBatch: (n) => bar.update(n) });
    bar.done();
    const rates = errorRates(test, preds);
    rows.push({ label, ...rates, seconds: (Date.now() - started) / 1000 });
    return rates;
  };
  for (const [i, m] of loaded.entries()) {
    const label = `member ${i + 1} (${m.kind}, ${m.model.numParameters().toLocaleString('en')} parameters)`;
    // Quick runs always decode: a file's stored figures may come from the full split.
    if (!storedMemberScores || quick) await decode(label, m.model);
    else if (m.heldOut && m.heldOut.beams === numBeams) rows.push({ label, wer: m.heldOut.wer, per: m.heldOut.per, stored: true });
    else throw new Error(`g2p-ensemble: ${m.path} has no held-out figures for beam ${numBeams} in its metadata (decode it: drop --stored-member-scores)`);
  }
  const combined = await decode(`ensemble of ${loaded.length}${weights ? ` (weights ${weights.join(', ')})` : ''}`, ensembleDecoder(loaded.map((m) => m.model), { weights }));
  log(`held-out (${test.length} words), beam ${numBeams}:`);
  for (const r of rows) log(`  ${r.label.padEnd(58)} WER ${(100 * r.wer).toFixed(2).padStart(6)} %  PER ${(100 * r.per).toFixed(2).padStart(5)} %  (${r.stored ? 'stored in its file by its run' : `${r.seconds.toFixed(0)} s to decode`})`);
  loaded.forEach((m, i) => log(`  member ${i + 1}: ${m.path}`));
  for (const m of loaded) m.model.dispose();
  return { members: rows.slice(0, -1), ensemble: combined };
}
