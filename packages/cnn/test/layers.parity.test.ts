// Forward and backward of every layer against PyTorch (fixtures/layers.json, converted to our layout by
// the generator), on the active backend with its stated tolerance (cpu 1e-5, wasm 1e-4, webgpu 1e-3).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import type { Module } from '@dl/core';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d, Upsample } from '../src/index.js';
import { disposeMap, fixture, toState, toTensor, type FixtureTensor } from './helpers.js';

interface LayerCase {
  name: string;
  config: Record<string, any>;
  input: FixtureTensor;
  output: FixtureTensor;
  upstream: FixtureTensor;
  inputGrad: FixtureTensor;
  state: Record<string, FixtureTensor>;
  paramGrads: Record<string, FixtureTensor>;
}

const { cases } = fixture<LayerCase[]>('layers.json');

/** Builds our layer from PyTorch's constructor arguments. */
function build(c: Record<string, any>): Module & { forward(x: tf.Tensor): tf.Tensor } {
  switch (c.kind) {
    case 'Conv2d':
      return new Conv2d(c.in_channels, c.out_channels, c.kernel_size, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias });
    case 'Conv1d':
      return new Conv1d(c.in_channels, c.out_channels, c.kernel_size, { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups, bias: c.bias });
    case 'ConvTranspose2d':
      return new ConvTranspose2d(c.in_channels, c.out_channels, c.kernel_size, {
        stride: c.stride, padding: c.padding, outputPadding: c.output_padding, dilation: c.dilation, groups: c.groups, bias: c.bias,
      });
    case 'MaxPool2d':
      return new MaxPool2d(c.kernel_size, { stride: c.stride, padding: c.padding, ceilMode: c.ceil_mode });
    case 'AvgPool2d':
      return new AvgPool2d(c.kernel_size, { stride: c.stride, padding: c.padding, countIncludePad: c.count_include_pad });
    case 'AdaptiveAvgPool2d':
      return new AdaptiveAvgPool2d(c.output_size);
    case 'Upsample':
      return new Upsample({ size: c.size, scaleFactor: c.scale_factor, mode: c.mode, alignCorners: c.align_corners });
    default:
      throw new Error(`unknown kind ${c.kind}`);
  }
}

describe('layers match PyTorch (forward and backward)', () => {
  it('has cases for every layer kind', () => {
    expect(new Set(cases.map((c) => c.config.kind))).toEqual(new Set(['Conv2d', 'Conv1d', 'ConvTranspose2d', 'MaxPool2d', 'AvgPool2d', 'AdaptiveAvgPool2d', 'Upsample']));
  });

  for (const c of cases) {
    it(c.name, async () => {
      const tol = backendTolerance();
      await assertNoLeaks(async () => {
        const m = build(c.config);
        const state = toState(c.state);
        m.loadStateDict(state);
        disposeMap(state);
        const x0 = toTensor(c.input);
        const x = tf.variable(x0);
        x0.dispose();
        const upstream = toTensor(c.upstream);
        let out: tf.Tensor | null = null;
        const { value, grads } = tf.variableGrads(() => {
          out = tf.keep(m.forward(x));
          return tf.sum(tf.mul(out, upstream)) as tf.Scalar;
        }, [...m.parameters(), x]);
        await assertClose(out!, c.output.data, tol, `${c.name} output`, c.output.shape);
        await assertClose(grads[x.name], c.inputGrad.data, tol, `${c.name} input grad`);
        for (const [name, p] of m.namedParameters()) {
          await assertClose(grads[p.name], c.paramGrads[name].data, tol, `${c.name} grad ${name}`, c.paramGrads[name].shape);
        }
        tf.dispose([x, upstream, value, out!, ...Object.values(grads)]);
        m.dispose();
      }, c.name);
    });
  }
});
