import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkShape, DLArgumentError } from '../errors.js';
import { matMul } from '../matmul.js';
import { Module } from '../module.js';
import { getRng, randUniform, Rng } from '../random.js';

/** The recurrences {@link RNNBase} and {@link RNNCellBase} implement, named as PyTorch's `mode`. */
export type RecurrentMode = 'LSTM' | 'GRU' | 'RNN_TANH' | 'RNN_RELU';

/** Gates per mode: the weights are `[gates · hidden, …]`, gate blocks stacked in PyTorch's order. */
export const GATES: Record<RecurrentMode, number> = { LSTM: 4, GRU: 3, RNN_TANH: 1, RNN_RELU: 1 };

/**
 * One step of the recurrence, PyTorch's equations and gate order, in the feature-major layout: `xg` is
 * the input's projection W_ih·x + b_ih and `hg` the state's W_hh·h (+ b_hh), both `[gates · H, B]`; `h`
 * and `c` are `[H, B]`. Gate blocks are then contiguous rows, so splitting them is a cheap copy on
 * every backend (tfjs-backend-cpu's split along the last axis is ~80× slower than along the first).
 * For LSTM and the plain RNN `xg` and `hg` are only ever summed, so callers may fold b_hh into `xg`;
 * GRU needs b_hh in `hg`: b_hn sits inside r ⊙ (…). Internal to the recurrent layers.
 */
export function recurrentStep(
  mode: RecurrentMode,
  hidden: number,
  xg: tf.Tensor,
  hg: tf.Tensor,
  h: tf.Tensor,
  c: tf.Tensor | null,
): { h: tf.Tensor; c: tf.Tensor | null } {
  const H = hidden;
  switch (mode) {
    case 'LSTM': {
      // Gates i, f, g, o: c' = f ⊙ c + i ⊙ g, h' = o ⊙ tanh(c').
      const [ifPre, gPre, oPre] = tf.split(tf.add(xg, hg), [2 * H, H, H], 0); // [2H, B], [H, B], [H, B]
      const [i, f] = tf.split(tf.sigmoid(ifPre), 2, 0); // [H, B] each
      const g = tf.tanh(gPre); // [H, B]
      const o = tf.sigmoid(oPre); // [H, B]
      const cNew = tf.add(tf.mul(f, c!), tf.mul(i, g)); // [H, B]
      return { h: tf.mul(o, tf.tanh(cNew)), c: cNew }; // [H, B] each
    }
    case 'GRU': {
      // Gates r, z, n: n = tanh(x_n + r ⊙ (W_hn·h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, written as
      // PyTorch computes it: n + z ⊙ (h − n).
      const [xrz, xn] = tf.split(xg, [2 * H, H], 0); // [2H, B], [H, B]
      const [hrz, hn] = tf.split(hg, [2 * H, H], 0); // [2H, B], [H, B]
      const [r, z] = tf.split(tf.sigmoid(tf.add(xrz, hrz)), 2, 0); // [H, B] each
      const n = tf.tanh(tf.add(xn, tf.mul(r, hn))); // [H, B]
      return { h: tf.add(n, tf.mul(z, tf.sub(h, n))), c: null }; // [H, B]
    }
    case 'RNN_TANH':
      return { h: tf.tanh(tf.add(xg, hg)), c: null }; // [H, B]
    case 'RNN_RELU':
      return { h: tf.relu(tf.add(xg, hg)), c: null }; // [H, B]
  }
}

/** Throws unless `value` is `undefined` or a boolean. Internal to the recurrent layers. */
export function checkBool(where: string, argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new DLArgumentError(where, argument, 'a boolean', value);
  return value;
}

/** Throws unless `value` is `undefined` or an {@link Rng}. Internal to the recurrent layers. */
export function checkRng(where: string, value: unknown): Rng | undefined {
  if (value !== undefined && !(value instanceof Rng)) throw new DLArgumentError(where, 'rng', 'an Rng', value);
  return value as Rng | undefined;
}

/** Throws unless `value` is `undefined`, `'tanh'` or `'relu'`. Internal to the recurrent layers. */
export function checkNonlinearity(where: string, value: unknown): 'tanh' | 'relu' {
  if (value === undefined) return 'tanh';
  if (value !== 'tanh' && value !== 'relu') throw new DLArgumentError(where, 'nonlinearity', "'tanh' or 'relu'", value);
  return value;
}

/**
 * Throws unless `state` is `undefined`, `null` or an object whose only keys are `h` and `c` (a tensor
 * is not a state). Internal to the LSTM layers.
 */
export function checkLSTMState(where: string, state: unknown): void {
  if (state == null) return;
  const isTensor = typeof state === 'object' && 'dataId' in state;
  if (typeof state !== 'object' || Array.isArray(state) || isTensor) throw new DLArgumentError(where, 'state', 'an object { h, c }', state);
  for (const k of Object.keys(state)) {
    if (k !== 'h' && k !== 'c') throw new DLArgumentError(where, `state.${k}`, 'absent: a state has only h and c', asIs(k));
  }
}

/** U(−1/√hidden, 1/√hidden), PyTorch's initialisation of every recurrent weight and bias. */
export function recurrentInit(shape: number[], hidden: number, rng: Rng | undefined): tf.Tensor {
  const k = 1 / Math.sqrt(hidden);
  return randUniform(shape, -k, k, rng ?? getRng());
}

/** Options shared by {@link RNNCell}, {@link LSTMCell} and {@link GRUCell}. */
export interface RNNCellBaseOptions {
  /** Learn the biases `bias_ih` and `bias_hh`. Default true. */
  bias?: boolean;
  /** Generator for the initial values (default: the global one, see `manualSeed`). */
  rng?: Rng;
}

/** Options of {@link RNNCell}. */
export interface RNNCellOptions extends RNNCellBaseOptions {
  /** The non-linearity: `'tanh'` (default) or `'relu'`. */
  nonlinearity?: 'tanh' | 'relu';
}

/** The state of an LSTM, as {@link LSTM} and {@link LSTMCell} take it: hidden `h` and cell `c`. */
export interface LSTMState {
  /** Hidden state. Omitted: zeros. */
  h?: tf.Tensor;
  /** Cell state. Omitted: zeros. */
  c?: tf.Tensor;
}

/**
 * What {@link LSTMCell} returns: the new hidden and cell states, `[batch, hidden]` (`[hidden]` for
 * unbatched input). A type alias, so `tf.tidy(() => cell.forward(x, state))` type-checks.
 */
export type LSTMCellResult = {
  /** New hidden state. */
  h: tf.Tensor;
  /** New cell state. */
  c: tf.Tensor;
};

/**
 * What the recurrent cells share: the four parameters under PyTorch's names (`weight_ih`
 * `[gates · hidden, input]`, `weight_hh` `[gates · hidden, hidden]`, `bias_ih`, `bias_hh`
 * `[gates · hidden]`), initialised U(−1/√hidden, 1/√hidden), and one step of the recurrence. A cell
 * takes one time step, for decoders that feed each output back in; {@link LSTM}, {@link GRU} and
 * {@link RNN} run whole sequences faster.
 *
 * @example
 * ```ts
 * import { GRUCell, LSTMCell, RNNCellBase } from '@dl/core';
 * const cells: RNNCellBase[] = [new LSTMCell(4, 8), new GRUCell(4, 8)];
 * cells.map((c) => c.weightIh.shape); // [[32, 4], [24, 4]]
 * ```
 */
export abstract class RNNCellBase extends Module {
  /** `weight_ih`, `[gates · hiddenSize, inputSize]`. */
  readonly weightIh: tf.Variable;
  /** `weight_hh`, `[gates · hiddenSize, hiddenSize]`. */
  readonly weightHh: tf.Variable;
  /** `bias_ih`, `[gates · hiddenSize]`, or null without `bias`. */
  readonly biasIh: tf.Variable | null;
  /** `bias_hh`, `[gates · hiddenSize]`, or null without `bias`. */
  readonly biasHh: tf.Variable | null;

  /**
   * @param mode the recurrence.
   * @param inputSize size of each input's last axis.
   * @param hiddenSize size of the state.
   * @param options bias and generator (and the non-linearity, checked by {@link RNNCell}).
   * @param where the class name used in error messages.
   * @param knownOptions the option keys this class accepts.
   */
  protected constructor(
    readonly mode: RecurrentMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RNNCellOptions,
    protected readonly where: string,
    knownOptions: readonly string[],
  ) {
    super();
    checkKeys(where, options, knownOptions);
    checkInt(where, 'inputSize', inputSize);
    checkInt(where, 'hiddenSize', hiddenSize);
    const bias = checkBool(where, 'bias', options.bias, true);
    const rng = checkRng(where, options.rng);
    const G = GATES[mode] * hiddenSize;
    this.weightIh = this.registerParameter('weight_ih', recurrentInit([G, inputSize], hiddenSize, rng));
    this.weightHh = this.registerParameter('weight_hh', recurrentInit([G, hiddenSize], hiddenSize, rng));
    this.biasIh = bias ? this.registerParameter('bias_ih', recurrentInit([G], hiddenSize, rng)) : null;
    this.biasHh = bias ? this.registerParameter('bias_hh', recurrentInit([G], hiddenSize, rng)) : null;
  }

  /**
   * Checks the input `[batch, inputSize]` (or unbatched `[inputSize]`) and a state tensor of the
   * matching shape `[batch, hiddenSize]` (or `[hiddenSize]`), each under its argument name.
   * @internal
   */
  protected checkStep(x: tf.Tensor, state: Record<string, tf.Tensor | null | undefined>): void {
    checkShape(this.where, 'input', x, { rank: [1, 2], last: this.inputSize, dtype: 'float32' });
    const shape = x.rank === 2 ? [x.shape[0], this.hiddenSize] : [this.hiddenSize];
    for (const [name, s] of Object.entries(state)) {
      if (s == null) continue;
      checkShape(this.where, name, s, { dtype: 'float32' });
      if (s.shape.join(',') !== shape.join(',')) throw new DLArgumentError(this.where, name, `of shape [${shape.join(',')}] to match the input`, s);
    }
  }

  /**
   * One step on checked inputs: `x` `[batch, inputSize]` or `[inputSize]`, `h` and `c` likewise with
   * hiddenSize (null: zeros). Returns the new state, shaped like `x` with hiddenSize last.
   * @internal
   */
  protected step(x: tf.Tensor, h: tf.Tensor | null, c: tf.Tensor | null): { h: tf.Tensor; c: tf.Tensor | null } {
    const H = this.hiddenSize;
    const G = GATES[this.mode] * H;
    const unbatched = x.rank === 1;
    const B = unbatched ? 1 : x.shape[0];
    // Feature-major inside ([features, batch]): W·x needs no transposed-operand matMul (slow on wasm), and
    // the gates are contiguous rows (see recurrentStep).
    const toColumns = (v: tf.Tensor, rows: number) => (unbatched ? tf.reshape(v, [rows, 1]) : tf.transpose(v)); // [rows, B]
    const fromColumns = (v: tf.Tensor) => (unbatched ? tf.reshape(v, [H]) : tf.transpose(v)); // [B, H] or [H]
    const hT = h ? toColumns(h, H) : tf.zeros([H, B]); // [H, B]
    const cT = this.mode !== 'LSTM' ? null : c ? toColumns(c, H) : tf.zeros([H, B]); // [H, B]
    let xg = matMul(this.weightIh, toColumns(x, this.inputSize)); // [G·H, in] · [in, B] → [G·H, B]
    let hg = matMul(this.weightHh, hT); // [G·H, B]
    if (this.biasIh && this.biasHh) {
      xg = tf.add(xg, tf.reshape(this.biasIh, [G, 1])); // [G·H, B]
      hg = tf.add(hg, tf.reshape(this.biasHh, [G, 1])); // [G·H, B]
    }
    const next = recurrentStep(this.mode, H, xg, hg, hT, cT);
    return { h: fromColumns(next.h), c: next.c && fromColumns(next.c) };
  }
}

/**
 * An Elman RNN cell, `torch.nn.RNNCell`: h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or ReLU).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RNNCell } from '@dl/core';
 * const cell = new RNNCell(3, 5, { nonlinearity: 'relu' });
 * let h = tf.zeros([2, 5]);
 * for (let t = 0; t < 4; t++) h = cell.forward(tf.ones([2, 3]), h); // [2, 5]
 * ```
 */
export class RNNCell extends RNNCellBase {
  /** The non-linearity. */
  readonly nonlinearity: 'tanh' | 'relu';

  /**
   * @param inputSize size of each input's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    const nonlinearity = checkNonlinearity('RNNCell', (options as { nonlinearity?: unknown } | undefined)?.nonlinearity);
    super(nonlinearity === 'relu' ? 'RNN_RELU' : 'RNN_TANH', inputSize, hiddenSize, options, 'RNNCell', ['bias', 'rng', 'nonlinearity']);
    this.nonlinearity = nonlinearity;
  }

  /**
   * One step.
   * @param x `[batch, inputSize]` or `[inputSize]`.
   * @param h the previous state, `[batch, hiddenSize]` or `[hiddenSize]`; omitted or null: zeros.
   * @returns the new state, shaped like `h`.
   */
  forward(x: tf.Tensor, h?: tf.Tensor | null): tf.Tensor {
    this.checkStep(x, { h });
    return tf.tidy(() => this.step(x, h ?? null, null).h);
  }
}

/**
 * A long short-term memory cell, `torch.nn.LSTMCell`: gates i, f, g, o from x·W_ihᵀ + b_ih + h·W_hhᵀ +
 * b_hh; c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c').
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LSTMCell } from '@dl/core';
 * const cell = new LSTMCell(3, 5);
 * let state = cell.forward(tf.ones([2, 3])); // zero initial state → { h: [2, 5], c: [2, 5] }
 * state = cell.forward(tf.ones([2, 3]), state);
 * ```
 */
export class LSTMCell extends RNNCellBase {
  /**
   * @param inputSize size of each input's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellBaseOptions = {}) {
    super('LSTM', inputSize, hiddenSize, options, 'LSTMCell', ['bias', 'rng']);
  }

  /**
   * One step.
   * @param x `[batch, inputSize]` or `[inputSize]`.
   * @param state the previous `{ h, c }`, each `[batch, hiddenSize]` or `[hiddenSize]`; omitted parts are zeros.
   * @returns the new `{ h, c }`.
   */
  forward(x: tf.Tensor, state?: LSTMState | null): LSTMCellResult {
    checkLSTMState('LSTMCell', state);
    this.checkStep(x, { 'state.h': state?.h, 'state.c': state?.c });
    return tf.tidy(() => {
      const next = this.step(x, state?.h ?? null, state?.c ?? null);
      return { h: next.h, c: next.c! };
    });
  }
}

/**
 * A gated recurrent unit cell, `torch.nn.GRUCell`: gates r, z, n with r = σ(x_r + h_r), z = σ(x_z + h_z),
 * n = tanh(x_n + r ⊙ (h·W_hnᵀ + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GRUCell } from '@dl/core';
 * const cell = new GRUCell(3, 5);
 * let h = cell.forward(tf.ones([2, 3])); // [2, 5]
 * h = cell.forward(tf.ones([2, 3]), h);
 * ```
 */
export class GRUCell extends RNNCellBase {
  /**
   * @param inputSize size of each input's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNCellBaseOptions = {}) {
    super('GRU', inputSize, hiddenSize, options, 'GRUCell', ['bias', 'rng']);
  }

  /**
   * One step.
   * @param x `[batch, inputSize]` or `[inputSize]`.
   * @param h the previous state, `[batch, hiddenSize]` or `[hiddenSize]`; omitted or null: zeros.
   * @returns the new state, shaped like `h`.
   */
  forward(x: tf.Tensor, h?: tf.Tensor | null): tf.Tensor {
    this.checkStep(x, { h });
    return tf.tidy(() => this.step(x, h ?? null, null).h);
  }
}
