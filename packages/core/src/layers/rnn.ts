import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, checkShape, DLArgumentError } from '../errors.js';
import { matMul } from '../matmul.js';
import { Module } from '../module.js';
import { isTensor } from '../tensor-check.js';
import { getRng, type Rng } from '../random.js';
import { checkBool, checkLSTMState, checkNonlinearity, checkRng, GATES, recurrentInit, recurrentStep, type LSTMState, type RecurrentMode } from './rnn-cell.js';

/** Options shared by {@link RNN}, {@link LSTM} and {@link GRU} (PyTorch's, camel-cased). */
export interface RNNBaseOptions {
  /** Stacked layers; layer k > 0 reads layer k − 1's output. Default 1. */
  numLayers?: number;
  /** Learn the biases `bias_ih_l*` and `bias_hh_l*`. Default true. */
  bias?: boolean;
  /**
   * Input and output are `[batch, length, features]` instead of `[length, batch, features]`. Default
   * false, as in PyTorch. The states `h` and `c` are `[numLayers · directions, batch, hidden]` either way.
   */
  batchFirst?: boolean;
  /**
   * Dropout probability in [0, 1) on the output of every layer but the last, in training mode only
   * (so it does nothing with one layer). Default 0.
   */
  dropout?: number;
  /** Also run each layer from the end to the start; outputs are concatenated (forward first). Default false. */
  bidirectional?: boolean;
  /** Generator for the initial values and the dropout masks (default: the global one, see `manualSeed`). */
  rng?: Rng;
}

/** Options of {@link RNN}. */
export interface RNNOptions extends RNNBaseOptions {
  /** The non-linearity: `'tanh'` (default) or `'relu'`. */
  nonlinearity?: 'tanh' | 'relu';
}

/** Options of a recurrent layer's `forward`. */
export interface RNNForwardOptions {
  /**
   * The true length of each sequence of a padded batch, one per batch element, each in [1, length]:
   * an array, or an int32 tensor `[batch]`. Steps at or past a sequence's length neither change its
   * state nor produce output (their output is zeros), and the reverse direction starts at its last real
   * step: PyTorch's `pack_padded_sequence` (`enforce_sorted=False`) and `pad_packed_sequence` with
   * `total_length` = the input's length. A tensor's values are not read back (no synchronous read), so
   * they are not checked: a value ≥ length acts as length, one ≤ 0 leaves the initial state.
   */
  lengths?: readonly number[] | Int32Array | tf.Tensor;
}

/**
 * What {@link RNN} and {@link GRU} return. A type alias rather than an interface, so that
 * `tf.tidy(() => gru.forward(x))` type-checks (tidy's result must be a `TensorContainer`).
 */
export type RNNResult = {
  /**
   * The last layer's state at every step, `[length, batch, directions · hidden]` (`[batch, length, …]`
   * with `batchFirst`, `[length, directions · hidden]` for unbatched input); both directions concatenated,
   * forward first; zeros at padded steps.
   */
  output: tf.Tensor;
  /** Final state of every layer and direction, `[numLayers · directions, batch, hidden]` (no batch axis for unbatched input). */
  h: tf.Tensor;
};

/** What {@link LSTM} returns (a type alias, like {@link RNNResult}). */
export type LSTMResult = RNNResult & {
  /** Final cell state, shaped like `h`. */
  c: tf.Tensor;
};

interface DirectionWeights {
  wIh: tf.Variable; // [G·H, in]
  wHh: tf.Variable; // [G·H, H]
  bIh: tf.Variable | null; // [G·H]
  bHh: tf.Variable | null; // [G·H]
}

/**
 * What {@link RNN}, {@link LSTM} and {@link GRU} share, as `torch.nn.RNNBase`: stacked, optionally
 * bidirectional layers whose parameters carry PyTorch's names and shapes (`weight_ih_l0`
 * `[gates · hidden, input]`, `weight_hh_l0` `[gates · hidden, hidden]`, `bias_ih_l0`, `bias_hh_l0`,
 * `…_reverse` for the backward direction; layer k > 0 has input size directions · hidden), initialised
 * U(−1/√hidden, 1/√hidden). The input projection of all time steps is one matMul per layer; only the
 * recurrent part loops. Gradients flow through every step (backpropagation through time).
 *
 * @example
 * ```ts
 * import { GRU, LSTM, RNNBase } from '@dl/core';
 * const layers: RNNBase[] = [new LSTM(4, 8, { bidirectional: true }), new GRU(4, 8)];
 * layers.map((m) => m.numDirections * m.hiddenSize); // [16, 8]: the size of each output step
 * ```
 */
export abstract class RNNBase extends Module {
  /** Stacked layers. */
  readonly numLayers: number;
  /** Whether the layers have biases. */
  readonly bias: boolean;
  /** Whether input and output are batch-first. */
  readonly batchFirst: boolean;
  /** Dropout probability between layers (training only). */
  readonly dropout: number;
  /** Whether each layer also runs backwards. */
  readonly bidirectional: boolean;
  /** 2 if bidirectional, else 1. */
  readonly numDirections: number;
  private readonly rng: Rng | undefined;
  private readonly weights: DirectionWeights[][] = []; // [layer][direction]

  /**
   * @param mode the recurrence.
   * @param inputSize size of each input step's last axis.
   * @param hiddenSize size of the state.
   * @param options the layer options (the non-linearity is checked by {@link RNN}).
   * @param where the class name used in error messages.
   * @param knownOptions the option keys this class accepts.
   */
  protected constructor(
    readonly mode: RecurrentMode,
    readonly inputSize: number,
    readonly hiddenSize: number,
    options: RNNOptions,
    protected readonly where: string,
    knownOptions: readonly string[],
  ) {
    super();
    checkKeys(where, options, knownOptions);
    checkInt(where, 'inputSize', inputSize);
    checkInt(where, 'hiddenSize', hiddenSize);
    this.numLayers = checkInt(where, 'numLayers', options.numLayers ?? 1);
    this.bias = checkBool(where, 'bias', options.bias, true);
    this.batchFirst = checkBool(where, 'batchFirst', options.batchFirst, false);
    this.dropout = checkNumber(where, 'dropout', options.dropout ?? 0, 0, 1, false, true);
    this.bidirectional = checkBool(where, 'bidirectional', options.bidirectional, false);
    this.rng = checkRng(where, options.rng);
    this.numDirections = this.bidirectional ? 2 : 1;
    const G = GATES[mode] * hiddenSize;
    for (let layer = 0; layer < this.numLayers; layer++) {
      const inSize = layer === 0 ? inputSize : this.numDirections * hiddenSize;
      const dirs: DirectionWeights[] = [];
      for (let d = 0; d < this.numDirections; d++) {
        // PyTorch's order (and so its state_dict's): per layer, per direction, w_ih, w_hh, b_ih, b_hh.
        const suffix = `_l${layer}${d === 1 ? '_reverse' : ''}`;
        const wIh = this.registerParameter(`weight_ih${suffix}`, recurrentInit([G, inSize], hiddenSize, this.rng));
        const wHh = this.registerParameter(`weight_hh${suffix}`, recurrentInit([G, hiddenSize], hiddenSize, this.rng));
        const bIh = this.bias ? this.registerParameter(`bias_ih${suffix}`, recurrentInit([G], hiddenSize, this.rng)) : null;
        const bHh = this.bias ? this.registerParameter(`bias_hh${suffix}`, recurrentInit([G], hiddenSize, this.rng)) : null;
        dirs.push({ wIh, wHh, bIh, bHh });
      }
      this.weights.push(dirs);
    }
  }

  /**
   * Checks every argument, then runs all layers and directions over the sequence.
   * @param x `[length, batch, inputSize]` (`[batch, length, inputSize]` with `batchFirst`) or unbatched `[length, inputSize]`.
   * @param h0 initial hidden states or null (zeros); its name in messages is `names[0]`.
   * @param c0 initial cell states (LSTM) or null (zeros); its name in messages is `names[1]`.
   * @param names the argument names of `h0` and `c0`.
   * @param options the forward options.
   * @returns the output and final states (`c` null except for LSTM).
   * @internal
   */
  protected run(
    x: tf.Tensor,
    h0: tf.Tensor | null | undefined,
    c0: tf.Tensor | null | undefined,
    names: [string, string],
    options: RNNForwardOptions | undefined,
  ): { output: tf.Tensor; h: tf.Tensor; c: tf.Tensor | null } {
    const where = this.where;
    checkKeys(where, options, ['lengths']);
    checkShape(where, 'input', x, { rank: [2, 3], last: this.inputSize, dtype: 'float32' });
    const batched = x.rank === 3;
    const shape: number[] = x.shape;
    const L = batched && this.batchFirst ? shape[1] : shape[0];
    const B = !batched ? 1 : this.batchFirst ? shape[0] : shape[1];
    if (L === 0 || B === 0) throw new DLArgumentError(where, 'input', 'non-empty (length and batch ≥ 1)', x);
    const D = this.numDirections;
    const H = this.hiddenSize;
    const stateShape = batched ? [this.numLayers * D, B, H] : [this.numLayers * D, H];
    [h0, c0].forEach((s, i) => {
      if (s == null) return;
      checkShape(where, names[i], s, { dtype: 'float32' });
      if (s.shape.join(',') !== stateShape.join(',')) {
        throw new DLArgumentError(where, names[i], `of shape [${stateShape.join(',')}] (numLayers · directions${batched ? ', batch' : ''}, hiddenSize)`, s);
      }
    });
    const lengths = options?.lengths;
    const hostLengths = lengths === undefined ? null : checkLengths(where, lengths, batched, L, B);
    // Lengths that cover the whole sequence need no mask.
    const needsMask = lengths !== undefined && (hostLengths === null || hostLengths.some((n) => n < L));

    const result = tf.tidy(() => {
      const G = GATES[this.mode] * H;
      const nD = this.numLayers * D;
      // Inside, states are feature-major, [H, B]: W_hh·h is a plain matMul (no transposed operand, slow
      // on wasm) and each step's gates are contiguous rows (see recurrentStep).
      let inp = batched ? x : tf.reshape(x, [L, 1, this.inputSize]); // [L, B, in], or [B, L, in] batch-first
      let inpBatchFirst = batched && this.batchFirst;
      const mask = needsMask ? stepMask(hostLengths ?? (lengths as tf.Tensor), L, B) : null; // [L, 1, B]
      const masks = mask ? unstack(mask) : null; // L × [1, B]: 1 where the step is real
      const keeps = mask ? unstack(tf.sub(1, mask)) : null; // L × [1, B]: 1 where it is padding
      const columns = (s: tf.Tensor) => unstack(tf.transpose(tf.reshape(s, [nD, B, H]), [0, 2, 1])); // nD × [H, B]
      const hInit = h0 ? columns(h0) : null;
      const cInit = c0 ? columns(c0) : null;
      const zeros = tf.zeros([H, B]); // [H, B]
      const hs: tf.Tensor[] = [];
      const cs: tf.Tensor[] = [];
      let output: tf.Tensor | null = null;
      for (let layer = 0; layer < this.numLayers; layer++) {
        const ws = this.weights[layer];
        const F = layer === 0 ? this.inputSize : D * H;
        // The input projection of every step and both directions in one matMul, then one transpose that
        // makes each step's projection a contiguous [G·H, B] block. Products go through @dl/core's
        // matMul, which keeps wasm on its fast untransposed kernel in the backward pass too.
        const x2 = tf.reshape(inp, [L * B, F]); // [L·B, F], rows in (t, b) or (b, t) order
        const wT = D === 1 ? tf.transpose(ws[0].wIh) : tf.concat(ws.map((w) => tf.transpose(w.wIh)), 1); // [F, D·G·H]
        let proj = matMul(x2, wT); // [L·B, D·G·H]
        const bias = this.projectionBias(ws); // [D·G·H] or null
        if (bias) proj = tf.add(proj, bias); // [L·B, D·G·H]
        const byStep = inpBatchFirst
          ? tf.transpose(tf.reshape(proj, [B, L, D, G]), [2, 1, 3, 0]) // [D, L, G·H, B]
          : tf.transpose(tf.reshape(proj, [L, B, D, G]), [2, 0, 3, 1]); // [D, L, G·H, B]
        const xs = unstack(tf.reshape(byStep, [D * L, G, B])); // D·L × [G·H, B]
        const outs: tf.Tensor[] = [];
        for (let d = 0; d < D; d++) {
          const whh = ws[d].wHh; // [G·H, H]
          const bhh = this.mode === 'GRU' && ws[d].bHh ? tf.reshape(ws[d].bHh!, [G, 1]) : null; // [G·H, 1]: GRU keeps b_hn inside r ⊙ (…)
          let h = hInit ? hInit[layer * D + d] : zeros; // [H, B]
          let c = this.mode !== 'LSTM' ? null : cInit ? cInit[layer * D + d] : zeros; // [H, B]
          const out: tf.Tensor[] = new Array(L);
          for (let k = 0; k < L; k++) {
            const t = d === 1 ? L - 1 - k : k;
            let hg = matMul(whh, h); // [G·H, H] · [H, B] → [G·H, B]
            if (bhh) hg = tf.add(hg, bhh); // [G·H, B]
            const next = recurrentStep(this.mode, H, xs[d * L + t], hg, h, c);
            if (masks && keeps) {
              // m ⊙ new + (1 − m) ⊙ old: exactly the new state at real steps, the old one at padding.
              out[t] = tf.mul(masks[t], next.h); // [H, B]
              h = tf.add(out[t], tf.mul(keeps[t], h)); // [H, B]
              if (c) c = tf.add(tf.mul(masks[t], next.c!), tf.mul(keeps[t], c)); // [H, B]
            } else {
              out[t] = next.h; // [H, B]
              h = next.h;
              c = next.c;
            }
          }
          hs.push(h);
          if (c) cs.push(c);
          outs.push(tf.stack(out)); // [L, H, B]
        }
        const seq = D === 1 ? outs[0] : tf.concat(outs, 1); // [L, D·H, B], forward direction first
        if (layer === this.numLayers - 1) {
          output = !batched
            ? tf.reshape(seq, [L, D * H]) // B = 1
            : tf.transpose(seq, this.batchFirst ? [2, 0, 1] : [0, 2, 1]); // [B, L, D·H] or [L, B, D·H]
          break;
        }
        inp = tf.transpose(seq, [0, 2, 1]); // [L, B, D·H]
        inpBatchFirst = false;
        if (this.training && this.dropout > 0) {
          // Dropout's inverted dropout, from this layer's generator.
          const keep = tf.greaterEqual(tf.randomUniform(inp.shape, 0, 1, 'float32', (this.rng ?? getRng()).seedForOp()), this.dropout); // [L, B, D·H]
          inp = tf.mul(inp, tf.div(tf.cast(keep, 'float32'), 1 - this.dropout)); // [L, B, D·H]
        }
      }
      const finals = (states: tf.Tensor[]) => tf.reshape(tf.transpose(tf.stack(states), [0, 2, 1]), stateShape); // [nD, B, H]
      return cs.length ? { output: output!, h: finals(hs), c: finals(cs) } : { output: output!, h: finals(hs) };
    }) as { output: tf.Tensor; h: tf.Tensor; c?: tf.Tensor };
    return { output: result.output, h: result.h, c: result.c ?? null };
  }

  /** b_ih (+ b_hh, except for GRU) of each direction, concatenated: `[D · G · H]`, or null without bias. */
  private projectionBias(ws: DirectionWeights[]): tf.Tensor | null {
    if (!this.bias) return null;
    const per = ws.map((w) => (this.mode === 'GRU' ? w.bIh! : tf.add(w.bIh!, w.bHh!))); // D × [G·H]
    return per.length === 1 ? per[0] : tf.concat(per, 0);
  }
}

/**
 * tf.unstack along axis 0, except that a size-1 axis becomes a reshape: tfjs 4.22's tape hands a
 * one-output kernel its gradient as a tensor rather than a list, which Unpack's gradient (a stack) rejects.
 */
function unstack(x: tf.Tensor): tf.Tensor[] {
  return x.shape[0] === 1 ? [tf.reshape(x, x.shape.slice(1))] : tf.unstack(x);
}

/** Checks `lengths`; returns them as numbers when given on the host, null for a tensor. */
function checkLengths(where: string, lengths: unknown, batched: boolean, L: number, B: number): number[] | null {
  if (!batched) throw new DLArgumentError(where, 'options.lengths', 'absent for unbatched (rank-2) input', lengths);
  if (isTensor(lengths, where, 'options.lengths')) {
    checkShape(where, 'options.lengths', lengths, { rank: 1, dims: { 0: B }, dtype: 'int32' });
    return null;
  }
  const arr = Array.isArray(lengths) ? lengths : lengths instanceof Int32Array ? Array.from(lengths) : null;
  if (arr === null || arr.length !== B || !arr.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= L)) {
    throw new DLArgumentError(where, 'options.lengths', `${B} integer${B === 1 ? '' : 's'} in [1, ${L}] (one per batch element, at most the input's length) or an int32 tensor [${B}]`, lengths);
  }
  return arr as number[];
}

/** 1 where step t is within sequence b's length, else 0: `[L, 1, B]`. */
function stepMask(lengths: number[] | tf.Tensor, L: number, B: number): tf.Tensor {
  if (!isTensor(lengths)) {
    const m = new Float32Array(L * B);
    for (let t = 0; t < L; t++) for (let b = 0; b < B; b++) m[t * B + b] = t < lengths[b] ? 1 : 0;
    return tf.tensor3d(m, [L, 1, B]);
  }
  const steps = tf.reshape(tf.range(0, L, 1, 'int32'), [L, 1]); // [L, 1]
  return tf.reshape(tf.cast(tf.less(steps, tf.reshape(lengths, [1, B])), 'float32'), [L, 1, B]); // [L, 1, B]
}

/**
 * A multi-layer Elman RNN, `torch.nn.RNN`: h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh) (or ReLU).
 * Parameters, options and shapes as described in {@link RNNBase}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { RNN } from '@dl/core';
 * const rnn = new RNN(3, 5, { numLayers: 2, nonlinearity: 'relu' });
 * const { output, h } = rnn.forward(tf.ones([7, 2, 3])); // output [7, 2, 5], h [2, 2, 5]
 * ```
 */
export class RNN extends RNNBase {
  /** The non-linearity. */
  readonly nonlinearity: 'tanh' | 'relu';

  /**
   * @param inputSize size of each input step's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const nonlinearity = checkNonlinearity('RNN', (options as { nonlinearity?: unknown } | null)?.nonlinearity);
    super(nonlinearity === 'relu' ? 'RNN_RELU' : 'RNN_TANH', inputSize, hiddenSize, options, 'RNN', [...BASE_KEYS, 'nonlinearity']);
    this.nonlinearity = nonlinearity;
  }

  /**
   * Runs the sequence.
   * @param x `[length, batch, inputSize]`, `[batch, length, inputSize]` with `batchFirst`, or unbatched `[length, inputSize]`.
   * @param h0 initial state `[numLayers · directions, batch, hiddenSize]` (no batch axis for unbatched input); omitted or null: zeros.
   * @param options `lengths` for padded batches.
   */
  forward(x: tf.Tensor, h0?: tf.Tensor | null, options?: RNNForwardOptions): RNNResult {
    const { output, h } = this.run(x, h0, null, ['h0', ''], options);
    return { output, h };
  }
}

/**
 * A multi-layer long short-term memory, `torch.nn.LSTM`: per step, gates i, f, g, o from
 * x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh; c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g), h_t = σ(o) ⊙ tanh(c_t).
 * Parameters, options and shapes as described in {@link RNNBase}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { LSTM } from '@dl/core';
 * const lstm = new LSTM(3, 5, { numLayers: 2, bidirectional: true, batchFirst: true });
 * const x = tf.randomNormal([2, 4, 3]); // 2 sequences of 4 steps, the second padded after 2
 * const { output, h, c } = lstm.forward(x, null, { lengths: [4, 2] });
 * // output [2, 4, 10] (zeros at the padded steps), h and c [4, 2, 5]
 * const next = lstm.forward(x, { h, c }); // continue from that state
 * ```
 */
export class LSTM extends RNNBase {
  /**
   * @param inputSize size of each input step's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super('LSTM', inputSize, hiddenSize, options, 'LSTM', BASE_KEYS);
  }

  /**
   * Runs the sequence.
   * @param x `[length, batch, inputSize]`, `[batch, length, inputSize]` with `batchFirst`, or unbatched `[length, inputSize]`.
   * @param state initial `{ h, c }`, each `[numLayers · directions, batch, hiddenSize]` (no batch axis for unbatched input); omitted parts: zeros.
   * @param options `lengths` for padded batches.
   */
  forward(x: tf.Tensor, state?: LSTMState | null, options?: RNNForwardOptions): LSTMResult {
    checkLSTMState('LSTM', state);
    const { output, h, c } = this.run(x, state?.h, state?.c, ['state.h', 'state.c'], options);
    return { output, h, c: c! };
  }
}

/**
 * A multi-layer gated recurrent unit, `torch.nn.GRU`: per step, gates r, z, n with
 * r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r ⊙ (h_{t−1}·W_hnᵀ + b_hn)),
 * h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}. Parameters, options and shapes as described in {@link RNNBase}.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { GRU } from '@dl/core';
 * const gru = new GRU(3, 5);
 * const { output, h } = gru.forward(tf.ones([6, 2, 3])); // output [6, 2, 5], h [1, 2, 5]
 * ```
 */
export class GRU extends RNNBase {
  /**
   * @param inputSize size of each input step's last axis.
   * @param hiddenSize size of the state.
   */
  constructor(inputSize: number, hiddenSize: number, options: RNNBaseOptions = {}) {
    super('GRU', inputSize, hiddenSize, options, 'GRU', BASE_KEYS);
  }

  /**
   * Runs the sequence.
   * @param x `[length, batch, inputSize]`, `[batch, length, inputSize]` with `batchFirst`, or unbatched `[length, inputSize]`.
   * @param h0 initial state `[numLayers · directions, batch, hiddenSize]` (no batch axis for unbatched input); omitted or null: zeros.
   * @param options `lengths` for padded batches.
   */
  forward(x: tf.Tensor, h0?: tf.Tensor | null, options?: RNNForwardOptions): RNNResult {
    const { output, h } = this.run(x, h0, null, ['h0', ''], options);
    return { output, h };
  }
}

const BASE_KEYS = ['numLayers', 'bias', 'batchFirst', 'dropout', 'bidirectional', 'rng'] as const;
