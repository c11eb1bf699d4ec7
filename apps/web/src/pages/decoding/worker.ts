/**
 * The G2P decoding worker: loads the shipped grapheme-to-phoneme `EncoderDecoder` checkpoint (its
 * configuration and vocabularies come from the safetensors metadata, so a retrained model of another
 * size drops in unchanged) and answers decode requests with @dl/decode's greedy search, beam search
 * (n-best and the recorded beam tree) and sampling, plus the cross-attention of the best hypothesis.
 * A run may also fine-tune the model on CMUdict training words (label-smoothed cross-entropy, AdamW),
 * one optimizer step per `step`, so decodes between steps show the model changing.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeSafetensors, loadIntoModule } from '@dl/core';
import { beamSearch, greedy, sample } from '@dl/decode';
import { EncoderDecoder, Trainer } from '@dl/transformer';
import { serveTrainer } from '../../worker/serve';
import { beamRecorder, buildBeamTree, type BeamTree } from './beam-tree';

export interface DecodingRunConfig {
  /** URL of the safetensors checkpoint. */
  modelUrl: string;
  /** URL of the fine-tuning pairs (`[[word, "PH ON EMES"], …]`). */
  dataUrl: string;
  /** Fine-tuning steps; 0 only loads the model. */
  steps: number;
  batchSize: number;
  lr: number;
}

export type DecodingProgress = { step: number; loss?: number; done: boolean };

export interface ModelDescription {
  type: 'info';
  parameters: number;
  config: Record<string, unknown>;
  letters: string[];
  phones: string[];
  heldOut?: { wer?: number; per?: number; beams?: number };
  bytes: number;
}

export interface DecodeRequest {
  type: 'decode';
  word: string;
  numBeams: number;
  numReturn: number;
  samples: number;
  temperature: number;
  seed: number;
}

export interface Hyp {
  phones: string[];
  tokenLogprobs: number[];
  sumLogprob: number;
  score: number;
  finishReason: string;
}

export interface DecodeResult {
  word: string;
  greedy: Hyp;
  beams: Hyp[];
  samples: Hyp[];
  tree: BeamTree;
  /** The target vocabulary (token id → phoneme or special), for labelling the tree. */
  tokenLabels: string[];
  /** Cross-attention of the best beam, last decoder layer, mean of heads: rows = phonemes + EOS, columns = letters. */
  attention: { rows: string[]; cols: string[]; values: number[] };
}

const MAX_NEW_TOKENS = 32;

let model: EncoderDecoder;
let meta: { letters: string[]; phones: string[]; pad: number; bos: number; eos: number; heldOut?: ModelDescription['heldOut']; config: Record<string, unknown>; bytes: number };
let trainer: Trainer<{ src: number[][]; tgtIn: number[][]; tgtOut: number[][] }> | null = null;
let cfg: DecodingRunConfig;

function parseMeta(m: Record<string, string>, where: string) {
  for (const k of ['config', 'letters', 'phones', 'specials']) if (!(k in m)) throw new Error(`${where}: the checkpoint's metadata has no '${k}' (keys: ${Object.keys(m).join(', ') || 'none'}); write it with \`node src/main.mjs transformer --only=g2p --save=…\``);
  const specials = JSON.parse(m.specials) as { pad: number; bos: number; eos: number };
  return { config: JSON.parse(m.config), letters: JSON.parse(m.letters) as string[], phones: JSON.parse(m.phones) as string[], ...specials, heldOut: m.heldOut ? JSON.parse(m.heldOut) : undefined };
}

function encodeWord(word: string): number[] {
  const ids = [...word].map((c) => meta.letters.indexOf(c));
  const bad = [...word].filter((_, i) => ids[i] <= meta.eos);
  if (bad.length) throw new Error(`the model spells only ${meta.letters.slice(meta.eos + 1).join('')}; '${word}' has ${[...new Set(bad)].map((c) => JSON.stringify(c)).join(', ')}`);
  return ids;
}

function hyp(h: { tokens: number[]; tokenLogprobs: number[]; sumLogprob: number; score: number; finishReason: string }): Hyp {
  const phones = [];
  for (const t of h.tokens) {
    if (t === meta.eos) break;
    phones.push(meta.phones[t]);
  }
  return { phones, tokenLogprobs: h.tokenLogprobs, sumLogprob: h.sumLogprob, score: h.score, finishReason: h.finishReason };
}

/** Fine-tuning batches: pairs cycled in a fixed shuffled order, padded per batch. */
function batcher(pairs: [string, string][]) {
  const data = pairs.map(([w, p]) => ({ src: encodeWord(w), tgt: p.split(' ').map((x) => meta.phones.indexOf(x)) }));
  return (position: number) => {
    const items = Array.from({ length: cfg.batchSize }, (_, i) => data[((position * cfg.batchSize + i) * 7919) % data.length]);
    const ls = Math.max(...items.map((d) => d.src.length));
    const lt = Math.max(...items.map((d) => d.tgt.length)) + 1;
    const pad = (a: number[], n: number) => [...a, ...Array(n - a.length).fill(meta.pad)];
    return { src: items.map((d) => pad(d.src, ls)), tgtIn: items.map((d) => pad([meta.bos, ...d.tgt], lt)), tgtOut: items.map((d) => pad([...d.tgt, meta.eos], lt)) };
  };
}

/** Runs training steps and decodes one at a time: the Trainer switches dropout on while it steps. */
let queue: Promise<unknown> = Promise.resolve();
function exclusive<R>(fn: () => Promise<R>): Promise<R> {
  const run = queue.then(fn);
  queue = run.catch(() => undefined);
  return run;
}

async function withDecoding<R>(src: number[][], run: (d: ReturnType<EncoderDecoder['decoding']>) => Promise<R>): Promise<R> {
  const d = model.decoding(src);
  try {
    return await run(d);
  } finally {
    d.state.dispose();
  }
}

serveTrainer({
  async init(raw) {
    cfg = raw as DecodingRunConfig;
    const res = await fetch(cfg.modelUrl);
    if (!res.ok) throw new Error(`could not load the model ${cfg.modelUrl}: ${res.status} ${res.statusText}`);
    const bytes = await res.arrayBuffer();
    const { tensors, metadata } = decodeSafetensors(bytes);
    tf.dispose([...tensors.values()]);
    meta = { ...parseMeta(metadata, 'the G2P checkpoint'), bytes: bytes.byteLength };
    model = new EncoderDecoder(meta.config as unknown as ConstructorParameters<typeof EncoderDecoder>[0]);
    await loadIntoModule(model, bytes);
    model.eval();
    if (cfg.steps > 0) {
      const dres = await fetch(cfg.dataUrl);
      if (!dres.ok) throw new Error(`could not load the fine-tuning words ${cfg.dataUrl}: ${dres.status}`);
      const batch = batcher((await dres.json()) as [string, string][]);
      trainer = new Trainer({
        model,
        batch,
        loss: (b) => model.loss(b.src, b.tgtIn, b.tgtOut, { labelSmoothing: 0.1 }),
        optimizer: { lr: cfg.lr, weightDecay: 0.01, betas: [0.9, 0.98] },
        clipGradNorm: 1,
      });
    }
  },
  step: () =>
    exclusive(async () => {
      if (!trainer) return { step: 0, done: true };
      const r = await trainer.fit(trainer.step + 1);
      model.eval(); // decodes between steps run without dropout
      return { step: trainer.step, loss: r.losses[0], done: trainer.step >= cfg.steps };
    }),
  async request(payload) {
    const req = payload as DecodeRequest | { type: 'info' };
    if (req.type === 'info') {
      const info: ModelDescription = { type: 'info', parameters: model.numParameters(), config: meta.config, letters: meta.letters, phones: meta.phones, heldOut: meta.heldOut, bytes: meta.bytes };
      return info;
    }
    if (req.type !== 'decode') throw new Error(`unknown request ${(req as { type: string }).type}`);
    return exclusive(() => decode(req as DecodeRequest));
  },
});

async function decode(req: DecodeRequest): Promise<DecodeResult> {
  const word = req.word.trim().toUpperCase();
  if (!word) throw new Error('type a word first');
  const src = [encodeWord(word)];
  const prompt = [[meta.bos]];
  const common = { eosTokenId: meta.eos, maxNewTokens: MAX_NEW_TOKENS };
  const g = await withDecoding(src, ({ step, state }) => greedy(step, prompt, { ...common, state }));
  const recorder = beamRecorder(req.numBeams);
  const b = await withDecoding(src, ({ step, state }) => beamSearch(step, prompt, { ...common, state, numBeams: req.numBeams, numReturnSequences: req.numReturn, processors: [recorder.processor] }));
  const s = await withDecoding(src, ({ step, state }) => sample(step, prompt, { ...common, state, numReturnSequences: req.samples, temperature: req.temperature, seed: req.seed }));
  const best = b.sequences[0][0];
  const tree = buildBeamTree(recorder.steps, req.numBeams, meta.eos, b.sequences[0]);
  // Cross-attention of the best hypothesis (teacher-forced on its own tokens).
  const tgtIn = [[meta.bos, ...best.tokens.filter((t) => t !== meta.eos)]];
  const { logits, crossWeights } = model.forward(src, tgtIn, { returnWeights: true });
  const mean = tf.tidy(() => tf.mean(tf.squeeze(crossWeights!.at(-1)!, [0]), 0)); // [Lt, Ls]
  const values = Array.from(await mean.data());
  tf.dispose([logits, mean, ...crossWeights!]);
  const bestHyp = hyp(best);
  return {
    word,
    greedy: hyp(g.sequences[0][0]),
    beams: b.sequences[0].map(hyp),
    samples: s.sequences[0].map(hyp),
    tree,
    tokenLabels: meta.phones,
    attention: { rows: [...bestHyp.phones, '</s>'], cols: [...word], values },
  };
}
