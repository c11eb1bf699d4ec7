import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkShape, DLArgumentError, getRng, matMul, type Rng, wasmKernelsActive } from '@dl/core';
import { checkQKV, denseAllowed, emptyAttention, maskedSoftmax, type QKVDims } from './masks.js';
import type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
import { checkOptionKeys, FULL_EXTRA_KEYS, FULL_KEYS } from './option-keys.js';
import { flashAttention, flashAttentionAvailable, fusedAttentionEnabled } from './flash-webgpu.js';

/** Options of {@link scaledDotProductAttention}. */
export interface FullAttentionOptions extends AttentionOptions {
  /** Multiplies q·k. Default 1/√dk. */
  scale?: number;
  /** Dropout probability on the attention weights (only when `training`). Default 0. */
  dropout?: number;
  /** Apply dropout. Default false. */
  training?: boolean;
  /** Generator for the dropout mask (default the global one). */
  rng?: Rng;
  /** Float scores added before the softmax, broadcastable to `[B, H, Lq, Lk]` (PyTorch's float `attn_mask`). */
  scoreBias?: tf.Tensor;
}

/**
 * Full scaled dot-product attention (Vaswani et al. 2017): every query is compared with every key,
 *
 * $$
 * A = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}} + M\right) \text{ row by row}, \qquad O = A\,V
 * $$
 *
 * where $\frac{1}{\sqrt{d_k}}$ is the default `scale` and $M$ is $-\infty$ where a mask forbids a key (0 elsewhere,
 * plus any `scoreBias`). The picture: an N×N attention matrix, each row normalised, then a weighted sum of
 * the value vectors. Causal weights of random queries and keys (rows are queries, columns keys, dark = 0,
 * drawn with {@link heatmapPng}):
 *
 * ![Causal attention weights](../../../docs/figures/attention-causal.png)
 *
 * Cost: time O(Lq·Lk·d), memory O(Lq·Lk) (the score matrix). Without masks this is exactly
 * `matMul → softmax → matMul` (the scale is applied to q, an O(N·d) op). On wasm, large heads run one
 * (batch, head) pair at a time through plain 2-D products, which tfjs's wasm kernels run many times
 * faster than batched ones; the result is the same.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { scaledDotProductAttention } from '@dl/attention';
 * const q = tf.randomNormal([2, 4, 10, 16]);
 * const { output, weights } = scaledDotProductAttention(q, q, q, { causal: true, returnWeights: true });
 * ```
 */
export function scaledDotProductAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, options: FullAttentionOptions = {}): AttentionResult {
  const where = 'scaledDotProductAttention';
  const dims = checkQKV(where, q, k, v, options, FULL_EXTRA_KEYS);
  const empty = emptyAttention(dims, options);
  if (empty) return empty;
  const scale = options.scale === undefined ? 1 / Math.sqrt(dims.dk) : checkNumber(where, 'scale', options.scale);
  const p = options.dropout === undefined ? 0 : checkNumber(where, 'dropout', options.dropout, 0, 1, false, true);
  if (options.scoreBias != null) {
    checkShape(where, 'scoreBias', options.scoreBias, { dtype: 'float32' });
    try {
      tf.broadcast_util.assertAndGetBroadcastShape(options.scoreBias.shape, [dims.batch, dims.heads, dims.lq, dims.lk]);
    } catch {
      throw new DLArgumentError(where, 'scoreBias', `broadcastable to [${dims.batch}, ${dims.heads}, ${dims.lq}, ${dims.lk}]`, options.scoreBias);
    }
  }
  // On webgpu, the fused kernels (never materialising Lq×Lk) when the call needs nothing they lack.
  const training = options.training === true && p > 0;
  if (fusedAttentionEnabled() && !options.returnWeights && options.mask == null && options.scoreBias == null && !training && flashAttentionAvailable(dims.dk, dims.dv)) {
    return { output: flashAttention(q, k, v, { scale, causal: options.causal === true, keyPaddingMask: options.keyPaddingMask }) };
  }
  return tf.tidy(() => {
    if (headByHead(dims, options, p)) return attendHeadByHead(q, k, v, dims, scale, options);
    const weights = tf.tidy(() => {
      const qs = scale === 1 ? q : tf.mul(q, scale); // [B, H, Lq, dk]
      let scores = matMul(qs, k, false, true); // [B, H, Lq, Lk]
      if (options.scoreBias) scores = tf.add(scores, options.scoreBias); // [B, H, Lq, Lk]
      const allowed = denseAllowed(dims, options); // [B|1, H|1, Lq, Lk] or null
      let w = maskedSoftmax(scores, allowed); // [B, H, Lq, Lk]
      if (options.training && p > 0) {
        const keep = tf.greaterEqual(tf.randomUniform(w.shape, 0, 1, 'float32', (options.rng ?? getRng()).seedForOp()), p); // [B, H, Lq, Lk]
        w = tf.mul(w, tf.div(tf.cast(keep, 'float32'), 1 - p)); // [B, H, Lq, Lk]
      }
      return w;
    });
    const output = matMul(weights, v); // [B, H, Lq, dv]
    return options.returnWeights ? { output, weights } : { output };
  });
}

/**
 * {@link scaledDotProductAttention} with fixed options, as an {@link AttentionFn} (per-call options
 * are merged over these).
 *
 * @example
 * ```ts
 * import { fullAttention } from '@dl/attention';
 * const attend = fullAttention({ scale: 0.5 });
 * ```
 */
export function fullAttention(defaults: FullAttentionOptions = {}): AttentionFn {
  checkOptionKeys('fullAttention', defaults, FULL_KEYS);
  return (q, k, v, options = {}) => scaledDotProductAttention(q, k, v, { ...defaults, ...options });
}

/**
 * With tfjs's own wasm kernel (`useWasmKernels(false)`), the per-head work Lq·Lk·(dk + dv) from which full
 * attention runs head by head: below it the extra
 * ops per head cost more than the faster products save (measured on wasm, tfjs 4.22: nanoGPT's 64×64
 * heads of size 32 are faster batched; 1×8 heads of 256×256×64 are ~3× faster head by head).
 */
const HEAD_BY_HEAD_MIN_WORK = 64 * 64 * 128;

/**
 * With @dl/core's SIMD products (`wasmKernelsActive()`), batched products are as fast as 2-D ones and the
 * batched path is faster (1×8 heads of 256×256×64: 4.6 ms against 7.8 forward); head by head then only
 * bounds memory, for score tensors of at least this many elements (16 MB).
 */
let headByHeadMinScores = 1 << 22;

/** Sets the score-tensor size from which head by head runs with the SIMD products; returns the previous one (tests). */
export function setHeadByHeadMinScores(elements: number): number {
  const previous = headByHeadMinScores;
  headByHeadMinScores = elements;
  return previous;
}

/** Whether {@link attendHeadByHead} runs this call: wasm, no dropout drawn, heads (or scores) large enough. */
function headByHead(dims: QKVDims, options: FullAttentionOptions, dropout: number): boolean {
  if (tf.getBackend() !== 'wasm' || (options.training && dropout > 0)) return false;
  if (options.scoreBias && options.scoreBias.rank > 4) return false;
  if (wasmKernelsActive()) return dims.batch * dims.heads * dims.lq * dims.lk >= headByHeadMinScores;
  return dims.lq * dims.lk * (dims.dk + dims.dv) >= HEAD_BY_HEAD_MIN_WORK;
}

/**
 * (b, h) → the slice for batch b, head h of a tensor broadcastable to `[B, H, Lq, Lk]` (a mask or score
 * bias): `[Lq|1, Lk|1]`, or the tensor itself when it has no batch or head axis. Slices are made once,
 * with `tf.unstack` (whose gradient is one stack, not one pad per head).
 */
function perHead(t: tf.Tensor | null | undefined): (b: number, h: number) => tf.Tensor | null {
  if (t == null) return () => null;
  if (t.rank <= 2) return () => t;
  const [b0, h0, r, c] = [...Array(4 - t.rank).fill(1), ...t.shape] as number[];
  const slices = tf.unstack(tf.reshape(t, [b0 * h0, r, c])); // b0·h0 × [r, c]
  return (b, h) => slices[(b0 === 1 ? 0 : b) * h0 + (h0 === 1 ? 0 : h)];
}

/**
 * Full attention one (batch, head) pair at a time, every product a 2-D one through @dl/core's `matMul`:
 * tfjs 4.22's wasm BatchMatMul is fast only for plain 2-D products (the batched, transposed q·kᵀ runs
 * ~10× slower), and `matMul` keeps the backward pass on plain products too. Without a gradient tape each
 * head's Lq×Lk scores are freed before the next head's are made, so peak memory is one head's scores.
 * Called inside {@link scaledDotProductAttention}'s tidy, with no dropout to draw.
 */
function attendHeadByHead(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, dims: QKVDims, scale: number, options: FullAttentionOptions): AttentionResult {
  const { batch: B, heads: H, lq, lk, dk, dv } = dims;
  const [qh, kt, vh] = tf.tidy(() => [
    tf.unstack(tf.reshape(scale === 1 ? q : tf.mul(q, scale), [B * H, lq, dk])), // B·H × [Lq, dk]
    tf.unstack(tf.reshape(tf.transpose(k, [0, 1, 3, 2]), [B * H, dk, lk])), // B·H × [dk, Lk]
    tf.unstack(tf.reshape(v, [B * H, lk, dv])), // B·H × [Lk, dv]
  ]);
  const allowed = perHead(denseAllowed(dims, options)); // (b, h) → [Lq|1, Lk] or null
  const bias = perHead(options.scoreBias); // (b, h) → [Lq|1, Lk|1] or null
  const outputs: tf.Tensor[] = [];
  const weights: tf.Tensor[] = [];
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      const i = b * H + h;
      const [out, w] = tf.tidy(() => {
        const s = matMul(qh[i], kt[i]); // [Lq, Lk]
        const sb = bias(b, h);
        const wi = maskedSoftmax(sb ? tf.add(s, sb) : s, allowed(b, h)); // [Lq, Lk]
        return [matMul(wi, vh[i]), wi]; // [Lq, dv], [Lq, Lk]
      });
      outputs.push(out);
      if (options.returnWeights) weights.push(w);
      else w.dispose(); // a gradient tape keeps its own copies of what the backward pass needs
      tf.dispose([qh[i], kt[i], vh[i]]);
    }
  }
  const output = tf.reshape(tf.stack(outputs), [B, H, lq, dv]); // [B, H, Lq, dv]
  tf.dispose(outputs);
  if (!options.returnWeights) return { output };
  const stacked = tf.reshape(tf.stack(weights), [B, H, lq, lk]); // [B, H, Lq, Lk]
  tf.dispose(weights);
  return { output, weights: stacked };
}
