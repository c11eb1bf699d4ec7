// Initialisation and weight tying: GPT-2's scaled init of residual projections (checked numerically),
// each layer drawn independently from the seed, and every allowed tying of the source embedding, the
// target embedding and the output projection.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { EncoderDecoder, GPT, type TiedWeights } from '../src/index.js';

/** Mean and standard deviation of a tensor's values. */
async function moments(t: tf.Tensor): Promise<{ mean: number; std: number }> {
  const v = Array.from(await t.data());
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const std = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
  return { mean, std };
}

async function values(m: { stateDict(): Map<string, tf.Tensor> }): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [k, t] of m.stateDict()) out.set(k, Array.from(await t.data()));
  return out;
}

describe('GPT-2 initialisation (Radford et al. 2019)', () => {
  it('N(0, 0.02) for matrices and embeddings, N(0, 0.02/√(2·nLayer)) for residual projections, zero biases', async () => {
    await assertNoLeaks(async () => {
      const nLayer = 4;
      const gpt = new GPT({ vocabSize: 256, blockSize: 64, nLayer, nHead: 4, nEmbd: 64, tieWeights: false, seed: 11 });
      const state = gpt.stateDict();
      const scaled = 0.02 / Math.sqrt(2 * nLayer);
      const expectStd = async (name: string, want: number) => {
        const { mean, std } = await moments(state.get(name)!);
        expect(Math.abs(mean), `${name} mean`).toBeLessThan(want * 0.1);
        expect(std / want, `${name} std ${std} vs ${want}`).toBeGreaterThan(0.93);
        expect(std / want, `${name} std ${std} vs ${want}`).toBeLessThan(1.07);
      };
      await expectStd('transformer.wte.weight', 0.02);
      await expectStd('transformer.wpe.weight', 0.02);
      await expectStd('lm_head.weight', 0.02);
      for (let i = 0; i < nLayer; i++) {
        await expectStd(`transformer.h.${i}.attn.c_attn.weight`, 0.02);
        await expectStd(`transformer.h.${i}.mlp.c_fc.weight`, 0.02);
        await expectStd(`transformer.h.${i}.attn.c_proj.weight`, scaled);
        await expectStd(`transformer.h.${i}.mlp.c_proj.weight`, scaled);
        for (const b of ['attn.c_attn.bias', 'attn.c_proj.bias', 'mlp.c_fc.bias', 'mlp.c_proj.bias']) {
          expect(Array.from(await state.get(`transformer.h.${i}.${b}`)!.data()).every((v) => v === 0), b).toBe(true);
        }
      }
      gpt.dispose();
    });
  });
});

describe('seeded, independent initialisation of each layer', () => {
  it('the same seed gives the same weights, another seed other weights, and no two layers share values', async () => {
    await assertNoLeaks(async () => {
      const cfg = { vocabSize: 20, blockSize: 8, nLayer: 3, nHead: 2, nEmbd: 16 };
      const a = new GPT({ ...cfg, seed: 1 });
      const b = new GPT({ ...cfg, seed: 1 });
      const c = new GPT({ ...cfg, seed: 2 });
      const [va, vb, vc] = [await values(a), await values(b), await values(c)];
      expect(vb).toEqual(va);
      expect(vc.get('transformer.h.0.attn.c_attn.weight')).not.toEqual(va.get('transformer.h.0.attn.c_attn.weight'));
      for (const p of ['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight']) {
        const layers = [0, 1, 2].map((i) => JSON.stringify(va.get(`transformer.h.${i}.${p}`)));
        expect(new Set(layers).size, p).toBe(3);
      }
      [a, b, c].forEach((m) => m.dispose());

      const ed = (seed: number) => new EncoderDecoder({ srcVocabSize: 9, tgtVocabSize: 9, dModel: 8, nHeads: 2, numEncoderLayers: 2, numDecoderLayers: 2, seed });
      const [e1, e2] = [ed(3), ed(3)];
      const [w1, w2] = [await values(e1), await values(e2)];
      expect(w2).toEqual(w1);
      const inProj = ['encoder.layers.0', 'encoder.layers.1', 'decoder.layers.0', 'decoder.layers.1'].map((l) => JSON.stringify(w1.get(`transformer.${l}.self_attn.in_proj_weight`)));
      expect(new Set(inProj).size).toBe(4);
      [e1, e2].forEach((m) => m.dispose());
    });
  });
});

describe('weight tying', () => {
  const base = { srcVocabSize: 11, tgtVocabSize: 11, dModel: 8, nHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dropout: 0, seed: 6 };
  // Which token matrices each tying leaves, under the first of src_tok_emb, tgt_tok_emb, generator.
  const cases: [TiedWeights, string[], 'src' | 'tgt' | 'gen'][] = [
    [[], ['src_tok_emb.weight', 'tgt_tok_emb.weight', 'generator.weight'], 'gen'],
    [['source', 'target'], ['src_tok_emb.weight', 'generator.weight'], 'gen'],
    [['target', 'output'], ['src_tok_emb.weight', 'tgt_tok_emb.weight'], 'tgt'],
    [['source', 'output'], ['src_tok_emb.weight', 'tgt_tok_emb.weight'], 'src'],
    [['source', 'target', 'output'], ['src_tok_emb.weight'], 'src'],
  ];
  it.each(cases)('tieWeights %j: the shared matrix is one parameter, used by each tied role', async (tie, matrices, out) => {
    await assertNoLeaks(async () => {
      const model = new EncoderDecoder({ ...base, tieWeights: tie });
      const names = model.namedParameters().map(([n]) => n);
      const tokenMatrices = names.filter((n) => /^(src_tok_emb|tgt_tok_emb|generator)\.weight$/.test(n));
      expect(tokenMatrices).toEqual(matrices);
      expect(model.tgtEmbed === model.srcEmbed).toBe(tie.includes('source') && tie.includes('target'));
      expect(model.generator === null).toBe(tie.includes('output'));
      // The logits are the decoder's hidden states times the shared matrix (plus the generator's bias, untied).
      const src = [[3, 4, 5]];
      const enc = model.encode(src);
      const { logits, hidden } = model.decode([[1, 6]], enc.memory, { returnHidden: true });
      const w = out === 'src' ? model.srcEmbed.weight : out === 'tgt' ? model.tgtEmbed.weight : model.generator!.weight;
      const want = tf.tidy(() => {
        const y = tf.matMul(tf.reshape(hidden!, [2, 8]), w, false, true); // [2, V]
        return model.generator ? tf.add(y, model.generator.bias!) : y;
      });
      await assertClose(logits, await want.data(), backendTolerance(), 'logits', [1, 2, 11]);
      // Training reaches the shared matrix.
      const { grads, value } = tf.variableGrads(() => model.loss(src, [[1, 6]], [[6, 2]]), [w as tf.Variable]);
      expect((await grads[w.name].data()).some((v) => v !== 0)).toBe(true);
      tf.dispose([enc.memory, enc.memoryKeyPaddingMask, logits, hidden, want, value, ...Object.values(grads)].filter((t): t is tf.Tensor => t != null));
      model.dispose();
    });
  });

  it('a tied state dict loads into a tied model and round-trips', async () => {
    await assertNoLeaks(async () => {
      const a = new EncoderDecoder({ ...base, tieWeights: ['source', 'target', 'output'] });
      const b = new EncoderDecoder({ ...base, tieWeights: ['source', 'target', 'output'], seed: 7 });
      b.loadStateDict(a.stateDict());
      const [x, y] = [a.forward([[3, 4]], [[1, 5]]).logits, b.forward([[3, 4]], [[1, 5]]).logits];
      await assertClose(y, await x.data(), { atol: 0, rtol: 0 }, 'logits');
      tf.dispose([x, y]);
      [a, b].forEach((m) => m.dispose());
    });
  });

  it('GPT: tieWeights true shares wte with the output projection, false adds lm_head', async () => {
    await assertNoLeaks(async () => {
      const tied = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, seed: 0 });
      const untied = new GPT({ vocabSize: 10, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 8, tieWeights: false, seed: 0 });
      expect(tied.namedParameters().some(([n]) => n === 'lm_head.weight')).toBe(false);
      expect(untied.namedParameters().some(([n]) => n === 'lm_head.weight')).toBe(true);
      expect(untied.namedParameters().length).toBe(tied.namedParameters().length + 1);
      [tied, untied].forEach((m) => m.dispose());
    });
  });
});
