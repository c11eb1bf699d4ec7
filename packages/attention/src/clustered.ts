import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError } from '@dl/core';
import { maskedSoftmax, mask4d, type QKVDims } from './masks.js';
import type { AttentionOptions, AttentionResult } from './types.js';
import { detached, sh } from './shape.js';

/** How {@link clusteredAttention} chunks the sorted sequence. */
export interface ClusterChunking {
  /** Items (queries and keys together) per chunk. */
  chunkSize: number;
  /** Chunks before its own that a chunk's queries look at (Reformer: 1). */
  lookBack: number;
  /** Chunks after its own (0 when causal is enough; 1 by default otherwise). */
  lookForward: number;
}

/**
 * Attention only between queries and keys of the same cluster (seed 002 "Clustering": 步驟1 cluster q and
 * k; 步驟2 only pairs of the same cluster get a weight, the others 0). Shared by {@link lshAttention} and
 * {@link KMeansRouting}.
 *
 * Queries and keys are sorted together by (cluster, position) with tensor ops (`topk`), cut into chunks
 * of `chunkSize`, and each chunk's queries score the keys of their own and neighbouring chunks, masked to
 * the same cluster (Reformer's chunking, generalised to separate q and k). Memory O(N·chunkSize·(1 +
 * lookBack + lookForward)); a cluster larger than the reachable chunks is truncated (as in Reformer).
 * With one cluster and a chunk ≥ Lq + Lk it is exactly full attention.
 *
 * @param qBuckets int32 `[B, H, Lq]` cluster of each query; `kBuckets` int32 `[B, H, Lk]`.
 */
export function clusteredAttention(
  where: string,
  q: tf.Tensor,
  k: tf.Tensor,
  v: tf.Tensor,
  dims: QKVDims,
  qBuckets: tf.Tensor,
  kBuckets: tf.Tensor,
  nBuckets: number,
  chunking: ClusterChunking,
  scale: number,
  options: AttentionOptions,
): AttentionResult {
  const { batch: B, heads: H, lq: Lq, lk: Lk, dk, dv } = dims;
  const C = checkInt(where, 'chunkSize', chunking.chunkSize);
  const back = checkInt(where, 'lookBack', chunking.lookBack, 0);
  const fwd = checkInt(where, 'lookForward', chunking.lookForward, 0);
  const U = Lq + Lk;
  const nC = Math.ceil(U / C);
  const Up = nC * C;
  const pad = Up - U;
  const off = Lk - Lq;
  const BIG = 2 * Math.max(Lq, Lk) + 2;
  if ((nBuckets + 1) * BIG + Up >= 2 ** 24) throw new DLArgumentError(where, 'nBuckets', `small enough that nBuckets·2L < 2^24 (L = ${Math.max(Lq, Lk)})`, nBuckets);
  const W = (back + 1 + fwd) * C;
  return tf.tidy(() => {
    const range = (n: number, start = 0) => tf.reshape(tf.range(start, start + n, 1, 'float32'), [1, 1, n]); // [1, 1, n]
    // Per item (queries, then keys, then padding): sort key, aligned position, is-query, is-key.
    const qPos = range(Lq, off); // [1, 1, Lq]
    const kPos = range(Lk); // [1, 1, Lk]
    const sortKey = tf.concat(
      [
        tf.add(tf.mul(tf.cast(qBuckets, 'float32'), BIG), tf.add(tf.mul(qPos, 2), 1)), // [B, H, Lq]
        tf.add(tf.mul(tf.cast(kBuckets, 'float32'), BIG), tf.mul(kPos, 2)), // [B, H, Lk]
        ...(pad > 0 ? [tf.tile(range(pad, (nBuckets + 1) * BIG), [B, H, 1])] : []), // [B, H, pad]
      ],
      2,
    ); // [B, H, Up]
    const perm = detached(() => tf.topk(tf.neg(sortKey), Up).indices); // [B, H, Up] ascending order
    const bcast = (t: tf.Tensor) => tf.broadcastTo(t, [B, H, sh(t)[2] as number]);
    const keep = options.keyPaddingMask ? tf.reshape(tf.sub(1, tf.cast(options.keyPaddingMask, 'float32')), [B, 1, Lk]) : tf.ones([1, 1, Lk]); // [B|1, 1, Lk]
    const meta = tf.stack(
      [
        tf.concat([bcast(tf.cast(qBuckets, 'float32')), bcast(tf.cast(kBuckets, 'float32')), bcast(tf.fill([1, 1, pad], -1))], 2), // bucket
        bcast(tf.concat([qPos, kPos, tf.fill([1, 1, pad], -1)], 2)), // position (queries aligned)
        bcast(tf.concat([tf.ones([1, 1, Lq]), tf.zeros([1, 1, Lk + pad])], 2)), // is query
        bcast(tf.concat([tf.zeros([sh(keep)[0], 1, Lq]), keep, tf.zeros([sh(keep)[0], 1, pad])], 2)), // is (unpadded) key
      ],
      3,
    ); // [B, H, Up, 4]
    const qs = scale === 1 ? q : tf.mul(q, scale); // [B, H, Lq, dk]
    const BH = B * H;
    // Flat gathers (axis 0 of [B·H·Up, ·]) rather than batchDims gathers, which wasm gets wrong.
    const offsets = tf.reshape(tf.mul(tf.range(0, BH, 1, 'int32'), tf.scalar(Up, 'int32')), [BH, 1]); // [BH, 1] int32
    const flatPerm = detached(() => tf.reshape(tf.add(tf.reshape(perm, [BH, Up]), offsets), [-1])); // [BH·Up]
    const sorted = (x: tf.Tensor) => {
      const d = sh(x)[3];
      return tf.reshape(tf.gather(tf.reshape(x, [BH * Up, d]), flatPerm), [BH, nC, C, d]); // [BH, nC, C, d]
    };
    const Qs = sorted(tf.concat([qs, tf.zeros([B, H, Lk + pad, dk])], 2)); // [BH, nC, C, dk]
    const Ks = sorted(tf.concat([tf.zeros([B, H, Lq, dk]), k, tf.zeros([B, H, pad, dk])], 2)); // [BH, nC, C, dk]
    const Vs = sorted(tf.concat([tf.zeros([B, H, Lq, dv]), v, tf.zeros([B, H, pad, dv])], 2)); // [BH, nC, C, dv]
    const Ms = detached(() => sorted(meta)); // [BH, nC, C, 4]
    // Window of chunks [c − back, c + fwd] for each chunk c; outside chunks are zeros (is-key 0).
    const windowed = (x: tf.Tensor) => {
      const parts: tf.Tensor[] = [];
      for (let s = -back; s <= fwd; s++) {
        if (s === 0) parts.push(x);
        else {
          const padded = tf.pad(x, [[0, 0], [Math.max(0, -s), Math.max(0, s)], [0, 0], [0, 0]]); // [BH, nC + |s|, C, ·]
          parts.push(tf.slice(padded, [0, Math.max(0, s), 0, 0], [BH, nC, C, sh(x)[3]])); // [BH, nC, C, ·]
        }
      }
      return parts.length === 1 ? parts[0] : tf.concat(parts, 2); // [BH, nC, W, ·]
    };
    const Kw = windowed(Ks); // [BH, nC, W, dk]
    const Mw = windowed(Ms); // [BH, nC, W, 4]
    const col = (i: number) => tf.reshape(tf.slice(Mw, [0, 0, 0, i], [BH, nC, W, 1]), [BH, nC, 1, W]); // [BH, nC, 1, W]
    const row = (i: number) => tf.slice(Ms, [0, 0, 0, i], [BH, nC, C, 1]); // [BH, nC, C, 1]
    let allowed = tf.mul(tf.mul(row(2), col(3)), tf.cast(tf.equal(row(0), col(0)), 'float32')); // [BH, nC, C, W]
    if (options.causal) allowed = tf.mul(allowed, tf.cast(tf.lessEqual(col(1), row(1)), 'float32')); // [BH, nC, C, W]
    let flatIdx: tf.Tensor | null = null;
    if (options.mask || options.returnWeights) {
      const qi = tf.sub(row(1), off); // [BH, nC, C, 1] original query index (or garbage)
      flatIdx = tf.add(tf.mul(tf.clipByValue(qi, 0, Lq - 1), Lk), tf.clipByValue(col(1), 0, Lk - 1)); // [BH, nC, C, W]
    }
    const bhCol = tf.reshape(tf.range(0, BH, 1, 'float32'), [BH, 1, 1, 1]); // [BH, 1, 1, 1]
    if (options.mask) {
      const m4 = mask4d(options.mask); // [b, h, Lq, Lk]
      const mflat = tf.reshape(tf.broadcastTo(tf.reshape(tf.cast(m4, 'float32'), [sh(m4)[0], sh(m4)[1], Lq * Lk]), [B, H, Lq * Lk]), [-1]); // [B·H·Lq·Lk]
      const idx = tf.cast(tf.add(tf.mul(bhCol, Lq * Lk), flatIdx as tf.Tensor), 'int32'); // [BH, nC, C, W]
      allowed = tf.mul(allowed, tf.reshape(tf.gather(mflat, tf.reshape(idx, [-1])), [BH, nC, C, W])); // [BH, nC, C, W]
    }
    const P = tf.tidy(() => maskedSoftmax(tf.matMul(Qs, Kw, false, true), allowed)); // [BH, nC, C, W]
    const O = tf.reshape(tf.matMul(P, windowed(Vs)), [BH * Up, dv]); // [BH·Up, dv]
    const invQ = detached(() => {
      const inv = tf.topk(tf.neg(tf.cast(perm, 'float32')), Up).indices; // [B, H, Up] inverse permutation
      return tf.reshape(tf.add(tf.reshape(tf.slice(inv, [0, 0, 0], [B, H, Lq]), [BH, Lq]), offsets), [-1]); // [BH·Lq]
    });
    const output = tf.reshape(tf.gather(O, invQ), [B, H, Lq, dv]); // [B, H, Lq, dv]
    if (!options.returnWeights) return { output };
    // Dense weights for heatmaps: scatter each (query, key) score to its place; non-pairs go to a dump cell.
    const valid = tf.mul(row(2), col(3)); // [BH, nC, C, W] query row and real key column
    const cell = tf.where(tf.greater(valid, 0), flatIdx as tf.Tensor, tf.fill(sh(valid), Lq * Lk)); // [BH, nC, C, W]
    const idx = tf.cast(tf.reshape(tf.add(tf.mul(bhCol, Lq * Lk + 1), cell), [-1, 1]), 'int32'); // [BH·nC·C·W, 1]
    const dense = tf.scatterND(idx, tf.reshape(tf.mul(P, valid), [-1]), [B * H * (Lq * Lk + 1)]); // [B·H·(Lq·Lk+1)]
    const weights = tf.reshape(tf.slice(tf.reshape(dense, [B * H, Lq * Lk + 1]), [0, 0], [B * H, Lq * Lk]), [B, H, Lq, Lk]); // [B, H, Lq, Lk]
    return { output, weights };
  });
}
