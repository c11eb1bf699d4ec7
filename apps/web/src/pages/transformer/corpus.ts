/**
 * A character-level corpus: the vocabulary is the set of characters the text uses, and training
 * examples are windows of `blockSize + 1` characters at random offsets (inputs, and the same shifted by
 * one as next-character targets). Offsets are a pure function of the seed and the batch position, so a
 * run is reproducible.
 */

export interface Corpus {
  /** The characters, sorted; a character's id is its index. */
  chars: string[];
  /** The text as ids. */
  ids: Int32Array;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export function buildCorpus(text: string): Corpus {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const encode = (s: string) =>
    [...s].map((c) => {
      const id = index.get(c);
      if (id === undefined) throw new Error(`the character ${JSON.stringify(c)} is not in the training text (its ${chars.length} characters are ${JSON.stringify(chars.join(''))})`);
      return id;
    });
  return { chars, ids: Int32Array.from(encode(text)), encode, decode: (ids) => ids.map((i) => chars[i]).join('') };
}

/** mulberry32: a small seeded generator, enough to pick window offsets. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Batch `position`: `batchSize` windows `{ x, y }` of `blockSize` ids each, y being x shifted by one. */
export function windowBatch(ids: Int32Array, blockSize: number, batchSize: number, seed: number, position: number): { x: number[][]; y: number[][] } {
  const span = ids.length - blockSize - 1;
  if (span < 0) throw new Error(`the training text has ${ids.length} characters; a context of ${blockSize} needs at least ${blockSize + 1}`);
  const next = rng(seed * 1_000_003 + position);
  const x: number[][] = [];
  const y: number[][] = [];
  for (let b = 0; b < batchSize; b++) {
    const o = Math.floor(next() * (span + 1));
    x.push(Array.from(ids.subarray(o, o + blockSize)));
    y.push(Array.from(ids.subarray(o + 1, o + blockSize + 1)));
  }
  return { x, y };
}

/** How a character reads as an axis label (newline and space made visible). */
export const visibleChar = (c: string): string => (c === '\n' ? '↵' : c === ' ' ? '␣' : c === '\t' ? '⇥' : c);
