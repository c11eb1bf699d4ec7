import * as tf from '@tensorflow/tfjs-core';
import { checkInt } from './errors.js';

/**
 * A small seedable generator (xoshiro128**, seeded through splitmix32). Initialisers and dropout draw from
 * it, so a seed gives the same weights on every backend: values are made in JavaScript, not by a kernel.
 *
 * @example
 * ```ts
 * import { Rng } from '@dl/core';
 * const rng = new Rng(42);
 * rng.uniform(); // in [0, 1)
 * ```
 */
export class Rng {
  private s = new Uint32Array(4);
  private spare: number | null = null;

  /** @param seed any 32-bit integer. */
  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restarts the sequence from `seed`. */
  reseed(seed: number): void {
    if (!Number.isFinite(seed)) throw new Error(`Rng: seed must be a finite number, got ${seed}`);
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    this.spare = null;
  }

  /**
   * The generator's full state (four 32-bit words and the cached normal), to save with a checkpoint
   * and give back to {@link Rng.setState}: the sequence then continues exactly where it was.
   *
   * @example
   * ```ts
   * import { Rng } from '@dl/core';
   * const rng = new Rng(7);
   * const saved = rng.getState();
   * const a = rng.uniform();
   * rng.setState(saved);
   * rng.uniform() === a; // true
   * ```
   */
  getState(): number[] {
    return [...this.s, this.spare === null ? NaN : this.spare];
  }

  /** Restores a state from {@link Rng.getState}. */
  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== 5 || state.slice(0, 4).some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new Error(`Rng.setState: state must be 4 unsigned 32-bit integers and the cached normal (Rng.getState()), got ${JSON.stringify(state)}`);
    }
    this.s.set(state.slice(0, 4));
    this.spare = Number.isNaN(state[4]) ? null : state[4];
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 bits of randomness. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** An integer seed for tfjs random ops (`tf.randomUniform(..., seed)`), drawn from this generator. */
  seedForOp(): number {
    return this.nextUint32();
  }

  /** A Float32Array of `n` uniforms in [lo, hi). */
  uniformArray(n: number, lo = 0, hi = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * this.uniform();
    return out;
  }

  /** A Float32Array of `n` normals with the given mean and standard deviation. */
  normalArray(n: number, mean = 0, std = 1): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = mean + std * this.normal();
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

let globalRng = new Rng(0);

/**
 * Seeds the global generator that layers use when no `rng` is passed, like `torch.manual_seed`.
 *
 * @example
 * ```ts
 * import { manualSeed, Linear } from '@dl/core';
 * manualSeed(1);
 * const a = new Linear(4, 2); // same weights after every manualSeed(1)
 * ```
 */
export function manualSeed(seed: number): void {
  checkInt('manualSeed', 'seed', seed, 0);
  globalRng = new Rng(seed);
}

/**
 * The global generator (see {@link manualSeed}).
 *
 * @example
 * ```ts
 * import { getRng } from '@dl/core';
 * const x = getRng().normal();
 * ```
 */
export function getRng(): Rng {
  return globalRng;
}

/**
 * A uniform tensor in [lo, hi) from `rng` (default: the global generator).
 *
 * @example
 * ```ts
 * import { randUniform } from '@dl/core';
 * const noise = randUniform([2, 3], -1, 1);
 * ```
 */
export function randUniform(shape: number[], lo = 0, hi = 1, rng: Rng = globalRng): tf.Tensor {
  return tf.tensor(rng.uniformArray(sizeOf(shape), lo, hi), shape, 'float32');
}

/**
 * A normal tensor from `rng` (default: the global generator).
 *
 * @example
 * ```ts
 * import { randNormal } from '@dl/core';
 * const w = randNormal([4, 4], 0, 0.02);
 * ```
 */
export function randNormal(shape: number[], mean = 0, std = 1, rng: Rng = globalRng): tf.Tensor {
  return tf.tensor(rng.normalArray(sizeOf(shape), mean, std), shape, 'float32');
}

function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
