import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkNumber, DLArgumentError, describe as describeValue, encodeSafetensors, loadCheckpoint, type Module } from '@dl/core';
import { GradientAccumulator } from './accumulate.js';
import { clipGradNorm } from './clip.js';
import { findNonFinite, NonFiniteGradientError, type NonFiniteMode } from './guard.js';
import { resolve, type GradientTransformation, type Hyper, type TransformState, type Updates } from './types.js';

/** Options every {@link Optimizer} takes besides its algorithm's own. */
export interface OptimizerConfig {
  /** Clip the global L2 norm of all gradients to this (`torch.nn.utils.clip_grad_norm_`); the norm is reported. */
  clipGradNorm?: number;
  /** Clip each gradient element to [−v, v] (`torch.nn.utils.clip_grad_value_`), before norm clipping. */
  clipGradValue?: number;
  /** What to do with NaN/±Infinity gradients. Default `'none'` (no check). See {@link NonFiniteMode}. */
  nonFinite?: NonFiniteMode;
  /** Accumulate gradients over this many `step` calls and update with their mean. Default 1. */
  accumulate?: number;
}

/**
 * A parameter group: variables plus option overrides for them (PyTorch's `param_groups`), e.g.
 * `{ params: biases, weightDecay: 0 }` or `{ params: embedding, lr: 1e-4 }`.
 *
 * @example
 * ```ts
 * import { Linear } from '@dl/core';
 * import { AdamW, type ParamGroup, type AdamWOptions } from '@dl/optim';
 * const fc = new Linear(3, 2);
 * const weights = [fc.weight];
 * const biases = [fc.bias!];
 * const groups: ParamGroup<AdamWOptions>[] = [{ params: weights }, { params: biases, weightDecay: 0 }];
 * const opt = new AdamW(groups, { lr: 1e-3 });
 * ```
 */
export type ParamGroup<O> = ParamGroupParams & Partial<O>;

/** The `params` part of a {@link ParamGroup}. */
export interface ParamGroupParams {
  /** The group's variables. */
  params: tf.Variable[];
}

/** Gradients for {@link Optimizer.step}: by variable name (as `tf.variableGrads` returns them) or aligned with {@link Optimizer.params}. */
export type Gradients = tf.NamedTensorMap | (tf.Tensor | null | undefined)[];

/** What one {@link Optimizer.step} did. */
export interface StepReport {
  /** Updates applied so far, including this one. */
  step: number;
  /** Whether the parameters were changed by this call. */
  applied: boolean;
  /** Whether the non-finite guard skipped this call. */
  skipped: boolean;
  /** Parameters whose gradient had NaN or ±Infinity (checked only with `nonFinite` set). */
  nonFinite: string[];
  /** Micro-batches waiting in the accumulator after this call (0 right after an update). */
  pending: number;
  /** Global gradient norm before clipping (only with `clipGradNorm`, and only when an update was applied). */
  gradNorm?: number;
  /** The learning rate each group used for this update (`undefined` for a group without an `lr` option). */
  lr: (number | undefined)[];
}

/** What {@link Optimizer.applySync} returns. */
export interface ApplyResult {
  /** What the step did. */
  report: StepReport;
  /** The global norm before clipping (with `clipGradNorm`), the caller's to dispose. */
  norm: tf.Scalar | null;
}

/** A read-only view of a parameter group. */
export interface ParamGroupView<O> {
  /** The group's variables. */
  params: readonly tf.Variable[];
  /** Its merged options. */
  options: Readonly<O>;
}

/** An optimizer's state as {@link Optimizer.stateDict} gives it. */
export interface OptimizerStateDict {
  /** State tensors by name (`state.<group>.<transform path>.<slot>.<param index>`, `accumulator.<i>`). */
  tensors: Map<string, tf.Tensor>;
  /** Format, name, step counts and the host numbers (JSON), as strings. */
  metadata: Record<string, string>;
}

interface Group<O> {
  params: tf.Variable[];
  options: O;
  tx: GradientTransformation;
  state: TransformState;
}

const CONFIG_KEYS = ['clipGradNorm', 'clipGradValue', 'nonFinite', 'accumulate'] as const;
const FORMAT = 'dl-optim/1';

/**
 * The thin stateful part: binds a {@link GradientTransformation} per parameter group to `tf.Variable`s,
 * owns the state tensors, and applies θ ← θ + u. Each concrete optimizer ({@link Adam}, {@link SGD}, …)
 * is a subclass that only names its transformation factory. Functional style: there is no `zeroGrad`,
 * gradients are passed in (`step`) or computed (`minimize`).
 *
 * @typeParam O the algorithm's options (e.g. {@link AdamWOptions}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Optimizer, chain, scaleByAdam, scaleByLearningRate } from '@dl/optim';
 * const w = tf.variable(tf.ones([3]));
 * const opt = new Optimizer('MyAdam', (o: { lr: number }) => chain(scaleByAdam(), scaleByLearningRate(o.lr)), [w], { lr: 1e-2 });
 * const loss = await opt.minimize(() => tf.sum(tf.square(w)));
 * ```
 */
export class Optimizer<O extends object = object> {
  /** The optimizer's name (e.g. `'AdamW'`), stored in checkpoints. */
  readonly name: string;
  /** Options outside the algorithm: clipping, guard, accumulation. */
  readonly config: Readonly<Required<Omit<OptimizerConfig, 'clipGradNorm' | 'clipGradValue'>> & Pick<OptimizerConfig, 'clipGradNorm' | 'clipGradValue'>>;
  private readonly factory: (options: O) => GradientTransformation;
  private readonly defaults: O;
  private readonly groups: Group<O>[] = [];
  private readonly frozen = new Set<tf.Variable>();
  private readonly accumulator: GradientAccumulator | null;
  private stepCount = 0;
  private skippedCount = 0;
  private disposed = false;

  /**
   * @param name a name for messages and checkpoints.
   * @param factory builds the transformation for one group from its merged options (validating them).
   * @param params variables, or parameter groups with option overrides. May be empty (see {@link Optimizer.addParamGroup}).
   * @param options the algorithm's defaults for every group, plus {@link OptimizerConfig}.
   */
  constructor(name: string, factory: (options: O) => GradientTransformation, params: tf.Variable[] | ParamGroup<O>[], options: O & OptimizerConfig = {} as O & OptimizerConfig) {
    this.name = name;
    this.factory = factory;
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new DLArgumentError(name, 'options', 'an object', options);
    const algo: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(options)) if (!(CONFIG_KEYS as readonly string[]).includes(k)) algo[k] = v;
    this.defaults = algo as O;
    const nonFinite = options.nonFinite ?? 'none';
    if (!['none', 'skip', 'throw'].includes(nonFinite)) throw new DLArgumentError(name, 'nonFinite', "'none', 'skip' or 'throw'", nonFinite);
    const accumulate = checkInt(name, 'accumulate', options.accumulate ?? 1);
    if (options.clipGradNorm !== undefined) checkNumber(name, 'clipGradNorm', options.clipGradNorm, 0, Infinity, true);
    if (options.clipGradValue !== undefined) checkNumber(name, 'clipGradValue', options.clipGradValue, 0, Infinity, true);
    this.config = { nonFinite, accumulate, clipGradNorm: options.clipGradNorm, clipGradValue: options.clipGradValue };
    this.accumulator = accumulate > 1 ? new GradientAccumulator(accumulate) : null;
    // Validate the defaults once even with no parameters, so bad options fail at construction.
    factory(this.defaults);
    if (!Array.isArray(params)) throw new DLArgumentError(name, 'params', 'an array of tf.Variables or parameter groups', params);
    const isGroup = (g: unknown) => g !== null && typeof g === 'object' && Array.isArray((g as { params?: unknown }).params);
    if (params.length > 0 && !isGroup(params[0])) this.addParamGroup({ params: params as tf.Variable[] } as ParamGroup<O>);
    else for (const g of params as ParamGroup<O>[]) this.addParamGroup(g);
  }

  /**
   * Adds a parameter group (PyTorch's `add_param_group`): its options override the defaults. A variable
   * may belong to one group only.
   */
  addParamGroup(group: ParamGroup<O>): void {
    this.checkAlive();
    if (group === null || typeof group !== 'object' || !Array.isArray(group.params)) {
      throw new DLArgumentError(this.name, 'param group', 'an object { params: tf.Variable[], ...options }', group);
    }
    const seen = new Set(this.params);
    group.params.forEach((p, i) => {
      if (!isVariable(p)) throw new DLArgumentError(this.name, `params[${i}]`, 'a tf.Variable', p);
      if (p.dtype !== 'float32') throw new DLArgumentError(this.name, `params[${i}]`, 'a float32 variable', p);
      if (seen.has(p)) throw new DLArgumentError(this.name, `params[${i}]`, 'in one parameter group only', `variable '${p.name}' twice`);
      seen.add(p);
    });
    const { params, ...overrides } = group;
    const options = { ...this.defaults, ...overrides } as O;
    const tx = this.factory(options);
    this.groups.push({ params: [...params], options, tx, state: tx.init(params) });
  }

  /** Every variable, group by group, in order (the order of array gradients in {@link Optimizer.step}). */
  get params(): tf.Variable[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** The groups' merged options, read-only (PyTorch's `param_groups` without the tensors). */
  get paramGroups(): readonly ParamGroupView<O>[] {
    return this.groups.map((g) => ({ params: g.params, options: g.options }));
  }

  /** Updates applied so far (skipped and accumulating calls do not count). Schedules are evaluated at it. */
  get iterations(): number {
    return this.stepCount;
  }

  /** Calls skipped by the non-finite guard. */
  get skippedSteps(): number {
    return this.skippedCount;
  }

  /** The learning rate group `group` uses for the next update (its `lr` option at {@link Optimizer.iterations}), if it has one. */
  currentLr(group = 0): number | undefined {
    const g = this.groups[group];
    if (!g) throw new DLArgumentError(`${this.name}.currentLr`, 'group', `an index in [0, ${this.groups.length})`, group);
    const lr = (g.options as { lr?: Hyper }).lr;
    return lr === undefined ? undefined : resolve(lr, this.stepCount);
  }

  /** Stops updating these variables (their state is kept). Variables with `trainable = false` are skipped too. */
  freeze(vars: tf.Variable | tf.Variable[]): this {
    for (const v of this.own(vars, 'freeze')) this.frozen.add(v);
    return this;
  }

  /** Undoes {@link Optimizer.freeze}. */
  unfreeze(vars: tf.Variable | tf.Variable[]): this {
    for (const v of this.own(vars, 'unfreeze')) this.frozen.delete(v);
    return this;
  }

  /** Whether `v` is updated by this optimizer now (bound, not frozen, trainable). */
  isTrainable(v: tf.Variable): boolean {
    return this.params.includes(v) && !this.frozen.has(v) && v.trainable;
  }

  private own(vars: tf.Variable | tf.Variable[], where: string): tf.Variable[] {
    const list = Array.isArray(vars) ? vars : [vars];
    const mine = new Set(this.params);
    list.forEach((v, i) => {
      if (!mine.has(v)) throw new DLArgumentError(`${this.name}.${where}`, `vars[${i}]`, 'a variable of this optimizer', v);
    });
    return list;
  }

  /** Computes the gradients of `lossFn` with respect to the trainable variables, steps, and returns the loss (or null with `returnCost: false`). */
  async minimize(lossFn: () => tf.Scalar, options: { returnCost?: boolean } = {}): Promise<tf.Scalar | null> {
    this.checkAlive();
    if (typeof lossFn !== 'function') throw new DLArgumentError(`${this.name}.minimize`, 'lossFn', 'a function returning a scalar tensor', lossFn);
    const vars = this.params.filter((v) => this.isTrainable(v));
    if (vars.length === 0) throw new DLArgumentError(`${this.name}.minimize`, 'params', 'at least one trainable, unfrozen variable', 0);
    const { value, grads } = tf.variableGrads(lossFn, vars);
    try {
      await this.step(grads);
    } catch (e) {
      value.dispose();
      throw e;
    } finally {
      tf.dispose(Object.values(grads));
    }
    if (options.returnCost === false) {
      value.dispose();
      return null;
    }
    return value;
  }

  /**
   * One optimizer step from gradients (not disposed: the caller owns them). With `nonFinite` set it reads
   * one flag per gradient from the device first; with `clipGradNorm` it reads the norm for the report.
   * Otherwise nothing is read back, so it does not stall a GPU.
   */
  async step(grads: Gradients): Promise<StepReport> {
    this.checkAlive();
    const flat = this.align(grads);
    if (this.config.nonFinite !== 'none') {
      const bad = await findNonFinite(flat);
      if (bad.length > 0) {
        const names = bad.map((i) => this.params[i].name);
        if (this.config.nonFinite === 'throw') throw new NonFiniteGradientError(names);
        this.skippedCount++;
        return { step: this.stepCount, applied: false, skipped: true, nonFinite: names, pending: this.accumulator?.pending ?? 0, lr: this.groups.map((_, i) => this.currentLr(i)) };
      }
    }
    const { report, norm } = this.applySync(flat);
    if (norm) {
      report.gradNorm = (await norm.data())[0];
      norm.dispose();
    }
    return report;
  }

  /**
   * The synchronous core of {@link Optimizer.step} without the non-finite guard (it needs a host read):
   * accumulation, clipping, the transformations, and θ ← θ + u. Used by the tfjs adapter, whose
   * `applyGradients` is synchronous. If `clipGradNorm` is set, the returned `norm` tensor is the caller's.
   */
  applySync(grads: Gradients): ApplyResult {
    this.checkAlive();
    let flat = this.align(grads);
    let owned = false;
    if (this.accumulator) {
      const mean = this.accumulator.add(flat);
      if (mean === null) {
        return { report: { step: this.stepCount, applied: false, skipped: false, nonFinite: [], pending: this.accumulator.pending, lr: this.groups.map((_, i) => this.currentLr(i)) }, norm: null };
      }
      flat = mean;
      owned = true;
    }
    const lr = this.groups.map((_, i) => this.currentLr(i));
    const oldTensors = new Set(this.groups.flatMap((g) => stateTensors(g.state)));
    const newStates: TransformState[] = [];
    const held: { norm: tf.Scalar | null } = { norm: null };
    tf.tidy(() => {
      let g = flat;
      if (this.config.clipGradValue !== undefined) {
        const c = this.config.clipGradValue;
        g = g.map((x) => (x === null ? null : tf.clipByValue(x, -c, c))); // [param shape]
      }
      if (this.config.clipGradNorm !== undefined) {
        const clipped = clipGradNorm(g, this.config.clipGradNorm);
        g = clipped.grads;
        held.norm = tf.keep(clipped.norm);
      }
      let offset = 0;
      for (const group of this.groups) {
        const slice = g.slice(offset, offset + group.params.length);
        offset += group.params.length;
        const r = group.tx.update(slice, group.state, group.params);
        r.updates.forEach((u, i) => {
          if (u !== null) group.params[i].assign(tf.add(group.params[i], u)); // [param shape]
        });
        for (const t of stateTensors(r.state)) tf.keep(t);
        newStates.push(r.state);
      }
    });
    this.groups.forEach((g, i) => (g.state = newStates[i]));
    const live = new Set(newStates.flatMap(stateTensors));
    for (const t of oldTensors) if (!live.has(t)) t.dispose();
    if (owned) tf.dispose(flat.filter((x): x is tf.Tensor => x !== null));
    this.stepCount++;
    return { report: { step: this.stepCount, applied: true, skipped: false, nonFinite: [], pending: 0, lr }, norm: held.norm };
  }

  /** Gradients in parameter order, null for frozen or untrainable variables and missing gradients; shapes checked. */
  private align(grads: Gradients): Updates {
    const params = this.params;
    let list: (tf.Tensor | null | undefined)[];
    if (Array.isArray(grads)) {
      if (grads.length !== params.length) throw new DLArgumentError(`${this.name}.step`, 'grads', `an array of ${params.length} gradients (one per parameter)`, `${grads.length} entries`);
      list = grads;
    } else if (grads !== null && typeof grads === 'object') {
      const names = new Set(params.map((p) => p.name));
      for (const k of Object.keys(grads)) {
        if (!names.has(k)) throw new DLArgumentError(`${this.name}.step`, 'grads', 'keyed by names of this optimizer’s variables', `unknown variable '${k}'`);
      }
      list = params.map((p) => grads[p.name]);
    } else {
      throw new DLArgumentError(`${this.name}.step`, 'grads', 'a map from variable name to gradient, or an array', grads);
    }
    return list.map((g, i) => {
      const p = params[i];
      if (g === null || g === undefined || !this.isTrainable(p)) return null;
      if (!(g instanceof tf.Tensor)) throw new DLArgumentError(`${this.name}.step`, `grads[${i}]`, 'a tf.Tensor', g);
      if (g.shape.join(',') !== p.shape.join(',')) throw new DLArgumentError(`${this.name}.step`, `gradient of '${p.name}'`, `of shape [${p.shape.join(',')}]`, describeValue(g));
      return g;
    });
  }

  /**
   * The state as named tensors plus JSON metadata (step counts and other host numbers), the
   * form {@link Optimizer.saveState} writes. The tensors are the live state: do not dispose them.
   */
  stateDict(): OptimizerStateDict {
    this.checkAlive();
    const tensors = new Map<string, tf.Tensor>();
    const numbers: Record<string, number[]> = {};
    this.groups.forEach((g, gi) => walkState(g.state, `${gi}`, (path, slot, list) => list.forEach((t, pi) => t && tensors.set(`state.${path}.${slot}.${pi}`, t)), (path, k, v) => (numbers[`${path}.${k}`] = v)));
    const acc = this.accumulator?.snapshot();
    acc?.sums.forEach((t, i) => t && tensors.set(`accumulator.${i}`, t));
    const metadata = {
      format: FORMAT,
      optimizer: this.name,
      step: String(this.stepCount),
      skipped: String(this.skippedCount),
      accumulated: String(acc?.count ?? 0),
      groups: JSON.stringify(this.groups.map((g) => g.params.map((p) => p.shape))),
      numbers: JSON.stringify(numbers),
    };
    return { tensors, metadata };
  }

  /**
   * Saves the state as a safetensors file (with @dl/core's checkpoint format) and returns the bytes;
   * with a path (Node) it also writes the file. Together with the parameters' checkpoint, loading it
   * into a fresh optimizer built the same way resumes the identical trajectory.
   */
  async saveState(path?: string): Promise<Uint8Array> {
    const { tensors, metadata } = this.stateDict();
    const bytes = await encodeSafetensors(tensors, metadata);
    if (path !== undefined) {
      const fs = await import(/* @vite-ignore */ 'node:fs/promises');
      await fs.writeFile(path, bytes);
    }
    return bytes;
  }

  /** Loads a state written by {@link Optimizer.saveState} (bytes, or a path in Node) into this optimizer, which must have the same groups and shapes. */
  async loadState(source: Uint8Array | ArrayBuffer | string): Promise<void> {
    this.checkAlive();
    const { tensors, metadata } = await loadCheckpoint(source);
    try {
      this.loadStateDict(tensors, metadata);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** Loads {@link Optimizer.stateDict}'s form (tensors are copied; the caller keeps them). */
  loadStateDict(tensors: Map<string, tf.Tensor>, metadata: Record<string, string>): void {
    this.checkAlive();
    const where = `${this.name}.loadState`;
    if (metadata.format !== FORMAT) throw new DLArgumentError(where, 'state', `a '${FORMAT}' optimizer state`, metadata.format ?? 'no format field');
    if (metadata.optimizer !== this.name) throw new DLArgumentError(where, 'state', `a state of ${this.name}`, `a state of ${metadata.optimizer}`);
    const shapes = JSON.stringify(this.groups.map((g) => g.params.map((p) => p.shape)));
    if (metadata.groups !== shapes) throw new DLArgumentError(where, 'state', `parameter groups of shapes ${shapes}`, metadata.groups);
    const numbers = JSON.parse(metadata.numbers ?? '{}') as Record<string, number[]>;
    const used = new Set<string>();
    const fresh: TransformState[] = this.groups.map((g, gi) => {
      const copy = (s: TransformState, path: string): TransformState => ({
        slots: Object.fromEntries(
          Object.entries(s.slots).map(([slot, list]) => [
            slot,
            list.map((_, pi) => {
              const key = `state.${path}.${slot}.${pi}`;
              const t = tensors.get(key);
              if (!t) return null;
              used.add(key);
              if (t.shape.join(',') !== g.params[pi].shape.join(',')) throw new DLArgumentError(where, `'${key}'`, `of shape [${g.params[pi].shape}]`, t);
              return tf.clone(t);
            }),
          ]),
        ),
        numbers: Object.fromEntries(
          Object.entries(s.numbers).map(([k, v]) => {
            const saved = numbers[`${path}.${k}`];
            if (!Array.isArray(saved) || saved.length !== v.length) throw new DLArgumentError(where, `numbers '${path}.${k}'`, `${v.length} numbers`, saved);
            return [k, saved.slice()];
          }),
        ),
        inner: s.inner.map((c, ci) => copy(c, `${path}.${ci}`)),
      });
      return copy(g.state, `${gi}`);
    });
    const accKeys = [...tensors.keys()].filter((k) => k.startsWith('accumulator.'));
    const unexpected = [...tensors.keys()].filter((k) => !used.has(k) && !k.startsWith('accumulator.'));
    if (unexpected.length) {
      fresh.forEach((s) => tf.dispose(stateTensors(s)));
      throw new DLArgumentError(where, 'state', `tensors this optimizer has`, `unexpected ${unexpected.join(', ')}`);
    }
    this.groups.forEach((g, i) => {
      tf.dispose(stateTensors(g.state));
      g.state = fresh[i];
    });
    this.stepCount = Number(metadata.step);
    this.skippedCount = Number(metadata.skipped ?? 0);
    const accumulated = Number(metadata.accumulated ?? 0);
    if (this.accumulator) {
      const sums: Updates = this.params.map((_, i) => (tensors.has(`accumulator.${i}`) ? tf.clone(tensors.get(`accumulator.${i}`)!) : null));
      this.accumulator.restore(accumulated, sums);
      if (accumulated === 0) tf.dispose(sums.filter((s): s is tf.Tensor => s !== null));
    } else if (accumulated !== 0 || accKeys.length) {
      throw new DLArgumentError(where, 'state', 'no pending accumulated gradients (this optimizer does not accumulate)', `${accumulated} pending`);
    }
  }

  /** Frees every state tensor (not the parameters). The optimizer cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const g of this.groups) tf.dispose(stateTensors(g.state));
    this.accumulator?.reset();
  }

  private checkAlive(): void {
    if (this.disposed) throw new Error(`${this.name}: used after dispose()`);
  }
}

function isVariable(x: unknown): x is tf.Variable {
  return x instanceof tf.Variable;
}

/** Every tensor in a state tree. */
export function stateTensors(s: TransformState): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const list of Object.values(s.slots)) for (const t of list) if (t) out.push(t);
  for (const c of s.inner) out.push(...stateTensors(c));
  return out;
}

function walkState(s: TransformState, path: string, onSlot: (path: string, slot: string, list: (tf.Tensor | null)[]) => void, onNumbers: (path: string, key: string, v: number[]) => void): void {
  for (const [slot, list] of Object.entries(s.slots)) onSlot(path, slot, list);
  for (const [k, v] of Object.entries(s.numbers)) onNumbers(path, k, v);
  s.inner.forEach((c, i) => walkState(c, `${path}.${i}`, onSlot, onNumbers));
}

/** A parameter group made by {@link decayGroups}. */
export interface DecayGroup {
  /** The group's variables. */
  params: tf.Variable[];
  /** Its weight decay. */
  weightDecay: number;
}

/**
 * Splits a module's parameters into two groups: those that get weight decay and those that should not
 * (biases and normalisation weights, by default every parameter of rank ≤ 1), as is customary for AdamW.
 *
 * @example
 * ```ts
 * import { Linear } from '@dl/core';
 * import { AdamW, decayGroups } from '@dl/optim';
 * const opt = new AdamW(decayGroups(new Linear(4, 2), 0.01), { lr: 1e-3 });
 * ```
 */
export function decayGroups(module: Module, weightDecay: number, noDecay: (name: string, p: tf.Variable) => boolean = (_n, p) => p.rank <= 1): [DecayGroup, DecayGroup] {
  checkNumber('decayGroups', 'weightDecay', weightDecay, 0);
  const named = module.namedParameters();
  return [
    { params: named.filter(([n, p]) => !noDecay(n, p)).map(([, p]) => p), weightDecay },
    { params: named.filter(([n, p]) => noDecay(n, p)).map(([, p]) => p), weightDecay: 0 },
  ];
}
