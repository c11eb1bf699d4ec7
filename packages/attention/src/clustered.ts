import * as tf from '@tensorflow/tfjs-core';
import { checkInt, DLArgumentError, matMul } from '@dl/core';
import { emptyAttention, maskedSoftmax, mask4d, type QKVDims } from './masks.js';
import type { AttentionOptions, AttentionResult } from './types.js';
import { detached, sh } from './shape.js';
import { ATTENTION_KEYS, checkOptionKeys, CHUNKING_KEYS } from './option-keys.js';

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
 * Attention only between queries and keys of the same cluster (clustered attention, as in Reformer,
 * Kitaev et al. 2020, and the Routing Transformer, Roy et al. 2021: first cluster q and k, then only pairs
 * of the same cluster get a weight, the others 0). Shared by {@link lshAttention} and
 * {@link KMeansRouting}.
 *
 * Queries and keys are sorted together by (cluster, position) with tensor ops (`topk`), cut into chunks
 * of `chunkSize`, and each chunk's queries score the keys of their own and neighbouring chunks, masked to
 * the same cluster (Reformer's chunking, generalised to separate q and k). Memory O(N·chunkSize·(1 +
 * lookBack + lookForward)); a cluster larger than the reachable chunks is truncated (as in Reformer).
 * With one cluster and a chunk ≥ Lq + Lk it is exactly full attention.
 *
 * @param qBuckets int32 `[B, H, Lq]` cluster of each query; `kBuckets` int32 `[B, H, Lk]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { checkQKV, clusteredAttention } from '@dl/attention';
 * const q = tf.randomNormal([1, 1, 8, 4]); // [B, H, L, d]
 * const buckets = tf.tensor3d([[[0, 0, 1, 1, 0, 1, 0, 1]]], [1, 1, 8], 'int32'); // cluster of each position
 * const { output } = clusteredAttention('example', q, q, q, checkQKV('example', q, q, q), buckets, buckets, 2, { chunkSize: 16, lookBack: 1, lookForward: 1 }, 0.5, {});
 * ```
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
  checkOptionKeys(where, chunking, CHUNKING_KEYS, 'chunking');
  checkOptionKeys(where, options, ATTENTION_KEYS);
  const C = checkInt(where, 'chunkSize', chunking.chunkSize);
  const back = checkInt(where, 'lookBack', chunking.lookBack, 0);
  const fwd = checkInt(where, 'lookForward', chunking.lookForward, 0);
  const empty = emptyAttention(dims, options);
  if (empty) return empty;
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
    // Row of each sorted item in the flat q / k / v ([B·H·L, d]); query items read q, key items k and v
    // (the other one is garbage and masked). Flat axis-0 gathers: wasm gets batchDims gathers wrong.
    const int = (x: number) => tf.scalar(x, 'int32');
    const bhI = tf.reshape(tf.range(0, BH, 1, 'int32'), [BH, 1]); // [BH, 1]
    const permBH = tf.reshape(perm, [BH, Up]); // [BH, Up]
    const padChunks = (x: tf.Tensor) => tf.pad(x, [[0, 0], [back * C, fwd * C], ...Array(x.rank - 2).fill([0, 0])]); // [BH, (nC+back+fwd)·C, …]
    // clipByValue in float32 (wasm's int32 clip is wrong), then back to int32
    const clipI = (x: tf.Tensor, lo: number, hi: number) => tf.cast(tf.clipByValue(tf.cast(x, 'float32'), lo, hi), 'int32');
    const qRow = detached(() => tf.add(clipI(permBH, 0, Lq - 1), tf.mul(bhI, int(Lq)))); // [BH, Up]
    const kRow = detached(() => padChunks(tf.add(clipI(tf.sub(permBH, int(Lq)), 0, Lk - 1), tf.mul(bhI, int(Lk))))); // [BH, (nC+back+fwd)·C]
    const Ms = detached(() => tf.reshape(tf.gather(tf.reshape(meta, [BH * Up, 4]), tf.reshape(tf.add(permBH, tf.mul(bhI, int(Up))), [-1])), [BH, Up, 4])); // [BH, Up, 4]
    const MsPad = padChunks(Ms); // [BH, (nC+back+fwd)·C, 4] (is-key 0 outside)
    const qFlat = tf.reshape(qs, [BH * Lq, dk]); // [BH·Lq, dk]
    const kFlat = tf.reshape(k, [BH * Lk, dk]); // [BH·Lk, dk]
    const vFlat = tf.reshape(v, [BH * Lk, dv]); // [BH·Lk, dv]
    const m4 = options.mask ? mask4d(options.mask) : null; // [b, h, Lq, Lk]
    const mflat = m4 ? tf.reshape(tf.broadcastTo(tf.reshape(tf.cast(m4, 'float32'), [sh(m4)[0], sh(m4)[1], Lq * Lk]), [B, H, Lq * Lk]), [-1]) : null; // [B·H·Lq·Lk]
    const bhCol = tf.reshape(tf.range(0, BH, 1, 'float32'), [BH, 1, 1, 1]); // [BH, 1, 1, 1]
    // Chunks are processed in groups so that the score tensors stay small whatever N is.
    const groupChunks = Math.max(1, Math.floor(GROUP_ELEMENTS / (BH * C * W)));
    const outs: tf.Tensor[] = [];
    const weightParts: { P: tf.Tensor; cell: tf.Tensor }[] = [];
    for (let a = 0; a < nC; a += groupChunks) {
      const gc = Math.min(groupChunks, nC - a);
      const part = tf.tidy(() => {
        // key window of chunk c: padded chunks c … c + back + fwd (i.e. c − back … c + fwd)
        const win = (x: tf.Tensor) => {
          const parts: tf.Tensor[] = [];
          for (let s = 0; s <= back + fwd; s++) parts.push(tf.reshape(tf.slice(x, [0, (a + s) * C, ...Array(x.rank - 2).fill(0)], [BH, gc * C, ...sh(x).slice(2)]), [BH, gc, C, ...sh(x).slice(2)]));
          return parts.length === 1 ? parts[0] : tf.concat(parts, 2); // [BH, gc, W, …]
        };
        const idxQ = tf.reshape(tf.slice(qRow, [0, a * C], [BH, gc * C]), [-1]); // [BH·gc·C]
        const Qg = tf.reshape(tf.gather(qFlat, idxQ), [BH, gc, C, dk]); // [BH, gc, C, dk]
        const idxK = tf.reshape(win(kRow), [-1]); // [BH·gc·W]
        const Kg = tf.reshape(tf.gather(kFlat, idxK), [BH, gc, W, dk]); // [BH, gc, W, dk]
        const Mr = tf.reshape(tf.slice(Ms, [0, a * C, 0], [BH, gc * C, 4]), [BH, gc, C, 4]); // [BH, gc, C, 4]
        const Mw = win(MsPad); // [BH, gc, W, 4]
        const col = (i: number) => tf.reshape(tf.slice(Mw, [0, 0, 0, i], [BH, gc, W, 1]), [BH, gc, 1, W]); // [BH, gc, 1, W]
        const row = (i: number) => tf.slice(Mr, [0, 0, 0, i], [BH, gc, C, 1]); // [BH, gc, C, 1]
        const needIdx = mflat != null || options.returnWeights;
        const flatIdx = needIdx ? tf.add(tf.mul(tf.clipByValue(tf.sub(row(1), off), 0, Lq - 1), Lk), tf.clipByValue(col(1), 0, Lk - 1)) : null; // [BH, gc, C, W]
        const allowed = tf.tidy(() => {
          let al = tf.mul(tf.mul(row(2), col(3)), tf.cast(tf.equal(row(0), col(0)), 'float32')); // [BH, gc, C, W]
          if (options.causal) al = tf.mul(al, tf.cast(tf.lessEqual(col(1), row(1)), 'float32')); // [BH, gc, C, W]
          if (mflat && flatIdx) {
            const idx = tf.cast(tf.add(tf.mul(bhCol, Lq * Lk), flatIdx), 'int32'); // [BH, gc, C, W]
            al = tf.mul(al, tf.reshape(tf.gather(mflat, tf.reshape(idx, [-1])), [BH, gc, C, W])); // [BH, gc, C, W]
          }
          return al;
        });
        const P = tf.tidy(() => maskedSoftmax(matMul(Qg, Kg, false, true), allowed)); // [BH, gc, C, W]
        const Vg = tf.reshape(tf.gather(vFlat, idxK), [BH, gc, W, dv]); // [BH, gc, W, dv]
        const O = tf.reshape(matMul(P, Vg), [BH, gc * C, dv]); // [BH, gc·C, dv]
        if (!options.returnWeights) return { O };
        const valid = tf.mul(row(2), col(3)); // [BH, gc, C, W] query row and real key column
        const cell = tf.where(tf.greater(valid, 0), flatIdx as tf.Tensor, tf.fill(sh(valid), Lq * Lk)); // [BH, gc, C, W]
        return { O, P: tf.mul(P, valid), cell };
      });
      outs.push(part.O);
      if (part.P && part.cell) weightParts.push({ P: part.P, cell: part.cell });
    }
    const O = outs.length === 1 ? outs[0] : tf.concat(outs, 1); // [BH, Up, dv]
    if (outs.length > 1) tf.dispose(outs); // keep only the concatenation alive
    const invQ = detached(() => {
      const inv = tf.topk(tf.neg(tf.cast(perm, 'float32')), Up).indices; // [B, H, Up] inverse permutation
      return tf.reshape(tf.add(tf.reshape(tf.slice(inv, [0, 0, 0], [B, H, Lq]), [BH, Lq]), tf.mul(bhI, int(Up))), [-1]); // [BH·Lq]
    });
    const output = tf.reshape(tf.gather(tf.reshape(O, [BH * Up, dv]), invQ), [B, H, Lq, dv]); // [B, H, Lq, dv]
    if (!options.returnWeights) return { output };
    // Dense weights for heatmaps: scatter each (query, key) weight to its place; non-pairs go to a dump cell.
    const Pall = tf.concat(weightParts.map((w) => w.P), 1); // [BH, nC, C, W]
    const cell = tf.concat(weightParts.map((w) => w.cell), 1); // [BH, nC, C, W]
    const idx = tf.cast(tf.reshape(tf.add(tf.mul(bhCol, Lq * Lk + 1), cell), [-1, 1]), 'int32'); // [BH·nC·C·W, 1]
    const dense = tf.scatterND(idx, tf.reshape(Pall, [-1]), [BH * (Lq * Lk + 1)]); // [BH·(Lq·Lk+1)]
    const weights = tf.reshape(tf.slice(tf.reshape(dense, [BH, Lq * Lk + 1]), [0, 0], [BH, Lq * Lk]), [B, H, Lq, Lk]); // [B, H, Lq, Lk]
    return { output, weights };
  });
}

/** Score elements per group of chunks (bounds the working memory of one group). */
const GROUP_ELEMENTS = 1 << 18;
