// Bad input gets an error naming the argument; efficient variants never build an N×N tensor; PNGs are valid.
import * as tf from '@tensorflow/tfjs-core';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { encodePng } from '@dl/core';
import {
  globalAttention,
  heatmapPng,
  KMeansRouting,
  KVCache,
  linearAttention,
  Linformer,
  linformerAttention,
  localAttention,
  lshAttention,
  MultiHeadAttention,
  patternMask,
  perHead,
  scaledDotProductAttention,
  useFusedAttention,
  sparseAttention,
  stridedAttention,
  type AttentionFn,
} from '../src/index.js';
import { qkv } from './helpers.js';

describe('bad input', () => {
  const x = () => tf.zeros([1, 2, 4, 3]);
  const cases: [string, () => unknown, RegExp][] = [
    ['head dims that disagree', () => scaledDotProductAttention(x(), tf.zeros([1, 2, 4, 5]), x()), /scaledDotProductAttention: k must be of head dim 3/],
    ['heads that disagree', () => localAttention({ window: 1 })(x(), tf.zeros([1, 3, 4, 3]), x()), /localAttention: k must be of shape \[1, 2, Lk, 3\]/],
    ['values of another length', () => scaledDotProductAttention(x(), x(), tf.zeros([1, 2, 5, 3])), /v must be of shape \[1, 2, 4, dv\]/],
    ['rank-3 q', () => scaledDotProductAttention(tf.zeros([2, 4, 3]), x(), x()), /q must be of rank 4/],
    ['window 0', () => localAttention({ window: 0 }), /localAttention: window must be a positive integer, got 0/],
    ['negative window', () => localAttention({ window: -2 }), /window must be a positive integer/],
    ['negative lookBack', () => localAttention({ lookBack: -1, lookForward: 1 }), /lookBack must be an integer ≥ 0/],
    ['stride 0', () => stridedAttention({ stride: 0, lookBack: 1, lookForward: 1 }), /stridedAttention: strided.stride must be a positive integer/],
    ['mask of the wrong shape', () => scaledDotProductAttention(x(), x(), x(), { mask: tf.ones([4, 5], 'bool') }), /mask must be of shape \[4, 4\]/],
    ['float mask', () => localAttention({ window: 1 })(x(), x(), x(), { mask: tf.ones([4, 4]) }), /mask must be of dtype bool/],
    ['padding mask of the wrong shape', () => scaledDotProductAttention(x(), x(), x(), { keyPaddingMask: tf.zeros([1, 3], 'bool') }), /keyPaddingMask must be of shape \[1, 4\]/],
    ['more global tokens than positions', () => globalAttention({ count: 5 })(x(), x(), x()), /globalAttention: global must be at most 4 global tokens/],
    ['global position out of range', () => globalAttention({ positions: [1, 4] })(x(), x(), x()), /global.positions must be positions < 4/],
    ['repeated global positions', () => globalAttention({ positions: [1, 1] }), /global.positions must be distinct/],
    ['empty pattern', () => sparseAttention({}), /sparseAttention: options must be at least one of local, strided, global/],
    ['odd LSH buckets', () => lshAttention({ nBuckets: 3 }), /lshAttention: nBuckets must be 1 or an even number/],
    ['numHeads not dividing embedDim', () => new MultiHeadAttention(6, 4), /MultiHeadAttention: numHeads must be a divisor of embedDim \(6\)/],
    ['per-head list of the wrong length', () => new MultiHeadAttention(4, 2, { attention: [scaledDotProductAttention] }), /attention must be one function per head \(2\)/],
    ['perHead with another number of heads', () => perHead([scaledDotProductAttention])(x(), x(), x()), /perHead: q must be with 1 heads/],
    ['causal Linformer', () => linformerAttention(x(), x(), x(), tf.ones([2, 4]), tf.ones([2, 4]), { causal: true }), /linformerAttention: causal must be false/],
    ['Linformer projection too short', () => linformerAttention(x(), x(), x(), tf.ones([2, 3]), tf.ones([2, 3])), /E must be of shape \[kProj, ≥ 4\]/],
    ['k-means with the wrong head size', () => new KMeansRouting(2, 5, 2).forward(x(), x(), x()), /KMeansRouting: q must be of shape \[B, 2, L, 5\]/],
    ['linear attention with a bad feature map', () => linearAttention({ featureMap: 'gelu' as never }), /featureMap must be 'elu', 'relu' or a FeatureMap/],
    ['cache window 0', () => new KVCache({ window: 0 }), /KVCache: window must be a positive integer/],
    ['MHA mask of the wrong shape', () => new MultiHeadAttention(4, 2).forward(tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), { mask: tf.zeros([3, 2], 'bool') }), /MultiHeadAttention: mask must be of shape \[3, 3\], \[2, 3, 3\] or \[1\|1, 2\|1, 3, 3\]/],
    ['MHA float mask', () => new MultiHeadAttention(4, 2).forward(tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), { mask: tf.zeros([3, 3]) }), /MultiHeadAttention: mask must be boolean, true = may attend \(float scores added before the softmax go in scoreBias\)/],
    ['MHA scoreBias with a custom variant', () => new MultiHeadAttention(4, 2, { attention: localAttention({ window: 1 }) }).forward(tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), tf.zeros([1, 3, 4]), { scoreBias: tf.zeros([3, 3]) }), /MultiHeadAttention: scoreBias must be absent when a custom attention variant is used/],
  ];
  for (const [label, f, re] of cases) {
    it(label, () => {
      tf.engine().startScope();
      try {
        expect(f).toThrow(re);
      } finally {
        tf.engine().endScope();
      }
    });
  }
});

describe('efficient variants never build an N×N tensor', () => {
  const N = 128;
  const variants: [string, () => { attend: AttentionFn; dispose?: () => void }][] = [
    ['local', () => ({ attend: localAttention({ window: 4 }) })],
    ['causal local', () => ({ attend: localAttention({ window: 4, causal: true }) })],
    ['strided', () => ({ attend: stridedAttention({ stride: 8, lookBack: 3, lookForward: 3 }) })],
    ['global + local', () => ({ attend: globalAttention({ count: 2, local: { lookBack: 3, lookForward: 3 } }) })],
    ['LSH', () => ({ attend: lshAttention({ nBuckets: 8, chunkSize: 8 }) })],
    ['k-means', () => new KMeansRouting(1, 8, 4, { chunkSize: 8 }).eval()],
    ['linear', () => ({ attend: linearAttention() })],
    ['causal linear', () => ({ attend: linearAttention({ causal: true, chunkSize: 16 }) })],
    ['Linformer', () => new Linformer(N, 16)],
  ];
  async function largest(attend: AttentionFn) {
    const [q, k, v] = qkv(1, 1, N, 8, 3);
    const info = await tf.profile(() => {
      tf.dispose(attend(q, k, v).output);
    });
    tf.dispose([q, k, v]);
    return Math.max(...info.kernels.flatMap((kr) => kr.outputShapes.map((s) => (s as number[]).reduce((a, b) => a * b, 1))));
  }
  it('full attention does (the check can fail)', async () => {
    const fused = useFusedAttention(false); // the dense path (webgpu would take the fused kernels)
    try {
      expect(await largest(scaledDotProductAttention)).toBeGreaterThanOrEqual(N * N);
    } finally {
      useFusedAttention(fused);
    }
  });
  it.runIf(tf.getBackend() === 'webgpu')('full attention through the fused webgpu kernels does not', async () => {
    expect(await largest(scaledDotProductAttention)).toBeLessThan((N * N) / 2);
  });
  for (const [label, make] of variants) {
    it(label, async () => {
      await assertNoLeaks(async () => {
        const m = make();
        expect(await largest(m.attend)).toBeLessThan((N * N) / 2);
        m.dispose?.();
      });
    });
  }
});

describe('PNG heatmaps', () => {
  it('encodes a valid PNG (signature, CRCs, zlib stream, pixels)', async () => {
    await assertNoLeaks(async () => {
      const mask = patternMask({ local: { lookBack: 1, lookForward: 1 } }, 4);
      const w = tf.cast(mask, 'float32');
      const png = await heatmapPng(w, { cellSize: 2 });
      tf.dispose([mask, w]);
      expect(Array.from(png.slice(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const view = new DataView(png.buffer, png.byteOffset);
      expect(view.getUint32(16)).toBe(8); // width = 4 cells · 2 px
      expect(view.getUint32(20)).toBe(8);
      const idatLen = view.getUint32(33);
      expect(String.fromCharCode(...png.slice(37, 41))).toBe('IDAT');
      const raw = inflateSync(png.slice(41, 41 + idatLen));
      expect(raw.length).toBe(8 * (1 + 8 * 3));
      // pixel (0,0) is on the diagonal (max → yellow), pixel (0, 7) far off it (0 → dark purple)
      expect(Array.from(raw.slice(1, 4))).toEqual([253, 231, 37]);
      expect(Array.from(raw.slice(1 + 7 * 3, 1 + 8 * 3))).toEqual([68, 1, 84]);
      // CRC of IHDR
      const { crc32 } = await import('node:zlib').then((z) => z as unknown as { crc32?: (b: Uint8Array) => number });
      if (crc32) expect(view.getUint32(29)).toBe(crc32(png.slice(12, 29)));
    });
  });

  it('splits big images into several stored blocks', () => {
    const rgb = new Uint8Array(200 * 200 * 3).map((_, i) => i % 251);
    const png = encodePng(rgb, 200, 200, 3);
    const view = new DataView(png.buffer);
    const raw = inflateSync(png.slice(41, 41 + view.getUint32(33)));
    expect(raw.length).toBe(200 * 601);
    expect(raw[1 + 601 * 5]).toBe(rgb[200 * 3 * 5]);
  });
});
