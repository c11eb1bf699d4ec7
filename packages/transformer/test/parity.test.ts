// PyTorch parity: torch's own nn.TransformerEncoderLayer / DecoderLayer / nn.Transformer (randomised
// sweep), our generic layer stack against a hand-written torch reference (norms, activations, GQA,
// rotary / ALiBi / T5 positions), forward and backward. Fixtures: scripts/generate_fixtures.py.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks } from '@dl/core/testing';
import { TransformerDecoder, TransformerEncoder, type LayerStack } from '../src/index.js';
import { fixture, modelTolerance, toStateDict, toTensor, type FixtureTensor } from './helpers.js';

interface Grads {
  upstream: FixtureTensor;
  inputGrads: Record<string, FixtureTensor>;
  paramGrads: Record<string, FixtureTensor>;
}

/** Checks value and gradients of L = Σ out·upstream with respect to the inputs and every parameter. */
async function checkGrads(
  label: string,
  run: (inputs: tf.Tensor[]) => tf.Tensor,
  inputs: [string, tf.Tensor][],
  params: [string, tf.Variable][],
  want: Grads & { output: FixtureTensor },
): Promise<void> {
  const tol = modelTolerance();
  const up = toTensor(want.upstream);
  const vars = inputs.map(([, t]) => tf.variable(t));
  const { value, grads } = tf.variableGrads(() => {
    const out = run(vars);
    return tf.sum(tf.mul(out, up)) as tf.Scalar;
  }, [...vars, ...params.map(([, p]) => p)]);
  const outNow = run(vars);
  await assertClose(outNow, want.output.data, tol, `${label} output`, want.output.shape);
  for (let i = 0; i < inputs.length; i++) {
    const name = inputs[i][0];
    await assertClose(grads[vars[i].name], want.inputGrads[name].data, tol, `${label} d/d${name}`);
  }
  for (const [name, p] of params) {
    const g = want.paramGrads[name];
    expect(g, `${label}: fixture has a gradient for ${name}`).toBeDefined();
    await assertClose(grads[p.name], g.data, tol, `${label} d/d${name}`);
  }
  tf.dispose([up, value, outNow, ...Object.values(grads), ...vars]);
}

// WebGPU runs on SwiftShader (a CPU emulation) in CI: every fifth case of each sweep there, all of them
// on cpu and wasm.
const sweep = <T>(cases: T[]): [T, number][] => cases.map((c, i) => [c, i] as [T, number]).filter(([, i]) => process.env.DL_BACKEND !== 'webgpu' || i % 5 === 0);

function params(m: LayerStack | { namedParameters(): [string, tf.Variable][] }, prefix = ''): [string, tf.Variable][] {
  return m.namedParameters(prefix);
}

describe('parity with torch.nn.Transformer* (randomised sweep)', () => {
  interface TorchCase extends Grads {
    kind: 'encoder_layer' | 'decoder_layer' | 'transformer';
    config: { dModel: number; nhead: number; dimFeedforward: number; activation: 'relu' | 'gelu'; normFirst: boolean; layerNormEps: number; numEncoderLayers?: number; numDecoderLayers?: number };
    inputs: Record<string, FixtureTensor>;
    masks: Record<'srcMask' | 'tgtMask' | 'srcKeyPaddingMask' | 'tgtKeyPaddingMask' | 'memoryKeyPaddingMask', FixtureTensor | null>;
    tgtCausal: boolean;
    state: Record<string, FixtureTensor>;
    output: FixtureTensor;
  }
  const { cases } = fixture<{ cases: TorchCase[] }>('torch-layers.json');

  it(`has a sweep of ${cases.length} cases over all three modules`, () => {
    expect(new Set(cases.map((c) => c.kind)).size).toBe(3);
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  sweep(cases).forEach(([c, n]) => {
    const cfg = c.config;
    const label = `${c.kind} #${n} E=${cfg.dModel} H=${cfg.nhead} F=${cfg.dimFeedforward} ${cfg.activation} ${cfg.normFirst ? 'pre' : 'post'}-LN`;
    it(label, async () => {
      await assertNoLeaks(async () => {
        const stack = (numLayers: number, finalNorm: boolean) => ({
          dModel: cfg.dModel, nHeads: cfg.nhead, dimFeedforward: cfg.dimFeedforward, numLayers, activation: cfg.activation,
          normFirst: cfg.normFirst, normEps: cfg.layerNormEps, finalNorm, dropout: 0,
        });
        const state = toStateDict(c.state);
        const m = c.masks;
        // torch's boolean attention masks mean "blocked"; ours "may attend".
        const masks = tf.tidy(() => ({
          src: m.srcMask ? tf.logicalNot(toTensor(m.srcMask)) : undefined,
          srcPad: m.srcKeyPaddingMask ? tf.cast(toTensor(m.srcKeyPaddingMask), 'bool') : undefined,
          tgtPad: m.tgtKeyPaddingMask ? tf.cast(toTensor(m.tgtKeyPaddingMask), 'bool') : undefined,
          memPad: m.memoryKeyPaddingMask ? tf.cast(toTensor(m.memoryKeyPaddingMask), 'bool') : undefined,
        }));
        const inputs = Object.entries(c.inputs).map(([k, v]) => [k, toTensor(v)] as [string, tf.Tensor]);
        const disposeAll: { dispose(): void }[] = [];
        try {
          if (c.kind === 'encoder_layer') {
            const enc = new TransformerEncoder(stack(1, false));
            disposeAll.push(enc);
            enc.layers.get(0).loadStateDict(state);
            await checkGrads(label, ([src]) => enc.forward(src, { mask: masks.src, keyPaddingMask: masks.srcPad }).output, inputs, params(enc.layers.get(0)), c);
          } else if (c.kind === 'decoder_layer') {
            const dec = new TransformerDecoder(stack(1, false));
            disposeAll.push(dec);
            dec.layers.get(0).loadStateDict(state);
            await checkGrads(
              label,
              ([tgt, memory]) => dec.forward(tgt, { memory, causal: c.tgtCausal, keyPaddingMask: masks.tgtPad, memoryKeyPaddingMask: masks.memPad }).output,
              inputs,
              params(dec.layers.get(0)),
              c,
            );
          } else {
            const enc = new TransformerEncoder(stack(cfg.numEncoderLayers!, true));
            const dec = new TransformerDecoder(stack(cfg.numDecoderLayers!, true));
            disposeAll.push(enc, dec);
            const pick = (prefix: string) => new Map([...state].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
            enc.loadStateDict(pick('encoder.'));
            dec.loadStateDict(pick('decoder.'));
            await checkGrads(
              label,
              ([src, tgt]) => tf.tidy(() => {
                const memory = enc.forward(src, { mask: masks.src, keyPaddingMask: masks.srcPad }).output;
                return dec.forward(tgt, { memory, causal: c.tgtCausal, keyPaddingMask: masks.tgtPad, memoryKeyPaddingMask: masks.memPad }).output;
              }),
              inputs,
              [...params(enc, 'encoder'), ...params(dec, 'decoder')],
              c,
            );
          }
        } finally {
          disposeAll.forEach((d) => d.dispose());
          tf.dispose([...state.values(), ...inputs.map(([, t]) => t), ...Object.values(masks).filter((t): t is tf.Tensor => !!t)]);
        }
      });
    });
  });
});

describe('parity of the generic stack with a torch reference (randomised sweep)', () => {
  interface BlockCase extends Grads {
    config: {
      dModel: number; nHeads: number; nKVHeads: number; dimFeedforward: number; numLayers: number; norm: 'layernorm' | 'rmsnorm'; normEps: number;
      normFirst: boolean; activation: 'relu' | 'gelu' | 'gelu_tanh' | 'silu' | 'swiglu' | 'geglu'; bias: boolean; finalNorm: boolean;
      position: 'none' | 'rope' | 'alibi' | 't5'; causal: boolean; lengths: number[] | null; numBuckets?: number; maxDistance?: number;
    };
    x: FixtureTensor;
    state: Record<string, FixtureTensor>;
    output: FixtureTensor;
  }
  const { cases } = fixture<{ cases: BlockCase[] }>('blocks.json');

  it(`covers every position kind, norm, activation and head grouping in ${cases.length} cases`, () => {
    const seen = (f: (c: BlockCase['config']) => unknown) => new Set(cases.map((c) => f(c.config)));
    expect(seen((c) => c.position)).toEqual(new Set(['none', 'rope', 'alibi', 't5']));
    expect(seen((c) => c.activation).size).toBe(6);
    expect(seen((c) => c.norm).size).toBe(2);
    expect([...seen((c) => c.nKVHeads < c.nHeads)]).toContain(true);
  });

  sweep(cases).forEach(([c, n]) => {
    const g = c.config;
    const label = `#${n} E=${g.dModel} H=${g.nHeads}/${g.nKVHeads} L=${g.numLayers} ${g.norm} ${g.activation} ${g.position}${g.causal ? ' causal' : ''}${g.normFirst ? ' pre' : ' post'}${g.bias ? '' : ' no-bias'}${g.lengths ? ' padded' : ''}`;
    it(label, async () => {
      await assertNoLeaks(async () => {
        const config = {
          dModel: g.dModel, nHeads: g.nHeads, nKVHeads: g.nKVHeads, dimFeedforward: g.dimFeedforward, numLayers: g.numLayers, norm: g.norm, normEps: g.normEps,
          normFirst: g.normFirst, activation: g.activation, bias: g.bias, finalNorm: g.finalNorm, position: g.position, dropout: 0,
          relativeBuckets: g.numBuckets, relativeMaxDistance: g.maxDistance,
        };
        // A causal stack is a decoder without cross-attention (T5 buckets it one-directionally).
        const model = g.causal ? new TransformerDecoder({ ...config, crossAttention: false }) : new TransformerEncoder(config);
        const state = toStateDict(c.state);
        const x = toTensor(c.x);
        try {
          model.loadStateDict(state);
          await checkGrads(label, ([xv]) => model.forward(xv, { causal: g.causal, lengths: g.lengths ?? undefined }).output, [['x', x]], params(model), c);
        } finally {
          model.dispose();
          tf.dispose([x, ...state.values()]);
        }
      });
    });
  });
});
