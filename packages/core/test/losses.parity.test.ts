// Losses against PyTorch (fixtures/losses.json); checks in parity-cases.ts.
import { describe, it } from 'vitest';
import * as dl from '../src/index.js';
import * as testing from '../src/testing.js';
import { fixture } from './helpers.js';
import { checkLossCase, type LossCase } from './parity-cases.js';

const { cases } = fixture<LossCase[]>('losses.json');

describe('losses match PyTorch', () => {
  for (const c of cases) it(c.name, () => checkLossCase(dl, testing, c));
});
