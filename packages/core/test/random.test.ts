import { describe, expect, it } from 'vitest';
import { Rng } from '../src/index.js';
import { assertNoLeaks } from '../src/testing.js';

describe('Rng state', () => {
  it('getState / setState continue the same sequence, including a cached normal', async () => {
    await assertNoLeaks(() => {
      const rng = new Rng(3);
      rng.normal(); // leaves a cached spare normal
      const saved = rng.getState();
      const a = [rng.normal(), rng.uniform(), rng.nextUint32()];
      const other = new Rng(99);
      other.setState(saved);
      expect([other.normal(), other.uniform(), other.nextUint32()]).toEqual(a);
      expect(() => other.setState([1, 2, 3])).toThrow(/Rng.setState: state must be 4 unsigned 32-bit integers/);
    });
  });
});
