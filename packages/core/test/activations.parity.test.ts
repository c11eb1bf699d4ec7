// Activations against PyTorch (fixtures/activations.json); checks in parity-cases.ts.
import { describe, expect, it } from 'vitest';
import * as dl from '../src/index.js';
import * as testing from '../src/testing.js';
import { fixture } from './helpers.js';
import { activationFns, checkActivationCase, type ActivationCase } from './parity-cases.js';

const { cases } = fixture<ActivationCase[]>('activations.json');

describe('activations match PyTorch', () => {
  it('covers every fixture case', () => {
    expect(Object.keys(activationFns(dl)).sort()).toEqual(cases.map((c) => c.name).sort());
  });
  for (const c of cases) it(c.name, () => checkActivationCase(dl, testing, c));
});
