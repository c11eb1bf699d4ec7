import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkNumber, DLArgumentError, describe as describeValue, loadCheckpoint, saveCheckpoint, type Module, ensureGradients, isTensor, isVariable } from '@dl/core';
import { GradientAccumulator } from './accumulate.js';
import { clipGradNorm } from './clip.js';
import { findNonFinite, NonFiniteGradientError, type NonFiniteMode } from './guard.js';
import { checkKeys, resolve, type GradientTransformation, type Hyper, type TransformState, type Updates } from './types.js';

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
    ensureGradients(); // tfjs-core's gradients, registered on first use (see @dl/core's ensureGradients)
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

  /**
   * Computes the gradients of `lossFn` with respect to the trainable variables, steps, and returns the loss
   * (or null with `returnCost: false`). `lossFn` returns a scalar: `@dl/core`'s losses are typed
   * `tf.Scalar` under their default reduction (`'mean'`) and `'sum'`, so `minimize(() => crossEntropy(logits, y))`
   * needs no cast; a `reduction: 'none'` loss must be reduced first (a type error, and a clear error at run time).
   */
  async minimize(lossFn: () => tf.Scalar, options: { returnCost?: boolean } = {}): Promise<tf.Scalar | null> {
    this.checkAlive();
    if (typeof lossFn !== 'function') throw new DLArgumentError(`${this.name}.minimize`, 'lossFn', 'a function returning a scalar tensor', lossFn);
    checkKeys(`${this.name}.minimize`, options, ['returnCost']);
    const vars = this.params.filter((v) => this.isTrainable(v));
    if (vars.length === 0) throw new DLArgumentError(`${this.name}.minimize`, 'params', 'at least one trainable, unfrozen variable', 0);
    const where = `${this.name}.minimize`;
    // A throw inside tf.variableGrads leaks a tensor (tfjs 4.22), so a loss that is not a scalar is only
    // noted there (a stand-in scalar keeps tfjs going) and reported once its tensors are freed.
    let notScalar: string | null = null;
    const scalarLoss = (): tf.Scalar => {
      const y: unknown = lossFn();
      if (isTensor(y, where, 'lossFn()') && y.rank === 0) return y as tf.Scalar;
      notScalar = describeValue(y);
      return isTensor(y) ? tf.sum(y) : tf.scalar(0);
    };
    const { value, grads } = tf.variableGrads(scalarLoss, vars);
    if (notScalar !== null) {
      value.dispose();
      tf.dispose(Object.values(grads));
      throw new DLArgumentError(where, 'lossFn()', "a scalar (rank-0) tensor (a loss with reduction 'mean' or 'sum')", asIs(notScalar));
    }
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
   *
   * A step is all or nothing: if it throws (a schedule gave a NaN or negative learning rate, say), no
   * parameter, state tensor, step count or pending micro-batch has changed. A call with no gradient for
   * any trainable parameter (`step({})`, all `null`) changes nothing either and reports `applied: false`:
   * it is not counted as a step, schedules do not advance and it is not a micro-batch.
   */
  async step(grads: Gradients): Promise<StepReport> {
    this.checkAlive();
    const flat = this.align(grads);
    if (flat.every((g) => g === null)) return this.notApplied();
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
   * All or nothing, and a no-op for a call without gradients, as {@link Optimizer.step}.
   */
  applySync(grads: Gradients): ApplyResult {
    this.checkAlive();
    let flat = this.align(grads);
    if (flat.every((g) => g === null)) return { report: this.notApplied(), norm: null };
    let owned = false;
    if (this.accumulator) {
      // The mean is taken without consuming the micro-batches: they are dropped only once the update succeeded.
      const mean = this.accumulator.meanWith(flat);
      if (mean === null) {
        this.accumulator.add(flat);
        return { report: this.notApplied(), norm: null };
      }
      flat = mean;
      owned = true;
    }
    const lr = this.groups.map((_, i) => this.currentLr(i));
    const oldTensors = new Set(this.groups.flatMap((g) => stateTensors(g.state)));
    let newStates: TransformState[] = [];
    let norm: tf.Scalar | null = null;
    try {
      norm = tf.tidy(() => {
        let g = flat;
        if (this.config.clipGradValue !== undefined) {
          const c = this.config.clipGradValue;
          g = g.map((x) => (x === null ? null : tf.clipByValue(x, -c, c))); // [param shape]
        }
        let clippedNorm: tf.Scalar | null = null;
        if (this.config.clipGradNorm !== undefined) {
          const clipped = clipGradNorm(g, this.config.clipGradNorm);
          g = clipped.grads;
          clippedNorm = clipped.norm;
        }
        // Every group's update first (a schedule may throw here), then the assignments: all or nothing.
        let offset = 0;
        const results = this.groups.map((group) => {
          const slice = g.slice(offset, offset + group.params.length);
          offset += group.params.length;
          return group.tx.update(slice, group.state, group.params);
        });
        results.forEach((r, gi) => {
          r.updates.forEach((u, i) => {
            if (u !== null) this.groups[gi].params[i].assign(tf.add(this.groups[gi].params[i], u)); // [param shape]
          });
          for (const t of stateTensors(r.state)) tf.keep(t);
        });
        newStates = results.map((r) => r.state);
        return clippedNorm as tf.Scalar; // kept by tidy (null when not clipping)
      });
    } finally {
      if (owned) tf.dispose(flat.filter((x): x is tf.Tensor => x !== null));
    }
    this.groups.forEach((g, i) => (g.state = newStates[i]));
    const live = new Set(newStates.flatMap(stateTensors));
    for (const t of oldTensors) if (!live.has(t)) t.dispose();
    this.accumulator?.reset();
    this.stepCount++;
    return { report: { step: this.stepCount, applied: true, skipped: false, nonFinite: [], pending: 0, lr }, norm };
  }

  /** The report of a call that changed nothing (no gradients, or a micro-batch waiting for the others). */
  private notApplied(): StepReport {
    return { step: this.stepCount, applied: false, skipped: false, nonFinite: [], pending: this.accumulator?.pending ?? 0, lr: this.groups.map((_, i) => this.currentLr(i)) };
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
      if (!isTensor(g, `${this.name}.step`, `grads[${i}]`)) throw new DLArgumentError(`${this.name}.step`, `grads[${i}]`, 'a tf.Tensor', g);
      if (g.isDisposed) throw new DLArgumentError(`${this.name}.step`, `gradient of '${p.name}'`, 'a live tensor', asIs('a disposed tensor'));
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
    // @dl/core writes the file: its Node built-ins load only at run time, so this package bundles for the browser.
    return saveCheckpoint(tensors, path, metadata);
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

  /**
   * Loads {@link Optimizer.stateDict}'s form (tensors are copied; the caller keeps them). Everything is
   * checked before anything changes, and a state that fails a check leaves the optimizer exactly as it
   * was: the format, the optimizer's name and its groups' shapes; every state tensor this optimizer needs
   * (those of a slot that starts empty, such as SGD's momentum buffer, only after the parameter's first
   * update), with its shape and dtype, and no others; the step counts (integers ≥ 0, at most 2⁵³ − 1) and
   * the other host numbers (finite); pending micro-batches only for an optimizer that accumulates, fewer
   * than it accumulates.
   */
  loadStateDict(tensors: Map<string, tf.Tensor>, metadata: Record<string, string>): void {
    this.checkAlive();
    const where = `${this.name}.loadState`;
    if (!(tensors instanceof Map)) throw new DLArgumentError(where, 'tensors', 'a Map from name to tensor', tensors);
    if (metadata === null || typeof metadata !== 'object') throw new DLArgumentError(where, 'metadata', 'an object of strings', metadata);
    if (metadata.format !== FORMAT) throw new DLArgumentError(where, 'state', `a '${FORMAT}' optimizer state`, metadata.format ?? 'no format field');
    if (metadata.optimizer !== this.name) throw new DLArgumentError(where, 'state', `a state of ${this.name}`, `a state of ${metadata.optimizer}`);
    const shapes = JSON.stringify(this.groups.map((g) => g.params.map((p) => p.shape)));
    if (metadata.groups !== shapes) throw new DLArgumentError(where, 'state', `parameter groups of shapes ${shapes}`, metadata.groups);
    const stepCount = parseCount(where, 'metadata.step', metadata.step);
    const skippedCount = parseCount(where, 'metadata.skipped', metadata.skipped ?? '0');
    const accumulated = parseCount(where, 'metadata.accumulated', metadata.accumulated ?? '0');
    let numbers: Record<string, unknown>;
    try {
      numbers = JSON.parse(metadata.numbers ?? '{}');
    } catch {
      numbers = null as never;
    }
    if (numbers === null || typeof numbers !== 'object' || Array.isArray(numbers)) throw new DLArgumentError(where, 'metadata.numbers', 'JSON numbers by name', metadata.numbers);

    // Check every tensor and number against the layout of a freshly initialised state, copying nothing yet.
    const used = new Set<string>();
    const plans = this.groups.map((g, gi) => {
      const init = g.tx.init(g.params);
      try {
        return planState(where, init, `${gi}`, g.params, tensors, numbers, used);
      } finally {
        tf.dispose(stateTensors(init));
      }
    });
    const accKeys = [...tensors.keys()].filter((k) => k.startsWith('accumulator.'));
    const unexpected = [...tensors.keys()].filter((k) => !used.has(k) && !k.startsWith('accumulator.'));
    if (unexpected.length) throw new DLArgumentError(where, 'state', 'tensors this optimizer has', asIs(`unexpected ${unexpected.join(', ')}`));
    const params = this.params;
    if (!this.accumulator) {
      if (accumulated !== 0 || accKeys.length) throw new DLArgumentError(where, 'state', 'no pending accumulated gradients (this optimizer does not accumulate)', `${accumulated} pending`);
    } else {
      if (accumulated >= this.accumulator.k) throw new DLArgumentError(where, 'metadata.accumulated', `fewer than the ${this.accumulator.k} micro-batches this optimizer accumulates`, accumulated);
      for (const key of accKeys) {
        const i = Number(key.slice('accumulator.'.length));
        if (!Number.isInteger(i) || i < 0 || i >= params.length || String(i) !== key.slice('accumulator.'.length)) throw new DLArgumentError(where, 'state', 'tensors this optimizer has', asIs(`unexpected ${key}`));
        checkStateTensor(where, key, tensors.get(key)!, params[i].shape);
      }
    }

    // Nothing can fail from here on.
    const fresh = plans.map((plan) => plan());
    this.groups.forEach((g, i) => {
      tf.dispose(stateTensors(g.state));
      g.state = fresh[i];
    });
    this.stepCount = stepCount;
    this.skippedCount = skippedCount;
    if (this.accumulator) {
      const sums: Updates = params.map((_, i) => (accumulated > 0 && tensors.has(`accumulator.${i}`) ? tf.clone(tensors.get(`accumulator.${i}`)!) : null));
      this.accumulator.restore(accumulated, sums);
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

/** Every tensor in a state tree. */
export function stateTensors(s: TransformState): tf.Tensor[] {
  const out: tf.Tensor[] = [];
  for (const list of Object.values(s.slots)) for (const t of list) if (t) out.push(t);
  for (const c of s.inner) out.push(...stateTensors(c));
  return out;
}

/** A non-negative safe integer from a metadata string ("12"), or a clear error naming the field. */
function parseCount(where: string, argument: string, text: unknown): number {
  const n = typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n)) throw new DLArgumentError(where, argument, 'an integer ≥ 0 (a step count)', text);
  return n;
}

/** Throws unless `t` is a live float32 tensor of `shape`. */
function checkStateTensor(where: string, key: string, t: tf.Tensor, shape: number[]): void {
  if (!isTensor(t, where, `'${key}'`)) throw new DLArgumentError(where, `'${key}'`, 'a tf.Tensor', t);
  if (t.isDisposed) throw new DLArgumentError(where, `'${key}'`, 'a live tensor', asIs('a disposed tensor'));
  if (t.shape.join(',') !== shape.join(',')) throw new DLArgumentError(where, `'${key}'`, `of shape [${shape}]`, t);
  if (t.dtype !== 'float32') throw new DLArgumentError(where, `'${key}'`, 'of dtype float32', t);
}

/** Host numbers that count steps (integers ≥ 0); the others (e.g. NAdam's μ products) need only be finite. */
const COUNT_NUMBERS = new Set(['count', 'step']);

/**
 * Checks the saved tensors and numbers of one transformation tree against `init` (a fresh state, which
 * gives the layout), marking the tensors it uses; returns the function that builds the loaded state
 * (copies of the tensors), to be called once every check has passed. A slot that `init` leaves empty
 * (`null`, such as SGD's momentum buffer) may be missing while the parameter has no update yet.
 */
function planState(where: string, init: TransformState, path: string, params: readonly tf.Variable[], tensors: Map<string, tf.Tensor>, numbers: Record<string, unknown>, used: Set<string>): () => TransformState {
  const loadedNumbers: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(init.numbers)) {
    const key = `${path}.${k}`;
    const saved = numbers[key];
    const isCount = COUNT_NUMBERS.has(k);
    const ok = Array.isArray(saved) && saved.length === v.length && saved.every((x) => typeof x === 'number' && (isCount ? Number.isSafeInteger(x) && x >= 0 : Number.isFinite(x)));
    if (!ok) {
      const what = isCount ? `integer${v.length === 1 ? '' : 's'} ≥ 0 (step counts)` : `finite number${v.length === 1 ? '' : 's'}`;
      throw new DLArgumentError(where, `numbers '${key}'`, `${v.length} ${what}`, asIs(saved === undefined ? 'undefined' : JSON.stringify(saved)));
    }
    loadedNumbers[k] = (saved as number[]).slice();
  }
  const counts = loadedNumbers.count;
  const slots: [string, (string | null)[]][] = Object.entries(init.slots).map(([slot, list]) => [
    slot,
    list.map((t0, pi) => {
      const key = `state.${path}.${slot}.${pi}`;
      const t = tensors.get(key);
      if (t === undefined) {
        const needed = t0 !== null || (counts !== undefined && counts[pi] > 0);
        if (needed) throw new DLArgumentError(where, `'${key}'`, `present (a tensor of shape [${params[pi].shape}])`, asIs('nothing'));
        return null;
      }
      checkStateTensor(where, key, t, params[pi].shape);
      used.add(key);
      return key;
    }),
  ]);
  const inner = init.inner.map((c, ci) => planState(where, c, `${path}.${ci}`, params, tensors, numbers, used));
  return () => ({
    slots: Object.fromEntries(slots.map(([slot, keys]) => [slot, keys.map((k) => (k === null ? null : tf.clone(tensors.get(k)!)))])),
    numbers: loadedNumbers,
    inner: inner.map((f) => f()),
  });
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
