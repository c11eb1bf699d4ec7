// Forward and backward of every core layer against PyTorch (fixtures/layers.json), on the active backend
// with its stated tolerance (cpu 1e-5, wasm 1e-4, webgpu 1e-3). The checks live in parity-cases.ts.
import { describe, expect, it } from 'vitest';
import * as dl from '../src/index.js';
import * as testing from '../src/testing.js';
import { fixture } from './helpers.js';
import { checkLayerCase, layerBuilders, type LayerCase } from './parity-cases.js';

const { cases } = fixture<LayerCase[]>('layers.json');

describe('layers match PyTorch', () => {
  it('covers every fixture case', () => {
    expect(Object.keys(layerBuilders(dl)).sort()).toEqual(cases.map((c) => c.name).sort());
  });
  for (const c of cases) it(c.name, () => checkLayerCase(dl, testing, c));
});
