/**
 * Attention patterns, in a worker. A toy task makes the patterns visible: head h must copy the value
 * found SHIFTS[h] positions back (circularly), so each head has to learn, through its query and key
 * projections of learned position embeddings, to attend to one diagonal. Each step trains on a fresh
 * batch of random values; on request the worker returns the weights per head and measures the
 * variant's cost in N (time and peak tensor memory, with @dl/attention's benchmarkAttention).
 */
import * as tf from '@tensorflow/tfjs-core';
import { manualSeed, mseLoss, randNormal } from '@dl/core';
import { benchmarkAttention, scaledDotProductAttention, scalingExponent, type AttentionFn, type BenchRow } from '@dl/attention';
import { Adam } from '@dl/optim';
import { serveTrainer } from '../../worker/serve';
import { makeVariant } from './variants';
import { SHIFTS } from './info';

export interface AttentionConfig {
  variant: string;
  n: number;
  steps: number;
  lr: number;
}

export interface AttentionProgress {
  step: number;
  loss: number;
  /** tf.memory() in the worker after the step. */
  numTensors: number;
  numBytes: number;
  done: boolean;
}

export interface WeightsReply {
  heads: number;
  n: number;
  /** Weights per head, `[heads, n, width]` row-major (width = n, or Linformer's k projected keys). */
  width: number;
  data: Float32Array;
}

export interface CostReply {
  rows: BenchRow[];
  /** Fitted exponent p of peak memory ∝ Nᵖ, per variant. */
  memoryExponent: Record<string, number>;
  timeExponent: Record<string, number>;
}

const HEADS = SHIFTS.length;
const DIM = 16;
const DV = 8;
const BATCH = 8;

let config: AttentionConfig;
let variant: ReturnType<typeof makeVariant>;
let pos: tf.Variable; // learned position embeddings [n, DIM]
let wq: tf.Variable; // per-head query projections [HEADS, DIM, DIM]
let wk: tf.Variable;
let opt: Adam;
let step = 0;

/** Queries and keys [batch, HEADS, n, DIM] from the position embeddings. */
function qk(batch: number): [tf.Tensor, tf.Tensor] {
  const p = tf.broadcastTo(tf.reshape(pos, [1, config.n, DIM]), [HEADS, config.n, DIM]);
  const q = tf.matMul(p, wq); // [HEADS, n, DIM]
  const k = tf.matMul(p, wk);
  const tile = (t: tf.Tensor) => tf.broadcastTo(tf.reshape(t, [1, HEADS, config.n, DIM]), [batch, HEADS, config.n, DIM]);
  return [tile(q), tile(k)];
}

/** Values [batch, HEADS, n, DV] (the same content for every head) and each head's target: the values shifted back. */
function task(batch: number, seed: number): { v: tf.Tensor; target: tf.Tensor } {
  return tf.tidy(() => {
    const x = tf.randomNormal([batch, 1, config.n, DV], 0, 1, 'float32', seed);
    const v = tf.broadcastTo(x, [batch, HEADS, config.n, DV]);
    const shifted = SHIFTS.map((s) => tf.concat([tf.slice(x, [0, 0, config.n - s, 0], [batch, 1, s, DV]), tf.slice(x, [0, 0, 0, 0], [batch, 1, config.n - s, DV])], 2));
    return { v, target: tf.concat(shifted, 1) };
  });
}

function attendWith(fn: AttentionFn, batch: number, v: tf.Tensor, returnWeights = false) {
  const [q, k] = qk(batch);
  return fn(q, k, v, { returnWeights });
}

serveTrainer({
  async init(raw) {
    config = raw as AttentionConfig;
    manualSeed(0);
    variant = makeVariant(config.variant, config.n, HEADS, DIM);
    pos = tf.variable(randNormal([config.n, DIM], 0, 1), true, 'pos');
    wq = tf.variable(randNormal([HEADS, DIM, DIM], 0, 1 / Math.sqrt(DIM)), true, 'wq');
    wk = tf.variable(randNormal([HEADS, DIM, DIM], 0, 1 / Math.sqrt(DIM)), true, 'wk');
    opt = new Adam([pos, wq, wk, ...variant.params], { lr: config.lr });
  },
  async step() {
    const { v, target } = task(BATCH, 1000 + step);
    const lossT = await opt.minimize(() => mseLoss(attendWith(variant.attend, BATCH, v).output, target) as tf.Scalar);
    const loss = (await lossT!.data())[0];
    tf.dispose([v, target, lossT!]);
    step++;
    const { numTensors, numBytes } = tf.memory();
    return { step, loss, numTensors, numBytes, done: step >= config.steps } satisfies AttentionProgress;
  },
  async request(payload) {
    const req = payload as { type: 'weights' } | { type: 'cost'; ns: number[] };
    if (req.type === 'weights') {
      const { v, target } = task(1, 7);
      const { output, weights } = tf.tidy(() => attendWith(variant.attend, 1, v, true));
      const w = weights!;
      const reply: WeightsReply = { heads: HEADS, n: config.n, width: w.shape[3]!, data: (await w.data()) as Float32Array };
      tf.dispose([v, target, output, w]);
      return reply;
    }
    if (req.type === 'cost') {
      // Random q, k, v at each N; a fresh variant per N range so Linformer's projections fit the longest.
      const maxN = Math.max(...req.ns);
      const mine = makeVariant(config.variant, maxN, HEADS, DIM);
      try {
        const rows = await benchmarkAttention(
          [
            { name: config.variant, attend: mine.attend },
            ...(config.variant === 'full' ? [] : [{ name: 'full', attend: scaledDotProductAttention }]),
          ],
          req.ns,
          { heads: HEADS, dim: DIM, repeats: 2 },
        );
        const fit = (key: 'ms' | 'peakBytes') =>
          Object.fromEntries([...new Set(rows.map((r) => r.variant))].map((name) => [name, scalingExponent(rows.filter((r) => r.variant === name && r[key] > 0).map((r) => [r.n, r[key]] as [number, number]))]));
        return { rows, memoryExponent: fit('peakBytes'), timeExponent: fit('ms') } satisfies CostReply;
      } finally {
        mine.dispose();
      }
    }
    throw new Error(`unknown request ${(req as { type: string }).type}`);
  },
});
