/**
 * The tiny GPT's worker: a character-level `GPT` from @dl/transformer trained with its `Trainer` (AdamW,
 * warmup + cosine, clipping) on random windows of the text, one optimizer step per `step`, and a
 * validation loss on the last tenth of the text every few steps. On request it samples text with
 * @dl/decode's `sample` through the model's KV-cached step function, posting every character as it is
 * decided, then runs the whole generated sequence through the model once more for its attention
 * weights (every layer and head).
 */
import * as tf from '@tensorflow/tfjs-core';
import { sample } from '@dl/decode';
import { warmupCosine } from '@dl/optim';
import { GPT, Trainer } from '@dl/transformer';
import { serveTrainer } from '../../worker/serve';
import type { FromWorker } from '../../worker/protocol';
import { buildCorpus, windowBatch, type Corpus } from './corpus';

export interface GPTRunConfig {
  /** The training text (names one per line, or any text). */
  text: string;
  steps: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  /** Context length in characters. */
  blockSize: number;
  batchSize: number;
  /** Peak learning rate of the warmup + cosine schedule. */
  lr: number;
  seed: number;
}

/** What the page receives: a training step, or a generated character while sampling. */
export type GPTProgress =
  | { kind: 'train'; step: number; loss: number; validLoss?: number; done: boolean }
  | { kind: 'token'; generation: number; text: string };

export interface GenerateRequest {
  type: 'generate';
  /** Tells this generation's streamed characters from an earlier one's. */
  generation: number;
  prompt: string;
  maxNewTokens: number;
  temperature: number;
  /** 0 = off. */
  topK: number;
  /** 1 = off. */
  topP: number;
  seed: number;
}

export interface GenerateResult {
  /** Prompt + generated text, as the model saw it. */
  text: string;
  promptLength: number;
  /** Per generated character, its log-probability under the sampling distribution. */
  logprobs: number[];
  /** weights[layer][head] is the T × T attention matrix (row = query position), row-major. */
  weights: number[][][];
  nLayer: number;
  nHead: number;
}

export interface ModelInfo {
  type: 'info';
  vocab: string[];
  parameters: number;
  trainChars: number;
  validChars: number;
}

const VALID_EVERY = 25;
const VALID_BATCHES = 2;

let gpt: GPT;
let trainer: Trainer<{ x: number[][]; y: number[][] }>;
let corpus: Corpus;
let train: Int32Array;
let valid: Int32Array;
let cfg: GPTRunConfig;

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);

async function validationLoss(): Promise<number> {
  let sum = 0;
  for (let p = 0; p < VALID_BATCHES; p++) {
    const b = windowBatch(valid, cfg.blockSize, cfg.batchSize, cfg.seed + 7919, p);
    const loss = gpt.loss(b.x, b.y);
    sum += (await loss.data())[0];
    loss.dispose();
  }
  return sum / VALID_BATCHES;
}

serveTrainer({
  async init(raw) {
    cfg = raw as GPTRunConfig;
    corpus = buildCorpus(cfg.text);
    const cut = Math.floor(corpus.ids.length * 0.9);
    train = corpus.ids.subarray(0, cut);
    valid = corpus.ids.subarray(cut);
    if (valid.length < cfg.blockSize + 1) throw new Error(`the text is too short: its last tenth (${valid.length} characters, for validation) must hold a context of ${cfg.blockSize} + 1; paste more text or shorten the context`);
    gpt = new GPT({ vocabSize: corpus.chars.length, blockSize: cfg.blockSize, nLayer: cfg.nLayer, nHead: cfg.nHead, nEmbd: cfg.nEmbd, dropout: 0, seed: cfg.seed });
    trainer = new Trainer({
      model: gpt,
      batch: (p) => windowBatch(train, cfg.blockSize, cfg.batchSize, cfg.seed, p),
      loss: (b) => gpt.loss(b.x, b.y),
      optimizer: { lr: warmupCosine({ peak: cfg.lr, warmupSteps: Math.min(50, Math.ceil(cfg.steps / 10)), totalSteps: cfg.steps, end: cfg.lr / 10 }), weightDecay: 0.01 },
      clipGradNorm: 1,
    });
  },
  async step() {
    const r = await trainer.fit(trainer.step + 1);
    const step = trainer.step;
    const done = step >= cfg.steps;
    const validLoss = step % VALID_EVERY === 0 || done || step === 1 ? await validationLoss() : undefined;
    const progress: GPTProgress = { kind: 'train', step, loss: r.losses[0], ...(validLoss !== undefined && { validLoss }), done };
    return progress;
  },
  async request(payload) {
    const req = payload as GenerateRequest | { type: 'info' };
    if (req.type === 'info') {
      const info: ModelInfo = { type: 'info', vocab: corpus.chars, parameters: gpt.numParameters(), trainChars: train.length, validChars: valid.length };
      return info;
    }
    if (req.type !== 'generate') throw new Error(`unknown request ${(req as { type: string }).type}`);
    return generate(req);
  },
});

async function generate(req: GenerateRequest): Promise<GenerateResult> {
  const prompt = corpus.encode(req.prompt);
  if (prompt.length === 0) throw new Error('the prompt is empty: type at least one character');
  if (prompt.length >= cfg.blockSize) throw new Error(`the prompt has ${prompt.length} characters; the context holds ${cfg.blockSize}, so at most ${cfg.blockSize - 1} leave room to generate`);
  const maxNewTokens = Math.min(req.maxNewTokens, cfg.blockSize - prompt.length);
  const { step, state } = gpt.decoding(1);
  let result;
  try {
    result = await sample(step, [prompt], {
      state,
      maxNewTokens,
      temperature: req.temperature,
      topK: req.topK,
      topP: req.topP,
      seed: req.seed,
      onToken: (e) => post({ type: 'progress', data: { kind: 'token', generation: req.generation, text: corpus.chars[e.token] } satisfies GPTProgress }),
    });
  } finally {
    state.dispose();
  }
  const hyp = result.sequences[0][0];
  const ids = [...prompt, ...hyp.tokens];
  const { logits, weights } = gpt.forward([ids], { returnWeights: true });
  try {
    const perLayer = await Promise.all(weights!.map((w) => w.array() as Promise<number[][][][]>)); // [1, H, T, T] each
    return {
      text: corpus.decode(ids),
      promptLength: prompt.length,
      logprobs: hyp.tokenLogprobs,
      weights: perLayer.map((w) => w[0].map((head) => head.flat())),
      nLayer: cfg.nLayer,
      nHead: cfg.nHead,
    };
  } finally {
    tf.dispose([logits, ...weights!]);
  }
}
