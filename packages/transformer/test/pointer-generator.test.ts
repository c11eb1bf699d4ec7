// The pointer-generator head (See et al. 2017): its distribution derived by hand on hand-set weights,
// its composition (p_gen, copy attention, final distribution) recomputed on the host from the model's
// own outputs, the step function against teacher forcing, copying OOV words with greedy and beam search,
// and learning a copy task whose sources hold out-of-vocabulary words.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Rng } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { beamSearch, copyStep, extendSource, greedy, type CopySource, type StepInfo } from '@dl/decode';
import { AdamW } from '@dl/optim';
import { EncoderDecoder, PointerGenerator } from '../src/index.js';
import { modelTolerance } from './helpers.js';

const PAD = 0;
const BOS = 1;
const EOS = 2;
const UNK = 3;

function tinyModel(seed = 0): EncoderDecoder {
  return new EncoderDecoder({ srcVocabSize: 6, tgtVocabSize: 6, dModel: 4, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, padId: PAD, seed });
}

/**
 * Hand-set weights: the generator outputs zeros (P_vocab uniform, 1/6), the decoder's cross-attention
 * queries are zero (every score 0: uniform attention over the real source positions, in both heads) and
 * p_gen = σ(bias) with zero w_h, w_s, w_x.
 */
function handSet(model: EncoderDecoder, pg: PointerGenerator, pGenBias: number): void {
  tf.tidy(() => {
    model.generator!.weight.assign(tf.zerosLike(model.generator!.weight));
    model.generator!.bias!.assign(tf.zerosLike(model.generator!.bias!));
    const cross = model.transformer.decoder.layers.get(0).crossAttn!;
    const E = 4;
    cross.inWeight.assign(tf.concat([tf.zeros([E, E]), tf.slice(cross.inWeight, [E, 0], [2 * E, E])], 0)); // q rows zero
    cross.inBias!.assign(tf.concat([tf.zeros([E]), tf.slice(cross.inBias!, [E], [2 * E])]));
    for (const w of [pg.wH.weight, pg.wS.weight, pg.wX.weight]) w.assign(tf.zerosLike(w));
    pg.wX.bias!.assign(tf.tensor1d([pGenBias]));
  });
}

const info = (rows: number, step: number): StepInfo => ({ step, batchIndex: Array.from({ length: rows }, (_, i) => i), promptLength: Array(rows).fill(1), elapsedMs: 0 });

describe('PointerGenerator: the distribution on hand-set weights', () => {
  // Source: word 4, an OOV word (model id unk = 3, extended id 6), word 4, padding. Attention is 1/3 on
  // each real position; p_gen = σ(log(1/3)) = 1/4; V = 6, Vext = 7.
  // P(w) = 1/4 · 1/6 for w < 6, plus 3/4 · (2/3) on id 4 and 3/4 · (1/3) on id 6.
  const g = 1 / 24;
  const P = [g, g, g, g, g + 0.5, g, 0.25];
  const src = [[4, UNK, 4, PAD]];
  const srcExt = [[4, 6, 4, -1]];
  const tgtIn = [[BOS, UNK]];

  it('P = p_gen · P_vocab + (1 − p_gen) · copied attention over the extended vocabulary', async () => {
    await assertNoLeaks(async () => {
      const model = tinyModel();
      const pg = new PointerGenerator(model, { seed: 1 });
      handSet(model, pg, Math.log(1 / 3));
      const out = pg.forward(src, srcExt, tgtIn);
      await assertClose(out.probs, [...P, ...P], backendTolerance(), 'P', [1, 2, 7]);
      await assertClose(out.pGen, [0.25, 0.25], backendTolerance(), 'p_gen', [1, 2]);
      await assertClose(out.attention, [1 / 3, 1 / 3, 1 / 3, 0, 1 / 3, 1 / 3, 1 / 3, 0], backendTolerance(), 'attention', [1, 2, 4]);
      expect(out.logits.shape).toEqual([1, 2, 6]);
      tf.dispose([out.probs, out.pGen, out.attention, out.logits]);
      pg.dispose();
    });
  });

  it('the loss is −log P of the extended target, padding ignored, plus λ · coverage', async () => {
    await assertNoLeaks(async () => {
      const model = tinyModel();
      const pg = new PointerGenerator(model, { seed: 1 });
      handSet(model, pg, Math.log(1 / 3));
      const tol = backendTolerance();
      const both = pg.loss(src, srcExt, tgtIn, [[6, 4]]); // copy the OOV word, then word 4
      await assertClose(both, [(-Math.log(0.25) - Math.log(g + 0.5)) / 2], tol, 'mean NLL');
      const padded = pg.loss(src, srcExt, tgtIn, [[6, PAD]]);
      await assertClose(padded, [-Math.log(0.25)], tol, 'padding ignored');
      const sum = pg.loss(src, srcExt, tgtIn, [[6, 4]], { reduction: 'sum' });
      await assertClose(sum, [-Math.log(0.25) - Math.log(g + 0.5)], tol, 'sum');
      const none = pg.loss(src, srcExt, tgtIn, [[6, PAD]], { reduction: 'none' });
      await assertClose(none, [-Math.log(0.25), 0], tol, 'none', [1, 2]);
      // Coverage: step 0 costs 0, step 1 costs Σ min(1/3, 1/3) = 1; the mean over the two steps is 1/2.
      const covered = pg.loss(src, srcExt, tgtIn, [[6, 4]], { coverageWeight: 2 });
      await assertClose(covered, [(-Math.log(0.25) - Math.log(g + 0.5)) / 2 + 2 * 0.5], tol, 'NLL + 2 · coverage');
      const coveredPad = pg.loss(src, srcExt, tgtIn, [[6, PAD]], { coverageWeight: 2 });
      await assertClose(coveredPad, [-Math.log(0.25)], tol, 'coverage of padding steps ignored');
      tf.dispose([both, padded, sum, none, covered, coveredPad]);
      pg.dispose();
    });
  });

  it('greedy and beam search emit the OOV word when copying dominates', async () => {
    await assertNoLeaks(async () => {
      const model = tinyModel();
      const pg = new PointerGenerator(model, { seed: 1 });
      // p_gen ≈ 0 and a source where the OOV word (id 6) holds 2/3 of the attention.
      handSet(model, pg, -30);
      pg.eval();
      const source = [[6, 4, 6]];
      const opts = { sources: source, vocabSize: 6, unkTokenId: UNK };
      const a = pg.decoding([[UNK, 4, UNK]]);
      const g1 = await greedy(copyStep(a.step, opts), [[BOS]], { state: a.state, maxNewTokens: 3 });
      a.state.dispose();
      expect(g1.sequences[0][0].tokens).toEqual([6, 6, 6]);
      expect(g1.sequences[0][0].tokenLogprobs[0]).toBeCloseTo(Math.log(2 / 3), 4);
      const b = pg.decoding([[UNK, 4, UNK]]);
      const b1 = await beamSearch(copyStep(b.step, opts), [[BOS]], { state: b.state, numBeams: 2, numReturnSequences: 2, maxNewTokens: 2 });
      b.state.dispose();
      // Best: the OOV word twice (log 2/3 + log 2/3); then a tie at log 2/3 + log 1/3.
      const [best, second] = b1.sequences[0];
      expect(best.tokens).toEqual([6, 6]);
      expect([[6, 4], [4, 6]].map((t) => t.join())).toContain(second.tokens.join());
      expect(second.sumLogprob).toBeCloseTo(Math.log(2 / 9), 4);
      pg.dispose();
    });
  });
});

/** Row-wise softmax on the host. */
function softmaxRows(x: Float32Array, width: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < x.length / width; r++) {
    const row = Array.from(x.subarray(r * width, (r + 1) * width));
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    out.push(...e.map((v) => v / s));
  }
  return out;
}

describe('PointerGenerator: composition on random weights', () => {
  it("p_gen, the copy attention and P follow from the model's own states", async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 8, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 2, dropout: 0, padId: PAD, seed: 4 });
      const pg = new PointerGenerator(model, { seed: 5 });
      tf.tidy(() => pg.wX.bias!.assign(tf.tensor1d([0.3]))); // a non-zero b_ptr
      const src = [[4, 5, UNK, 6], [UNK, 7, PAD, PAD]];
      const srcExt = [[4, 5, 8, 6], [9, 7, -1, -1]];
      const tgtIn = [[BOS, UNK, 5], [BOS, UNK, PAD]];
      const [B, Ls, Lt, E, V, Vext] = [2, 4, 3, 8, 8, 10];
      const out = pg.forward(src, srcExt, tgtIn, { extendedVocabSize: Vext });
      // The model's teacher-forced logits and cross-attention.
      const ref = model.forward(src, tgtIn, { returnWeights: true });
      const tol = modelTolerance();
      await assertClose(out.logits, await ref.logits.data(), tol, 'logits', [B, Lt, V]);
      const meanHeads = tf.mean(ref.crossWeights![1], 1); // [B, Lt, Ls]
      await assertClose(out.attention, await meanHeads.data(), tol, 'attention = last layer, mean over heads', [B, Lt, Ls]);
      // The hidden-state hook: projecting it with the generator gives the logits.
      const enc = model.encode(src);
      const dec = model.decode(tgtIn, enc.memory, { memoryKeyPaddingMask: enc.memoryKeyPaddingMask, returnHidden: true });
      const projected = tf.tidy(() => tf.add(tf.matMul(tf.reshape(dec.hidden!, [B * Lt, E]), model.generator!.weight, false, true), model.generator!.bias!));
      await assertClose(projected, await ref.logits.data(), tol, 'hidden · Wᵀ + b = logits');
      // p_gen on the host: σ(w_h·Σ_i a_i h_i + w_s·s + w_x·x + b).
      const tgtIds = tf.tensor2d(tgtIn, [B, Lt], 'int32');
      const x = model.tgtEmbed.forward(tgtIds);
      const [mem, att, hid, emb, wh, ws, wx, logits] = await Promise.all([enc.memory, meanHeads, dec.hidden!, x, pg.wH.weight, pg.wS.weight, pg.wX.weight, ref.logits].map((t) => t.data() as Promise<Float32Array>));
      const pGen: number[] = [];
      const probs: number[] = [];
      const pv = softmaxRows(logits, V);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < Lt; t++) {
          let z = 0.3;
          for (let e = 0; e < E; e++) {
            let ctx = 0;
            for (let i = 0; i < Ls; i++) ctx += att[(b * Lt + t) * Ls + i] * mem[(b * Ls + i) * E + e];
            z += wh[e] * ctx + ws[e] * hid[(b * Lt + t) * E + e] + wx[e] * emb[(b * Lt + t) * E + e];
          }
          const p = 1 / (1 + Math.exp(-z));
          pGen.push(p);
          const row = Array.from({ length: Vext }, (_, w) => (w < V ? p * pv[(b * Lt + t) * V + w] : 0));
          for (let i = 0; i < Ls; i++) if (srcExt[b][i] >= 0) row[srcExt[b][i]] += (1 - p) * att[(b * Lt + t) * Ls + i];
          probs.push(...row);
        }
      }
      await assertClose(out.pGen, pGen, tol, 'p_gen', [B, Lt]);
      await assertClose(out.probs, probs, tol, 'P', [B, Lt, Vext]);
      tf.dispose([out.probs, out.pGen, out.attention, out.logits, ref.logits, ...ref.encoderWeights!, ...ref.decoderWeights!, ...ref.crossWeights!]);
      tf.dispose([meanHeads, enc.memory, enc.memoryKeyPaddingMask!, dec.logits, dec.hidden!, projected, x, tgtIds]);
      pg.dispose();
    });
  });

  for (const useCache of [true, false]) {
    it(`the step function (${useCache ? 'cached' : 'recomputing'}) equals teacher forcing position by position`, async () => {
      await assertNoLeaks(async () => {
        const model = new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 8, dModel: 8, nHeads: 2, numEncoderLayers: 2, numDecoderLayers: 2, dropout: 0, padId: PAD, normFirst: true, seed: 6 });
        const pg = new PointerGenerator(model, { seed: 7 });
        const src = [[4, 5, UNK, 6], [UNK, 7, 8, PAD]];
        const srcExt = [[4, 5, 8, 6], [9, 7, 8, -1]];
        const tgtIn = [[BOS, UNK, 5, 4], [BOS, 7, UNK, 6]];
        const out = pg.forward(src, srcExt, tgtIn, { extendedVocabSize: 10 });
        const { step, state } = pg.decoding(src, {}, { useCache });
        const tol = modelTolerance();
        const [lg, at, pgn] = await Promise.all([out.logits.data(), out.attention.data(), out.pGen.data()]);
        const pick = (a: ArrayLike<number>, t: number, width: number) => [0, 1].flatMap((b) => Array.from({ length: width }, (_, j) => a[(b * 4 + t) * width + j]));
        for (let t = 1; t <= 4; t++) {
          const r = await step(tgtIn.map((row) => row.slice(0, t)), state, info(2, t - 1));
          await assertClose(r.logits, pick(lg, t - 1, 8), tol, `logits at ${t - 1}`, [2, 8]);
          await assertClose(r.attention, pick(at, t - 1, 4), tol, `attention at ${t - 1}`, [2, 4]);
          await assertClose(r.pGen, pick(pgn, t - 1, 1), tol, `p_gen at ${t - 1}`, [2]);
          tf.dispose([r.logits, r.attention, r.pGen]);
        }
        state.dispose();
        tf.dispose([out.probs, out.pGen, out.attention, out.logits]);
        pg.dispose();
      });
    });
  }

  it('names its parameters as PyTorch would (model.…, w_h, w_s, w_x with b_ptr as w_x.bias)', async () => {
    await assertNoLeaks(() => {
      const pg = new PointerGenerator(tinyModel(), { seed: 0 });
      const names = pg.namedParameters().map(([n, p]) => `${n} [${p.shape.join(',')}]`);
      expect(names).toContain('model.generator.weight [6,4]');
      expect(names.filter((n) => !n.startsWith('model.'))).toEqual(['w_h.weight [1,4]', 'w_s.weight [1,4]', 'w_x.weight [1,4]', 'w_x.bias [1]']);
      pg.dispose();
    });
  });
});

describe('PointerGenerator: learning to copy out-of-vocabulary words', () => {
  // Vocabulary: 0 pad, 1 bos, 2 eos, 3 unk, 4–11 eight words. Sources of 3–6 words, each word OOV
  // (one of 50 names the model has no id for) with probability 0.3; the target is the source.
  const V = 12;
  const vocab = new Map<string, number>(Array.from({ length: 8 }, (_, i) => [`w${i}`, 4 + i]));
  const example = (rng: Rng): CopySource => {
    const L = 3 + Math.floor(rng.uniform() * 4);
    const words = Array.from({ length: L }, () => (rng.uniform() < 0.3 ? `name${Math.floor(rng.uniform() * 50)}` : `w${Math.floor(rng.uniform() * 8)}`));
    return extendSource(words, vocab, V, UNK);
  };
  const batch = (exs: CopySource[]) => {
    const Ls = Math.max(...exs.map((e) => e.modelIds.length));
    const pad = (a: number[], n: number, v: number) => [...a, ...Array<number>(n - a.length).fill(v)];
    return {
      src: exs.map((e) => pad(e.modelIds, Ls, PAD)),
      srcExt: exs.map((e) => pad(e.extendedIds, Ls, -1)),
      tgtIn: exs.map((e) => pad([BOS, ...e.modelIds], Ls + 1, PAD)),
      tgtOut: exs.map((e) => pad([...e.extendedIds, EOS], Ls + 1, PAD)),
    };
  };

  // WebGPU on SwiftShader takes seconds per step: there the loop runs 3 steps (flat tensor count,
  // finite loss); cpu and wasm train 60 steps and must copy.
  const webgpu = tf.getBackend() === 'webgpu';

  it('copies held-out OOV words with greedy and beam search after a short training', async () => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ srcVocabSize: V, tgtVocabSize: V, dModel: 32, nHeads: 2, dimFeedforward: 64, numEncoderLayers: 1, numDecoderLayers: 1, normFirst: true, dropout: 0, padId: PAD, seed: 1 });
      const pg = new PointerGenerator(model, { seed: 2 });
      const opt = new AdamW(pg.parameters(), { lr: 5e-3, weightDecay: 0 });
      const rng = new Rng(5);
      const losses: number[] = [];
      let count = -1;
      const steps = webgpu ? 3 : 60;
      for (let s = 0; s < steps; s++) {
        const b = batch(Array.from({ length: 16 }, () => example(rng)));
        const loss = await opt.minimize(() => pg.loss(b.src, b.srcExt, b.tgtIn, b.tgtOut) as tf.Scalar);
        losses.push((await loss!.data())[0]);
        loss!.dispose();
        const now = tf.memory().numTensors;
        if (s >= 2) expect(now, `tensor count at step ${s}`).toBe(count);
        count = now;
      }
      expect(losses.every(Number.isFinite)).toBe(true);
      if (webgpu) {
        opt.dispose();
        pg.dispose();
        return;
      }
      const early = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
      const late = losses.slice(-5).reduce((a, b) => a + b) / 5;
      expect(late, `loss ${early.toFixed(3)} → ${late.toFixed(3)}`).toBeLessThan(early / 4);

      pg.eval();
      const heldOut = new Rng(1234);
      const test = Array.from({ length: 32 }, () => example(heldOut));
      const b = batch(test);
      const sources = test.map((e) => e.extendedIds);
      const score = (seqs: number[][]) => {
        let oov = 0;
        let copied = 0;
        let exact = 0;
        test.forEach((e, i) => {
          if (seqs[i].join() === [...e.extendedIds, EOS].join()) exact++;
          e.extendedIds.forEach((id, j) => {
            if (id >= V) {
              oov++;
              if (seqs[i][j] === id) copied++;
            }
          });
        });
        return { oov: copied / oov, exact: exact / test.length, count: oov };
      };
      const before = tf.memory().numTensors;
      const g = pg.decoding(b.src);
      const greedyOut = await greedy(copyStep(g.step, { sources, vocabSize: V, unkTokenId: UNK }), b.src.map(() => [BOS]), { state: g.state, eosTokenId: EOS, maxNewTokens: 8 });
      g.state.dispose();
      const greedyScore = score(greedyOut.sequences.map((s) => s[0].tokens));
      const bm = pg.decoding(b.src);
      const beamOut = await beamSearch(copyStep(bm.step, { sources, vocabSize: V, unkTokenId: UNK }), b.src.map(() => [BOS]), { state: bm.state, numBeams: 3, eosTokenId: EOS, maxNewTokens: 8 });
      bm.state.dispose();
      expect(tf.memory().numTensors, 'decoding leaves nothing behind').toBe(before);
      const beamScore = score(beamOut.sequences.map((s) => s[0].tokens));
      expect(greedyScore.count).toBeGreaterThan(20);
      // A model without the copy mechanism cannot emit any of these ids (they are ≥ V): 0 %.
      expect(greedyScore.oov, `greedy copied ${(greedyScore.oov * 100).toFixed(1)} % of OOV words`).toBeGreaterThan(0.6);
      expect(beamScore.oov, `beam copied ${(beamScore.oov * 100).toFixed(1)} % of OOV words`).toBeGreaterThan(0.6);
      expect(greedyScore.exact, 'exact copies (greedy)').toBeGreaterThan(0.4);
      opt.dispose();
      pg.dispose();
    });
  }, 600_000); // a limit, not a measurement: WebGPU on SwiftShader on a loaded machine needed > 120 s
});

describe('PointerGenerator: bad input', () => {
  it('rejects bad arguments, naming them', async () => {
    await assertNoLeaks(() => {
      const model = tinyModel();
      const pg = new PointerGenerator(model, { seed: 0 });
      const noDecoder = new EncoderDecoder({ srcVocabSize: 6, tgtVocabSize: 6, dModel: 4, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 0, dropout: 0, seed: 0 });
      const src = [[4, 5]];
      const ext = [[4, 6]];
      const wrongWidth = tf.zeros([1, 3]);
      const cases: [string, () => unknown, RegExp][] = [
        ['model', () => new PointerGenerator({} as never), /PointerGenerator: model must be an EncoderDecoder/],
        ['decoder layers', () => new PointerGenerator(noDecoder), /PointerGenerator: model must be an EncoderDecoder with at least one decoder layer/],
        ['seed', () => new PointerGenerator(model, { seed: -1 }), /PointerGenerator: seed must be an integer ≥ 0/],
        ['options', () => new PointerGenerator(model, { rng: 1 } as never), /PointerGenerator: options\.rng must be one of the known options/],
        ['src', () => pg.forward([[4, 9]], ext, [[1]]), /PointerGenerator\.forward: src must be token ids in \[0, 6\)/],
        ['srcExtended range', () => pg.forward(src, [[4, 7]], [[1]], { extendedVocabSize: 7 }), /PointerGenerator\.forward: srcExtended must be integer ids in \[-1, 7\)/],
        ['srcExtended shape', () => pg.forward(src, [[4]], [[1]]), /PointerGenerator\.forward: srcExtended must be 1 rows of 2 ids/],
        ['tgtIn', () => pg.forward(src, ext, [[1], [1]]), /PointerGenerator\.forward: tgtIn must be 1 rows \(as src\)/],
        ['extendedVocabSize', () => pg.forward(src, ext, [[1]], { extendedVocabSize: 5 }), /extendedVocabSize must be an integer ≥ 6/],
        ['unknown call key', () => pg.forward(src, ext, [[1]], { vocab: 7 } as never), /PointerGenerator\.forward: options\.vocab must be one of the known options/],
        ['tgtOut', () => pg.loss(src, ext, [[1, 3]], [[6, 7]], { extendedVocabSize: 7 }), /PointerGenerator\.loss: tgtOut must be integer ids in \[0, 7\)/],
        ['coverageWeight', () => pg.loss(src, ext, [[1]], [[6]], { coverageWeight: -1 }), /PointerGenerator\.loss: coverageWeight must be a number in \[0, Infinity\]/],
        ['reduction', () => pg.loss(src, ext, [[1]], [[6]], { reduction: 'avg' as never }), /PointerGenerator\.loss: reduction must be 'mean', 'sum' or 'none'/],
        ['loss key', () => pg.loss(src, ext, [[1]], [[6]], { lambda: 1 } as never), /PointerGenerator\.loss: options\.lambda must be one of the known options/],
        ['decoding key', () => pg.decoding(src, {}, { cache: true } as never), /PointerGenerator\.decoding: options\.cache must be one of the known options/],
        ['useCache', () => pg.decoding(src, {}, { useCache: 1 } as never), /PointerGenerator\.decoding: useCache must be a boolean/],
        ['generationProbability', () => pg.generationProbability(wrongWidth, wrongWidth, wrongWidth), /PointerGenerator\.generationProbability: context must be of shape \[\.\.\., 4\]/],
      ];
      for (const [name, f, re] of cases) expect(f, name).toThrow(re);
      tf.dispose(wrongWidth);
      noDecoder.dispose();
      pg.dispose();
    });
  });

  it('rejects a step call with another state or ragged prefixes', async () => {
    await assertNoLeaks(async () => {
      const pg = new PointerGenerator(tinyModel(), { seed: 0 });
      const { step, state } = pg.decoding([[4, 5]]);
      const other = pg.decoding([[4, 5], [5, 4]]);
      expect(() => step([[1]], other.state, info(1, 0))).toThrow(/PointerGenerator\.decoding: state must be the state made by decoding\(\) with 1 rows/);
      expect(() => step([[1], [1, 2]], other.state, info(2, 0))).toThrow(/PointerGenerator\.decoding: inputIds must be non-empty target prefixes of equal length/);
      state.dispose();
      other.state.dispose();
      pg.dispose();
    });
  });
});
