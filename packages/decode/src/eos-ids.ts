import { DLArgumentError } from '@dl/core';

/**
 * EOS ids as a list, validated (one id or a list of non-negative integers). Its own module so that the
 * processors and stopping criteria that need it do not import the option handling that imports them.
 */
export function eosList(where: string, eos: number | readonly number[] | undefined): number[] {
  if (eos === undefined) return [];
  const list = typeof eos === 'number' ? [eos] : Array.isArray(eos) ? [...eos] : null;
  if (list === null || list.some((t) => !Number.isInteger(t) || t < 0)) {
    throw new DLArgumentError(where, 'eosTokenId', 'a non-negative integer or a list of them', eos);
  }
  return list;
}
