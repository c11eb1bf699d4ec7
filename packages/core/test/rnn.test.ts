// RNN, LSTM, GRU and their cells against PyTorch (fixtures/rnn.json: a randomised sweep of layers,
// directions, layouts, biases, initial states and padded batches), forward and backward, on the active
// backend with its stated tolerance; then initialisation, dropout, bad input and a training loop.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { Dropout, GRU, GRUCell, Linear, LSTM, LSTMCell, manualSeed, mseLoss, Rng, RNN, RNNCell, type RNNBase, type RNNCellBase } from '../src/index.js';
import { assertClose, assertNoLeaks, backendTolerance } from '../src/testing.js';
import { disposeMap, fixture, toState, toTensor, type FixtureTensor } from './helpers.js';

interface Case {
  name: string;
  kind: 'LSTM' | 'GRU' | 'RNN' | 'LSTMCell' | 'GRUCell' | 'RNNCell';
  options: { inputSize: number; hiddenSize: number; numLayers?: number; bias: boolean; batchFirst?: boolean; bidirectional?: boolean; dropout?: number; nonlinearity?: 'tanh' | 'relu' };
  input: FixtureTensor;
  h0?: FixtureTensor;
  c0?: FixtureTensor;
  lengths?: number[];
  state: Record<string, FixtureTensor>;
  output?: FixtureTensor;
  h: FixtureTensor;
  c?: FixtureTensor;
  upstream: { output?: FixtureTensor; h: FixtureTensor; c?: FixtureTensor };
  grads: { input: FixtureTensor; h0?: FixtureTensor; c0?: FixtureTensor; params: Record<string, FixtureTensor> };
}

const { cases } = fixture<Case[]>('rnn.json');

function build(c: Case): RNNBase | RNNCellBase {
  const { inputSize: I, hiddenSize: H, ...o } = c.options;
  switch (c.kind) {
    case 'LSTM':
      return new LSTM(I, H, { numLayers: o.numLayers, bias: o.bias, batchFirst: o.batchFirst, bidirectional: o.bidirectional, dropout: o.dropout });
    case 'GRU':
      return new GRU(I, H, { numLayers: o.numLayers, bias: o.bias, batchFirst: o.batchFirst, bidirectional: o.bidirectional, dropout: o.dropout });
    case 'RNN':
      return new RNN(I, H, o);
    case 'LSTMCell':
      return new LSTMCell(I, H, { bias: o.bias });
    case 'GRUCell':
      return new GRUCell(I, H, { bias: o.bias });
    case 'RNNCell':
      return new RNNCell(I, H, { bias: o.bias, nonlinearity: o.nonlinearity });
  }
}

/** A variable holding a fixture tensor (the temporary it was made from is freed). */
function variable(f: FixtureTensor): tf.Variable {
  const t = toTensor(f);
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/**
 * Loads PyTorch's state_dict into a fresh module by name, runs the case (sequence layers in one call,
 * cells step by step), and compares outputs, final states and the gradients of
 * Σ output·up + Σ h·up_h (+ Σ c·up_c) with respect to the input, the initial states and every parameter.
 * Padded cases pass `lengths` in turn as an array, an int32 tensor and an Int32Array.
 */
async function checkCase(c: Case, index: number): Promise<void> {
  const tol = backendTolerance();
  await assertNoLeaks(async () => {
    const m = build(c);
    expect([...m.stateDict().keys()], 'parameter names and order').toEqual(Object.keys(c.state));
    const state = toState(c.state);
    m.loadStateDict(state);
    disposeMap(state);
    if (c.options.dropout) m.eval(); // PyTorch's case ran in eval mode: no dropout
    const x = variable(c.input);
    const h0 = c.h0 ? variable(c.h0) : null;
    const c0 = c.c0 ? variable(c.c0) : null;
    const up = { output: c.upstream.output && toTensor(c.upstream.output), h: toTensor(c.upstream.h), c: c.upstream.c && toTensor(c.upstream.c) };
    const lengths = !c.lengths ? undefined : index % 3 === 0 ? c.lengths : index % 3 === 1 ? tf.tensor1d(c.lengths, 'int32') : Int32Array.from(c.lengths);
    const kept: { output?: tf.Tensor; h?: tf.Tensor; c?: tf.Tensor } = {};
    const vars = [...m.parameters(), x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])];
    const { value, grads } = tf.variableGrads(() => {
      let out: { output?: tf.Tensor; h: tf.Tensor; c?: tf.Tensor };
      if (m instanceof LSTM) out = m.forward(x, h0 || c0 ? { h: h0 ?? undefined, c: c0 ?? undefined } : undefined, lengths ? { lengths } : undefined);
      else if (m instanceof GRU || m instanceof RNN) out = m.forward(x, h0, lengths ? { lengths } : undefined);
      else {
        // A cell stepped over the sequence, keeping every step's state.
        const hs: tf.Tensor[] = [];
        const cs: tf.Tensor[] = [];
        let h: tf.Tensor | undefined = h0 ?? undefined;
        let cc: tf.Tensor | undefined = c0 ?? undefined;
        for (const xt of tf.unstack(x)) {
          if (m instanceof LSTMCell) {
            ({ h, c: cc } = m.forward(xt, h ? { h, c: cc } : undefined));
            cs.push(cc);
          } else {
            h = (m as GRUCell | RNNCell).forward(xt, h);
          }
          hs.push(h);
        }
        out = { h: tf.stack(hs), c: cs.length ? tf.stack(cs) : undefined };
      }
      kept.output = out.output && tf.keep(out.output);
      kept.h = tf.keep(out.h);
      kept.c = out.c && tf.keep(out.c);
      let loss = tf.sum(tf.mul(out.h, up.h));
      if (out.output) loss = tf.add(loss, tf.sum(tf.mul(out.output, up.output!)));
      if (out.c) loss = tf.add(loss, tf.sum(tf.mul(out.c, up.c!)));
      return loss as tf.Scalar;
    }, vars);
    if (c.output) await assertClose(kept.output!, c.output.data, tol, `${c.name} output`, c.output.shape);
    await assertClose(kept.h!, c.h.data, tol, `${c.name} h`, c.h.shape);
    if (c.c) await assertClose(kept.c!, c.c.data, tol, `${c.name} c`, c.c.shape);
    else expect(kept.c, 'no cell state').toBeUndefined();
    await assertClose(grads[x.name], c.grads.input.data, tol, `${c.name} grad input`, c.grads.input.shape);
    if (h0) await assertClose(grads[h0.name], c.grads.h0!.data, tol, `${c.name} grad h0`);
    if (c0) await assertClose(grads[c0.name], c.grads.c0!.data, tol, `${c.name} grad c0`);
    for (const [name, p] of m.namedParameters()) await assertClose(grads[p.name], c.grads.params[name].data, tol, `${c.name} grad ${name}`);
    tf.dispose([value, ...Object.values(grads), ...Object.values(kept), ...Object.values(up)] as tf.Tensor[]);
    if (lengths instanceof tf.Tensor) lengths.dispose();
    tf.dispose([x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : [])]);
    m.dispose();
  }, c.name);
}

describe('recurrent layers match PyTorch', () => {
  it('the fixtures cover every class, multi-layer bidirectional padded batches and unbatched input', () => {
    const kinds = new Set(cases.map((c) => c.kind));
    expect([...kinds].sort()).toEqual(['GRU', 'GRUCell', 'LSTM', 'LSTMCell', 'RNN', 'RNNCell']);
    const seq = cases.filter((c) => c.output);
    expect(seq.length).toBeGreaterThanOrEqual(30);
    expect(seq.some((c) => c.lengths && c.options.bidirectional && (c.options.numLayers ?? 1) > 1 && c.lengths.some((n) => n < Math.max(...c.lengths!)))).toBe(true);
    expect(seq.some((c) => c.input.shape.length === 2)).toBe(true);
    expect(seq.some((c) => c.options.nonlinearity === 'relu')).toBe(true);
  });
  cases.forEach((c, i) => it(c.name, () => checkCase(c, i)));
});

describe('recurrent layers', () => {
  it('initialise every parameter U(−1/√hidden, 1/√hidden) from the seeded generator, with PyTorch names and shapes', async () => {
    await assertNoLeaks(async () => {
      const a = new LSTM(3, 4, { numLayers: 2, bidirectional: true, rng: new Rng(5) });
      const b = new LSTM(3, 4, { numLayers: 2, bidirectional: true, rng: new Rng(5) });
      const shapes = Object.fromEntries([...a.stateDict()].map(([k, v]) => [k, v.shape]));
      expect(shapes).toEqual({
        weight_ih_l0: [16, 3], weight_hh_l0: [16, 4], bias_ih_l0: [16], bias_hh_l0: [16],
        weight_ih_l0_reverse: [16, 3], weight_hh_l0_reverse: [16, 4], bias_ih_l0_reverse: [16], bias_hh_l0_reverse: [16],
        weight_ih_l1: [16, 8], weight_hh_l1: [16, 4], bias_ih_l1: [16], bias_hh_l1: [16],
        weight_ih_l1_reverse: [16, 8], weight_hh_l1_reverse: [16, 4], bias_ih_l1_reverse: [16], bias_hh_l1_reverse: [16],
      });
      expect(a.numParameters()).toBe(2 * (16 * 3 + 16 * 4 + 32) + 2 * (16 * 8 + 16 * 4 + 32)); // torch: 1024
      const all = Float32Array.from((await Promise.all(a.parameters().map((p) => p.data()))).flatMap((d) => Array.from(d)));
      const bound = 1 / Math.sqrt(4);
      expect(Math.max(...all.map(Math.abs))).toBeLessThanOrEqual(bound);
      expect(Math.max(...all)).toBeGreaterThan(0.9 * bound);
      expect(Math.min(...all)).toBeLessThan(-0.9 * bound);
      for (const [[name, p], [, q]] of a.namedParameters().map((e, i) => [e, b.namedParameters()[i]])) await assertClose(q, await p.data(), { atol: 0, rtol: 0 }, name);
      manualSeed(9);
      const g1 = new GRUCell(2, 3);
      manualSeed(9);
      const g2 = new GRUCell(2, 3);
      expect([...g1.stateDict().keys()]).toEqual(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']);
      expect(g1.weightIh.shape).toEqual([9, 2]);
      await assertClose(g2.weightHh, await g1.weightHh.data(), { atol: 0, rtol: 0 }, 'same seed, same weights');
      const nb = new RNN(2, 3, { bias: false, numLayers: 3 });
      expect([...nb.stateDict().keys()]).toEqual(['weight_ih_l0', 'weight_hh_l0', 'weight_ih_l1', 'weight_hh_l1', 'weight_ih_l2', 'weight_hh_l2']);
      [a, b, g1, g2, nb].forEach((m) => m.dispose());
    });
  });

  it('drops out between layers in training only, as Dropout on each layer output but the last', async () => {
    await assertNoLeaks(async () => {
      const p = 0.5;
      const rng = new Rng(1);
      const two = new GRU(3, 4, { numLayers: 2, dropout: p, rng });
      // The same network as two one-layer GRUs with a Dropout in between, drawing from a generator in the same state.
      const first = new GRU(3, 4);
      const second = new GRU(4, 4);
      const sd = two.stateDict();
      first.loadStateDict(Object.fromEntries(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((n) => [`${n}_l0`, sd.get(`${n}_l0`)!])));
      second.loadStateDict(Object.fromEntries(['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'].map((n) => [`${n}_l0`, sd.get(`${n}_l1`)!])));
      const x = tf.randomNormal([5, 2, 3], 0, 1, 'float32', 3);
      rng.reseed(42);
      const y = two.forward(x);
      const drop = new Dropout(p, { rng: new Rng(42) });
      const ref = tf.tidy(() => second.forward(drop.forward(first.forward(x).output)));
      await assertClose(y.output, await ref.output.data(), backendTolerance(), 'training output');
      // Some units were dropped: the output differs from evaluation mode, which has no dropout.
      two.eval();
      const e = two.forward(x);
      const plain = tf.tidy(() => second.forward(first.forward(x).output).output);
      await assertClose(e.output, await plain.data(), backendTolerance(), 'eval output');
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(e.output, y.output))));
      expect((await diff.data())[0]).toBeGreaterThan(1e-3);
      tf.dispose([x, y.output, y.h, ref.output, ref.h, e.output, e.h, plain, diff]);
      [two, first, second, drop].forEach((m) => m.dispose());
    });
  });

  it('a padded sequence ends in the same state as the sequence alone, and pads with zeros', async () => {
    await assertNoLeaks(async () => {
      const lstm = new LSTM(2, 3, { bidirectional: true, batchFirst: true, rng: new Rng(4) });
      const x = tf.randomNormal([2, 5, 2], 0, 1, 'float32', 8);
      const padded = lstm.forward(x, null, { lengths: [5, 3] });
      const second = tf.slice(x, [1, 0, 0], [1, 3, 2]);
      const alone = lstm.forward(second);
      const tail = tf.slice(padded.output, [1, 3, 0], [1, 2, 6]);
      expect(Array.from(await tail.data()).map((v) => v + 0)).toEqual(new Array(12).fill(0)); // +0 folds −0
      const head = tf.slice(padded.output, [1, 0, 0], [1, 3, 6]);
      await assertClose(head, await alone.output.data(), backendTolerance(), 'real steps');
      const h1 = tf.slice(padded.h, [0, 1, 0], [2, 1, 3]);
      const c1 = tf.slice(padded.c, [0, 1, 0], [2, 1, 3]);
      await assertClose(h1, await alone.h.data(), backendTolerance(), 'final h');
      await assertClose(c1, await alone.c.data(), backendTolerance(), 'final c');
      tf.dispose([x, second, padded.output, padded.h, padded.c, alone.output, alone.h, alone.c, tail, head, h1, c1]);
      lstm.dispose();
    });
  });

  it('rejects bad arguments, naming them', async () => {
    await assertNoLeaks(async () => {
      const lstm = new LSTM(3, 4, { numLayers: 2 });
      const gru = new GRU(3, 4, { batchFirst: true });
      const lcell = new LSTMCell(3, 4);
      const gcell = new GRUCell(3, 4);
      const x = tf.zeros([5, 2, 3]);
      const xb = tf.zeros([2, 5, 3]);
      const t = (shape: number[], dtype: tf.DataType = 'float32') => tf.zeros(shape, dtype);
      const made = [x, xb];
      const keep = (v: tf.Tensor) => (made.push(v), v);
      const table: [() => unknown, RegExp][] = [
        [() => new LSTM(0, 4), /^LSTM: inputSize must be a positive integer, got 0$/],
        [() => new GRU(3, 2.5), /^GRU: hiddenSize must be a positive integer, got 2.5$/],
        [() => new RNN(3, 4, { numLayers: 0 }), /^RNN: numLayers must be a positive integer, got 0$/],
        [() => new GRU(3, 4, { dropout: 1 }), /^GRU: dropout must be a number in \[0, 1\), got 1$/],
        [() => new LSTM(3, 4, { bias: 1 as never }), /^LSTM: bias must be a boolean, got 1$/],
        [() => new LSTM(3, 4, { batchFirst: 'yes' as never }), /^LSTM: batchFirst must be a boolean, got "yes"$/],
        [() => new GRU(3, 4, { bidirectional: null as never }), /^GRU: bidirectional must be a boolean, got null$/],
        [() => new GRU(3, 4, { rng: 5 as never }), /^GRU: rng must be an Rng, got 5$/],
        [() => new RNN(3, 4, { nonlinearity: 'sigmoid' as never }), /^RNN: nonlinearity must be 'tanh' or 'relu', got "sigmoid"$/],
        [() => new LSTM(3, 4, { batch_first: true } as never), /^LSTM: options.batch_first must be one of the known options \(numLayers, bias, batchFirst, dropout, bidirectional, rng\), got "batch_first"$/],
        [() => new LSTM(3, 4, { nonlinearity: 'relu' } as never), /^LSTM: options.nonlinearity must be one of the known options/],
        [() => new GRU(3, 4, null as never), /^GRU: options must be an object, got null$/],
        [() => new LSTMCell(3, 4, { numLayers: 2 } as never), /^LSTMCell: options.numLayers must be one of the known options \(bias, rng\)/],
        [() => new RNNCell(3, 4, { nonlinearity: 'gelu' as never }), /^RNNCell: nonlinearity must be 'tanh' or 'relu', got "gelu"$/],
        [() => new GRUCell(-1, 4), /^GRUCell: inputSize must be a positive integer, got -1$/],
        [() => lstm.forward(keep(t([5, 2, 4]))), /^LSTM: input must be of shape \[\.\.\., 3\], got Tensor float32 \[5,2,4\]$/],
        [() => lstm.forward(keep(t([1, 5, 2, 3]))), /^LSTM: input must be of rank 2 or 3, got Tensor float32 \[1,5,2,3\]$/],
        [() => lstm.forward(keep(t([5, 2, 3], 'int32'))), /^LSTM: input must be of dtype float32, got Tensor int32 \[5,2,3\]$/],
        [() => lstm.forward(keep(t([0, 2, 3]))), /^LSTM: input must be non-empty \(length and batch ≥ 1\), got Tensor float32 \[0,2,3\]$/],
        [() => lstm.forward(null as never), /^LSTM: input must be a tf.Tensor, got null$/],
        [() => lstm.forward(x, { h: keep(t([1, 2, 4])) }), /^LSTM: state.h must be of shape \[2,2,4\] \(numLayers · directions, batch, hiddenSize\), got Tensor float32 \[1,2,4\]$/],
        [() => lstm.forward(x, { c: keep(t([2, 4])) }), /^LSTM: state.c must be of shape \[2,2,4\]/],
        [() => lstm.forward(x, keep(t([2, 2, 4])) as never), /^LSTM: state must be an object \{ h, c \}, got Tensor float32 \[2,2,4\]$/],
        [() => lstm.forward(x, { h0: x } as never), /^LSTM: state.h0 must be absent: a state has only h and c, got h0$/],
        [() => lstm.forward(x, null, { lengths: [5, 6] }), /^LSTM: options.lengths must be 2 integers in \[1, 5\] \(one per batch element, at most the input's length\) or an int32 tensor \[2\], got \[5,6\]$/],
        [() => lstm.forward(x, null, { lengths: [5, 0] }), /^LSTM: options.lengths must be 2 integers in \[1, 5\]/],
        [() => lstm.forward(x, null, { lengths: [5] }), /^LSTM: options.lengths must be 2 integers/],
        [() => lstm.forward(x, null, { lengths: keep(t([2])) }), /^LSTM: options.lengths must be of dtype int32, got Tensor float32 \[2\]$/],
        [() => lstm.forward(x, null, { lengths: keep(t([3], 'int32')) }), /^LSTM: options.lengths must be of size 2 on axis 0, got Tensor int32 \[3\]$/],
        [() => lstm.forward(keep(t([5, 3])), null, { lengths: [5] }), /^LSTM: options.lengths must be absent for unbatched \(rank-2\) input, got \[5\]$/],
        [() => lstm.forward(x, null, { length: [5, 5] } as never), /^LSTM: options.length must be one of the known options \(lengths\), got "length"$/],
        [() => gru.forward(xb, keep(t([1, 5, 4]))), /^GRU: h0 must be of shape \[1,2,4\] \(numLayers · directions, batch, hiddenSize\), got Tensor float32 \[1,5,4\]$/],
        [() => gru.forward(xb, keep(t([1, 2, 4], 'int32'))), /^GRU: h0 must be of dtype float32, got Tensor int32 \[1,2,4\]$/],
        [() => lcell.forward(keep(t([2, 5]))), /^LSTMCell: input must be of shape \[\.\.\., 3\], got Tensor float32 \[2,5\]$/],
        [() => lcell.forward(keep(t([1, 2, 3]))), /^LSTMCell: input must be of rank 1 or 2, got Tensor float32 \[1,2,3\]$/],
        [() => lcell.forward(keep(t([2, 3])), { h: keep(t([3, 4])) }), /^LSTMCell: state.h must be of shape \[2,4\] to match the input, got Tensor float32 \[3,4\]$/],
        [() => lcell.forward(keep(t([2, 3])), { c: keep(t([2, 4])), x: 1 } as never), /^LSTMCell: state.x must be absent: a state has only h and c, got x$/],
        [() => gcell.forward(keep(t([3])), keep(t([1, 4]))), /^GRUCell: h must be of shape \[4\] to match the input, got Tensor float32 \[1,4\]$/],
      ];
      for (const [f, message] of table) expect(f).toThrow(message);
      tf.dispose(made);
      [lstm, gru, lcell, gcell].forEach((m) => m.dispose());
    });
  });

  it('trains through time (an LSTM remembers the first step of padded sequences) with a flat tensor count; a cell decodes flat too', async () => {
    await assertNoLeaks(async () => {
      // Target: the first input of each sequence, read from the final state after 2–4 steps of noise.
      const data = new Rng(11);
      const B = 8;
      const L = 4;
      const xs = Float32Array.from({ length: L * B }, () => data.normal());
      const lengths = Array.from({ length: B }, (_, b) => 2 + (b % 3));
      const x = tf.tensor3d(xs, [L, B, 1]);
      const target0 = Array.from({ length: B }, (_, b) => xs[b]);
      const target = tf.tensor2d(target0, [B, 1]);
      const lstm = new LSTM(1, 6, { rng: new Rng(2) });
      const head = new Linear(6, 1, { rng: new Rng(3) });
      const opt = tf.train.adam(0.05);
      const params = [...lstm.parameters(), ...head.parameters()];
      const losses: number[] = [];
      let count = -1;
      const steps = 16;
      for (let step = 0; step < steps; step++) {
        const loss = opt.minimize(() => {
          const { h } = lstm.forward(x, null, { lengths });
          return mseLoss(head.forward(tf.reshape(h, [B, 6])), target) as tf.Scalar;
        }, true, params)!;
        losses.push((await loss.data())[0]);
        loss.dispose();
        if (step === 1) count = tf.memory().numTensors;
        if (step > 1) expect(tf.memory().numTensors, `step ${step}`).toBe(count);
      }
      // Below a quarter of what the best constant prediction (the targets' mean) scores: the state carries x₀.
      const mean = target0.reduce((a, v) => a + v, 0) / B;
      const variance = target0.reduce((a, v) => a + (v - mean) ** 2, 0) / B;
      expect(losses[steps - 1]).toBeLessThan(0.25 * variance);
      // Greedy decoding with a cell feeding its output back: the live tensors stay the same each step.
      const cell = new LSTMCell(1, 6);
      const start = tf.zeros([B, 1]);
      let state = cell.forward(start);
      start.dispose();
      let before = -1;
      for (let t = 0; t < 5; t++) {
        const next = tf.tidy(() => cell.forward(tf.slice(state.h, [0, 0], [B, 1]), state));
        tf.dispose([state.h, state.c]);
        state = next;
        if (t === 0) before = tf.memory().numTensors;
        else expect(tf.memory().numTensors, `decode step ${t}`).toBe(before);
      }
      tf.dispose([x, target, state.h, state.c]);
      opt.dispose();
      [lstm, head, cell].forEach((m) => m.dispose());
    });
  });
});
