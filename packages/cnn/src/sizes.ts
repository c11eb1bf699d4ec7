import { checkInt, checkKeys, DLArgumentError } from '@dl/core';
import { checkObjectKeys, optionKeys } from './util.js';

/** Options of {@link convOutputSize}. */
export interface OutputSizeOptions {
  /** Padding p on each side (or total `[before, after]`). Default 0. */
  padding?: number | [number, number];
  /** Stride s. Default 1. */
  stride?: number;
  /** Dilation d. Default 1. */
  dilation?: number;
  /** Round up (pooling's `ceilMode`). Default false. */
  ceil?: boolean;
}

const KEYS = optionKeys<OutputSizeOptions>()(['padding', 'stride', 'dilation', 'ceil']);

/**
 * The output size of a convolution or pooling window along one axis,
 * (n − f + 2p) / s + 1, rounded down (up with `ceil`), generalised to dilation d (f → d·(f − 1) + 1).
 *
 * @throws DLArgumentError when the padded input is smaller than the (dilated) kernel.
 *
 * @example
 * ```ts
 * import { convOutputSize } from '@dl/cnn';
 * convOutputSize(32, 5); // 28: LeNet's first conv
 * convOutputSize(224, 7, { stride: 2, padding: 3 }); // 112: ResNet's stem
 * ```
 */
export function convOutputSize(n: number, f: number, options: OutputSizeOptions = {}): number {
  checkKeys('convOutputSize', options, KEYS);
  checkInt('convOutputSize', 'n', n);
  checkInt('convOutputSize', 'f', f);
  const s = checkInt('convOutputSize', 'stride', options.stride ?? 1);
  const d = checkInt('convOutputSize', 'dilation', options.dilation ?? 1);
  const p = options.padding ?? 0;
  const [pb, pa] = Array.isArray(p) ? p : [p, p];
  checkInt('convOutputSize', 'padding', pb, 0);
  checkInt('convOutputSize', 'padding', pa, 0);
  const eff = d * (f - 1) + 1;
  const span = n + pb + pa - eff;
  if (span < 0) throw new DLArgumentError('convOutputSize', 'n', `at least the kernel's extent ${eff} after padding (${pb} + ${pa})`, n);
  return (options.ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
}

/** One layer for {@link receptiveField}: kernel f, stride s, dilation d (one axis). */
export interface RFLayer {
  /** Kernel size f. */
  kernel: number;
  /** Stride s. Default 1. */
  stride?: number;
  /** Dilation d. Default 1. */
  dilation?: number;
  /** Padding on the leading side (shifts `start`). Default 0. */
  padding?: number;
  /** A name to carry into the result. */
  name?: string;
}

const LAYER_KEYS = optionKeys<RFLayer>()(['kernel', 'stride', 'dilation', 'padding', 'name']);

/** The receptive field after one layer of a stack. */
export interface RFStep {
  /** The layer's name, if given. */
  name?: string;
  /** Receptive field: how many input pixels one output pixel sees. */
  size: number;
  /** Jump: distance in input pixels between neighbouring outputs (product of strides). */
  jump: number;
  /** Centre of the first output's field in input coordinates (pixel i spans [i, i + 1)). */
  start: number;
}

/**
 * Receptive field of each layer of a stack along one axis: r ← r + (d·(f − 1))·j,
 * j ← j·s, start ← start + ((f − 1)·d / 2 − p)·j_prev. Use a layer's `geometry()` for kernel and stride.
 *
 * @example
 * ```ts
 * import { receptiveField } from '@dl/cnn';
 * // LeNet: conv 5, pool 2/2, conv 5, pool 2/2: each final cell sees 16×16 input pixels.
 * const steps = receptiveField([{ kernel: 5 }, { kernel: 2, stride: 2 }, { kernel: 5 }, { kernel: 2, stride: 2 }]);
 * steps[3]; // { size: 16, jump: 4, start: 8 }
 * ```
 */
export function receptiveField(layers: RFLayer[]): RFStep[] {
  if (!Array.isArray(layers)) throw new DLArgumentError('receptiveField', 'layers', 'an array of { kernel, stride?, dilation?, padding? }', layers);
  let size = 1;
  let jump = 1;
  let start = 0.5;
  return layers.map((l, i) => {
    checkObjectKeys('receptiveField', `layers[${i}]`, l, LAYER_KEYS);
    const f = checkInt('receptiveField', `layers[${i}].kernel`, l.kernel);
    const s = checkInt('receptiveField', `layers[${i}].stride`, l.stride ?? 1);
    const d = checkInt('receptiveField', `layers[${i}].dilation`, l.dilation ?? 1);
    const p = checkInt('receptiveField', `layers[${i}].padding`, l.padding ?? 0, 0);
    const eff = d * (f - 1) + 1;
    size += (eff - 1) * jump;
    start += ((eff - 1) / 2 - p) * jump;
    jump *= s;
    return l.name === undefined ? { size, jump, start } : { name: l.name, size, jump, start };
  });
}
