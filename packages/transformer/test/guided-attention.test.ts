// The guided-attention loss (Tachibana et al. 2018): values derived by hand on a tiny padded batch,
// head and layer selection, masks equal to lengths, gradients into the weights and into a model.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { EncoderDecoder, guidedAttentionLoss, guidedAttentionMatrix } from '../src/index.js';

// g = 0.5, so 2g² = 0.5 and W = 1 − exp(−2·d²) with d = n/N − t/T.
const c = 1 - Math.exp(-0.5); // d = ±1/2 (row 0, off the diagonal)
const w13 = 1 - Math.exp(-2 / 9); // d = 1/3 (row 1)
const w23 = 1 - Math.exp(-8 / 9); // d = 2/3 (row 1)
const G = 9; // garbage in padded entries: it must not count

// Row 0: T = 2, N = 2 (source column 2 is padding). Row 1: T = 1 (target row 1 is padding), N = 3.
const A = [
  [
    [0.2, 0.8, G],
    [0.6, 0.4, G],
  ],
  [
    [0.1, 0.3, 0.6],
    [G, G, G],
  ],
];
// Σ A·W over the 4 + 3 real entries.
const expected = (0.8 * c + 0.6 * c + 0.3 * w13 + 0.6 * w23) / 7;

/** `A` as [2, H, 2, 3] with head h's values scaled by scales[h]. */
function heads(scales: number[]): tf.Tensor {
  return tf.tidy(() => tf.stack(scales.map((s) => tf.mul(tf.tensor3d(A), s)), 1)); // [2, H, 2, 3]
}

describe('guidedAttentionMatrix', () => {
  it('is 0 on the diagonal and 1 − exp(−d²/2g²) off it', async () => {
    await assertNoLeaks(async () => {
      const w = guidedAttentionMatrix(2, 2, 0.5);
      await assertClose(w, [0, c, c, 0], backendTolerance(), 'W', [2, 2]);
      const w2 = guidedAttentionMatrix(1, 3, 0.5);
      await assertClose(w2, [0, w13, w23], backendTolerance(), 'W 1×3', [1, 3]);
      const wide = guidedAttentionMatrix(4, 4); // g = 0.2: (1/4)²/(0.08) = 0.78125
      const v = await wide.data();
      expect(v[1]).toBeCloseTo(1 - Math.exp(-0.78125), 5);
      tf.dispose([w, w2, wide]);
    });
  });
});

describe('guidedAttentionLoss', () => {
  it('equals the hand-derived masked mean (lengths)', async () => {
    await assertNoLeaks(async () => {
      const a = heads([1]);
      const loss = guidedAttentionLoss(a, { g: 0.5, srcLengths: [2, 3], tgtLengths: [2, 1] });
      expect(loss.shape).toEqual([]);
      await assertClose(loss, [expected], backendTolerance(), 'loss');
      tf.dispose([a, loss]);
    });
  });

  it('padding masks give the same value as lengths', async () => {
    await assertNoLeaks(async () => {
      const a = heads([1]);
      const srcKeyPaddingMask = tf.tensor2d([[false, false, true], [false, false, false]], [2, 3], 'bool');
      const tgtKeyPaddingMask = tf.tensor2d([[false, false], [false, true]], [2, 2], 'bool');
      const loss = guidedAttentionLoss(a, { g: 0.5, srcKeyPaddingMask, tgtKeyPaddingMask });
      await assertClose(loss, [expected], backendTolerance(), 'loss from masks');
      tf.dispose([a, loss, srcKeyPaddingMask, tgtKeyPaddingMask]);
    });
  });

  it('without lengths every entry is real', async () => {
    await assertNoLeaks(async () => {
      const a = tf.tensor4d([[[[0, 1], [1, 0]]]]); // [1, 1, 2, 2]: anti-diagonal
      const loss = guidedAttentionLoss(a, { g: 0.5 });
      await assertClose(loss, [(2 * c) / 4], backendTolerance(), 'anti-diagonal');
      const diag = tf.tensor4d([[[[1, 0], [0, 1]]]]);
      const zero = guidedAttentionLoss(diag, { g: 0.5 });
      await assertClose(zero, [0], backendTolerance(), 'diagonal costs nothing');
      tf.dispose([a, loss, diag, zero]);
    });
  });

  it('reverse measures from the anti-diagonal of each row\'s real lengths', async () => {
    await assertNoLeaks(async () => {
      const anti = tf.tensor4d([[[[0, 1], [1, 0]]]]); // [1, 1, 2, 2]
      const zero = guidedAttentionLoss(anti, { g: 0.5, reverse: true });
      await assertClose(zero, [0], backendTolerance(), 'anti-diagonal costs nothing');
      const diag = tf.tensor4d([[[[1, 0], [0, 1]]]]);
      const costly = guidedAttentionLoss(diag, { g: 0.5, reverse: true });
      await assertClose(costly, [(2 * c) / 4], backendTolerance(), 'diagonal');
      // Row 0 of the padded batch: N = 2, so n' = 1 − n; row 1: N = 3, T = 1, n' = 2 − n.
      const a = heads([1]);
      const loss = guidedAttentionLoss(a, { g: 0.5, srcLengths: [2, 3], tgtLengths: [2, 1], reverse: true });
      await assertClose(loss, [(0.2 * c + 0.4 * c + 0.1 * w23 + 0.3 * w13) / 7], backendTolerance(), 'padded batch');
      const w = guidedAttentionMatrix(1, 3, 0.5, true);
      await assertClose(w, [w23, w13, 0], backendTolerance(), 'W backwards', [1, 3]);
      tf.dispose([anti, zero, diag, costly, a, loss, w]);
    });
  });

  it('averages over the chosen heads and layers', async () => {
    await assertNoLeaks(async () => {
      const l0 = heads([1, 3]); // head 1 is 3·A
      const l1 = heads([2, 4]);
      const opts = { g: 0.5, srcLengths: [2, 3], tgtLengths: [2, 1] };
      const all = guidedAttentionLoss([l0, l1], opts);
      await assertClose(all, [((1 + 3 + 2 + 4) / 4) * expected], backendTolerance(), 'all heads, all layers');
      const last = guidedAttentionLoss([l0, l1], { ...opts, layers: 'last' });
      await assertClose(last, [3 * expected], backendTolerance(), 'last layer');
      const picked = guidedAttentionLoss([l0, l1], { ...opts, layers: [0], heads: [1] });
      await assertClose(picked, [3 * expected], backendTolerance(), 'layer 0, head 1');
      tf.dispose([l0, l1, all, last, picked]);
    });
  });

  it('its gradient in the weights is W / (real entries), zero on padding', async () => {
    await assertNoLeaks(async () => {
      const a = heads([1]);
      const grad = tf.grad((x: tf.Tensor) => guidedAttentionLoss(x, { g: 0.5, srcLengths: [2, 3], tgtLengths: [2, 1] }))(a);
      await assertClose(grad, [0, c / 7, 0, c / 7, 0, 0, 0, w13 / 7, w23 / 7, 0, 0, 0], backendTolerance(), 'dL/dA', [2, 1, 2, 3]);
      tf.dispose([a, grad]);
    });
  });

  it("flows into an EncoderDecoder's parameters through crossWeights", async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 9, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 2, dropout: 0, padId: 0, seed: 3 });
      const src = [[3, 4, 5, 6], [7, 8, 0, 0]];
      const tgtIn = [[1, 6, 5, 4], [1, 8, 0, 0]];
      const params = model.parameters();
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(src, tgtIn, { returnWeights: true });
        const loss = guidedAttentionLoss(out.crossWeights!, { srcLengths: [4, 2], tgtLengths: [4, 2] });
        tf.dispose([out.logits, ...out.encoderWeights!, ...out.decoderWeights!, ...out.crossWeights!]);
        return loss;
      }, params);
      const v = (await value.data())[0];
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
      const named = new Map(model.namedParameters());
      const byName = (name: string) => grads[named.get(name)!.name];
      const absSum = async (name: string) => {
        const t = tf.tidy(() => tf.sum(tf.abs(byName(name))));
        const v = (await t.data())[0];
        t.dispose();
        return v;
      };
      const q = await absSum('transformer.decoder.layers.1.multihead_attn.in_proj_weight');
      expect(Number.isFinite(q) && q > 0).toBe(true);
      // The encoder shapes the keys, so it gets a gradient too; the output layer does not.
      expect(await absSum('transformer.encoder.layers.0.linear1.weight')).toBeGreaterThan(0);
      expect(byName('generator.weight')).toBeUndefined();
      tf.dispose([value, ...Object.values(grads)]);
      model.dispose();
    });
  });

  it('rejects bad input, naming the argument', async () => {
    await assertNoLeaks(() => {
      const a = tf.zeros([2, 1, 2, 3]);
      const rank2 = tf.zeros([2, 3]);
      const wider = tf.zeros([2, 1, 2, 4]);
      const narrowMask = tf.zeros([2, 2], 'bool');
      const cases: [string, () => unknown, RegExp][] = [
        ['weights', () => guidedAttentionLoss([], {}), /guidedAttentionLoss: weights must be/],
        ['weights rank', () => guidedAttentionLoss(rank2), /weights\[0\] must be of rank 4/],
        ['weights shapes', () => guidedAttentionLoss([a, wider]), /weights\[1\] must be of shape \[2,1,2,3\]/],
        ['g', () => guidedAttentionLoss(a, { g: 0 }), /g must be a number in \(0, Infinity\]/],
        ['srcLengths', () => guidedAttentionLoss(a, { srcLengths: [2, 4] }), /srcLengths must be 2 integers in \[1, 3\]/],
        ['tgtLengths', () => guidedAttentionLoss(a, { tgtLengths: [1] }), /tgtLengths must be 2 integers in \[1, 2\]/],
        ['srcKeyPaddingMask', () => guidedAttentionLoss(a, { srcKeyPaddingMask: narrowMask }), /srcKeyPaddingMask must be of size 3 on axis 1/],
        ['both', () => guidedAttentionLoss(a, { tgtLengths: [1, 1], tgtKeyPaddingMask: narrowMask }), /tgtLengths must be given either as tgtLengths or as tgtKeyPaddingMask/],
        ['layers', () => guidedAttentionLoss(a, { layers: [1] }), /layers must be 'all', 'last' or distinct indices in \[0, 1\)/],
        ['heads', () => guidedAttentionLoss(a, { heads: [0, 0] }), /heads must be 'all' or distinct head indices in \[0, 1\)/],
        ['reverse', () => guidedAttentionLoss(a, { reverse: 1 as never }), /guidedAttentionLoss: reverse must be a boolean/],
        ['matrix reverse', () => guidedAttentionMatrix(2, 2, 0.2, 'yes' as never), /guidedAttentionMatrix: reverse must be a boolean/],
        ['unknown key', () => guidedAttentionLoss(a, { sigma: 0.4 } as never), /options\.sigma must be one of the known options/],
        ['matrix tgtLength', () => guidedAttentionMatrix(0, 2), /guidedAttentionMatrix: tgtLength must be a positive integer/],
        ['matrix g', () => guidedAttentionMatrix(2, 2, -1), /guidedAttentionMatrix: g must be/],
      ];
      for (const [name, f, re] of cases) expect(f, name).toThrow(re);
      tf.dispose([a, rank2, wider, narrowMask]);
    });
  });
});
