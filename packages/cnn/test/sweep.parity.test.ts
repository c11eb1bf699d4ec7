// A randomised sweep against PyTorch (fixtures/sweep.json, written once by scripts/generate_fixtures.py from a
// fixed seed): a few hundred small Conv1d, Conv2d, ConvTranspose2d, MaxPool2d and AvgPool2d configurations
// (odd sizes, non-square kernels, unequal strides and dilations, symmetric, asymmetric, 'same' and 'valid'
// padding, groups, depthwise, bias on and off, ceil mode, count_include_pad), forward and backward: the output
// and the gradients of sum(output · upstream) with respect to the input and every parameter.
// Cases run in batches (one `it` per batch, one read from the device per case) to keep WebGPU on SwiftShader fast;
// a failing batch lists every failing case with its options.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Module } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d } from '../src/index.js';
import { disposeMap, fixture, toState, toTensor, type FixtureTensor } from './helpers.js';

interface SweepCase {
  name: string;
  kind: 'Conv2d' | 'Conv1d' | 'ConvTranspose2d' | 'MaxPool2d' | 'AvgPool2d';
  args: any[];
  options: Record<string, any>;
  input: FixtureTensor;
  output: FixtureTensor;
  upstream: FixtureTensor;
  inputGrad: FixtureTensor;
  state: Record<string, FixtureTensor>;
  paramGrads: Record<string, FixtureTensor>;
}

const sweep = fixture<SweepCase[]>('sweep.json') as { torch: string; seed: number; cases: SweepCase[] };
const BATCH = 16;

function build(c: SweepCase): Module & { forward(x: tf.Tensor): tf.Tensor } {
  const [a, b, k] = c.args;
  switch (c.kind) {
    case 'Conv2d':
      return new Conv2d(a, b, k, c.options);
    case 'Conv1d':
      return new Conv1d(a, b, k, c.options);
    case 'ConvTranspose2d':
      return new ConvTranspose2d(a, b, k, c.options);
    case 'MaxPool2d':
      return new MaxPool2d(a, c.options);
    case 'AvgPool2d':
      return new AvgPool2d(a, c.options);
  }
}

/** Runs one case; returns null when it matches PyTorch, else what differs. */
async function runCase(c: SweepCase): Promise<string | null> {
  const tol = backendTolerance();
  try {
    return await assertNoLeaks(async () => {
      const m = build(c);
      const state = toState(c.state);
      m.loadStateDict(state);
      disposeMap(state);
      const x = tf.tidy(() => tf.variable(toTensor(c.input)));
      const upstream = toTensor(c.upstream);
      const params = m.namedParameters();
      let out: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        out = tf.keep(m.forward(x));
        return tf.sum(tf.mul(out, upstream)) as tf.Scalar;
      }, [...params.map(([, p]) => p), x]);
      const y = out as unknown as tf.Tensor;
      const shapeOk = y.shape.join(',') === c.output.shape.join(',');
      // Everything compared, in one tensor: one read from the device per case.
      const parts: [string, tf.Tensor, FixtureTensor][] = [['output', y, c.output], ['input grad', grads[x.name], c.inputGrad], ...params.map(([n, p]): [string, tf.Tensor, FixtureTensor] => [`grad ${n}`, grads[p.name], c.paramGrads[n]])];
      const flat = shapeOk ? tf.tidy(() => tf.concat(parts.map(([, t]) => tf.reshape(t, [-1])))) : null;
      const host = flat ? await flat.data() : null;
      tf.dispose([x, upstream, value, y, flat, ...Object.values(grads)].filter((t): t is tf.Tensor => t !== null));
      m.dispose();
      if (!shapeOk) return `output shape [${y.shape}], PyTorch [${c.output.shape}]`;
      let offset = 0;
      for (const [label, t, want] of parts) {
        await assertClose(host!.subarray(offset, offset + t.size), want.data, tol, label);
        offset += t.size;
      }
      return null;
    }, c.name);
  } catch (e) {
    return (e as Error).message;
  }
}

describe(`layers match PyTorch over a randomised sweep (seed ${sweep.seed}, ${sweep.cases.length} cases)`, () => {
  it('covers every layer kind and the option space', () => assertNoLeaks(() => {
    const of = (k: string) => sweep.cases.filter((c) => c.kind === k);
    for (const k of ['Conv2d', 'Conv1d', 'ConvTranspose2d', 'MaxPool2d', 'AvgPool2d']) expect(of(k).length, k).toBeGreaterThanOrEqual(40);
    const conv2d = of('Conv2d');
    const padKind = (p: unknown) => (typeof p === 'string' ? p : typeof p === 'number' ? 'number' : Array.isArray((p as unknown[])[0]) ? 'asymmetric' : 'pair');
    expect(new Set(conv2d.map((c) => padKind(c.options.padding)))).toEqual(new Set(['same', 'valid', 'number', 'pair', 'asymmetric']));
    expect(conv2d.some((c) => c.args[2][0] !== c.args[2][1])).toBe(true); // non-square kernels
    expect(conv2d.some((c) => c.options.stride[0] !== c.options.stride[1])).toBe(true);
    expect(conv2d.some((c) => c.options.dilation[0] !== c.options.dilation[1])).toBe(true);
    expect(conv2d.some((c) => c.options.groups > 1 && c.options.groups === c.args[0])).toBe(true); // depthwise
    expect(conv2d.some((c) => c.options.groups > 1 && c.options.groups !== c.args[0])).toBe(true);
    expect(new Set(conv2d.map((c) => c.options.bias))).toEqual(new Set([true, false]));
    expect(of('Conv1d').some((c) => c.options.padding === undefined && c.args[2] > 1)).toBe(true); // default padding
    for (const k of ['MaxPool2d', 'AvgPool2d']) expect(new Set(of(k).map((c) => c.options.ceilMode))).toEqual(new Set([true, false]));
  }));

  for (let start = 0; start < sweep.cases.length; start += BATCH) {
    const batch = sweep.cases.slice(start, start + BATCH);
    it(`${batch[0].name} … ${batch[batch.length - 1].name}`, async () => {
      const failures: string[] = [];
      for (const c of batch) {
        const problem = await runCase(c);
        if (problem) failures.push(`${c.name} ${JSON.stringify(c.args)} ${JSON.stringify(c.options)} input [${c.input.shape}]: ${problem}`);
      }
      expect(failures, failures.join('\n')).toEqual([]);
    });
  }
});
