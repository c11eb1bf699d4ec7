import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError, asIs, checkKeys } from './errors.js';
import { isTensor } from './tensor-check.js';
import { ensureGradients } from './gradients.js';

/** A state dict: dotted names (`encoder.layers.0.attn.wq.weight`) to tensors, as PyTorch's `state_dict()`. */
export type StateDict = Map<string, tf.Tensor>;

/** What {@link Module.loadStateDict} did not match. */
export interface LoadResult {
  /** Names the module has but the dict lacked. */
  missing: string[];
  /** Names the dict had but the module lacks. */
  unexpected: string[];
}

/**
 * The base of every layer and model: a tree of named parameters (`tf.Variable`s), buffers (running
 * statistics) and child modules, with PyTorch's naming (`fc1.weight`, `layers.0.norm.running_mean`).
 * Subclasses register what they own in their constructor and implement `forward`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { Module, Linear } from '@dl/core';
 *
 * class MLP extends Module {
 *   fc1 = this.registerModule('fc1', new Linear(4, 8));
 *   fc2 = this.registerModule('fc2', new Linear(8, 2));
 *   forward(x: tf.Tensor): tf.Tensor {
 *     return this.fc2.forward(tf.relu(this.fc1.forward(x)));
 *   }
 * }
 * const net = new MLP();
 * net.numParameters(); // 58
 * [...net.stateDict().keys()]; // ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
 * ```
 */
export abstract class Module {
  /** True in training mode (dropout active, batch norm uses batch statistics). See {@link Module.train}. */
  training = true;
  private readonly params = new Map<string, tf.Variable>();
  private readonly buffers = new Map<string, tf.Variable>();
  private readonly children = new Map<string, Module>();
  private disposed = false;

  constructor() {
    ensureGradients();
  }

  /** Runs the module. Subclasses narrow the signature. */
  abstract forward(...inputs: never[]): unknown;

  /**
   * Registers a trainable parameter under `name`, taking ownership of `value`.
   *
   * @returns the `tf.Variable` now holding it.
   */
  protected registerParameter(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, trainable);
    if (v !== (value as unknown)) value.dispose();
    this.params.set(name, v);
    return v;
  }

  /** Registers a buffer: state saved in checkpoints but never trained (e.g. running means). */
  protected registerBuffer(name: string, value: tf.Tensor): tf.Variable {
    this.checkName(name);
    const v = tf.variable(value, false);
    value.dispose();
    this.buffers.set(name, v);
    return v;
  }

  /** Registers a child module under `name` (its parameters become `name.…`). */
  protected registerModule<M extends Module>(name: string, module: M): M {
    this.checkName(name);
    if (!(module instanceof Module)) throw new DLArgumentError(this.constructor.name, `module '${name}'`, 'a Module', module);
    this.children.set(name, module);
    return module;
  }

  private checkName(name: string): void {
    if (typeof name !== 'string' || name === '' || name.includes('.')) {
      throw new DLArgumentError(this.constructor.name, 'name', 'a non-empty string without dots', name);
    }
    if (this.params.has(name) || this.buffers.has(name) || this.children.has(name)) {
      throw new DLArgumentError(this.constructor.name, 'name', 'unique within the module', name);
    }
  }

  /** Child modules, in registration order. */
  namedChildren(): [string, Module][] {
    return [...this.children];
  }

  /** Every module in the tree (this one first) with its dotted path. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.children) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  /** Parameters with dotted names, depth first in registration order (PyTorch's order). */
  namedParameters(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [name, p] of this.params) out.push([join(prefix, name), p]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(join(prefix, name)));
    return out;
  }

  /** Buffers with dotted names. */
  namedBuffers(prefix = ''): [string, tf.Variable][] {
    const out: [string, tf.Variable][] = [];
    for (const [name, b] of this.buffers) out.push([join(prefix, name), b]);
    for (const [name, child] of this.children) out.push(...child.namedBuffers(join(prefix, name)));
    return out;
  }

  /** All parameters; with `trainableOnly`, only those not frozen. */
  parameters(trainableOnly = false): tf.Variable[] {
    return this.namedParameters()
      .map(([, p]) => p)
      .filter((p) => !trainableOnly || p.trainable);
  }

  /** Number of parameter elements (PyTorch's `sum(p.numel() for p in m.parameters())`). */
  numParameters(trainableOnly = false): number {
    return this.parameters(trainableOnly).reduce((n, p) => n + p.size, 0);
  }

  /**
   * Parameters and buffers by dotted name, in PyTorch's `state_dict()` order (each module's own
   * parameters, then its buffers, then its children). The tensors are the live variables: do not dispose.
   */
  stateDict(): StateDict {
    const out: StateDict = new Map();
    const walk = (m: Module, prefix: string) => {
      for (const [n, p] of m.params) out.set(join(prefix, n), p);
      for (const [n, b] of m.buffers) out.set(join(prefix, n), b);
      for (const [n, c] of m.children) walk(c, join(prefix, n));
    };
    walk(this, '');
    return out;
  }

  /**
   * Copies values from `dict` into this module's parameters and buffers (shapes must match; dtypes are
   * cast). With `strict` (default) any missing or unexpected name throws; otherwise they are returned.
   * The dict's tensors are not disposed. Every value it loads must be a live `tf.Tensor`: plain arrays
   * (e.g. from JSON) are refused with an error naming the entry, not converted, since an array has no
   * dtype and a nested one can hide a wrong shape; convert them with `tf.tensor(values, shape)`.
   * Everything is checked before anything is copied, so a failed load leaves the module unchanged.
   * Unknown option keys throw.
   */
  loadStateDict(dict: StateDict | Record<string, tf.Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const where = `${this.constructor.name}.loadStateDict`;
    checkKeys(where, options, ['strict']);
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new DLArgumentError(where, 'dict', 'a Map or an object of tensors', dict);
    const entries: Map<string, unknown> = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !entries.has(k));
    const unexpected = [...entries.keys()].filter((k) => !own.has(k));
    if ((options.strict ?? true) && (missing.length || unexpected.length)) {
      throw new DLArgumentError(
        `${this.constructor.name}.loadStateDict`,
        'dict',
        'the same names as the module',
        asIs(`missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`),
      );
    }
    for (const [name, target] of own) {
      if (!entries.has(name)) continue;
      const value = entries.get(name);
      if (!isTensor(value, where, `'${name}'`)) throw new DLArgumentError(where, `'${name}'`, 'a tf.Tensor (convert arrays with tf.tensor(values, shape))', value);
      if (value.isDisposed) throw new DLArgumentError(where, `'${name}'`, 'a live tensor', asIs('a disposed tensor'));
      if (value.dtype !== 'float32' && value.dtype !== 'int32' && value.dtype !== 'bool') throw new DLArgumentError(where, `'${name}'`, 'of dtype float32, int32 or bool', value);
      if (value.shape.join(',') !== target.shape.join(',')) {
        throw new DLArgumentError(`${this.constructor.name}.loadStateDict`, `'${name}'`, `of shape [${target.shape.join(',')}]`, value);
      }
    }
    for (const [name, target] of own) {
      const value = entries.get(name) as tf.Tensor | undefined;
      if (!value) continue;
      const copy = tf.tidy(() => (value.dtype === target.dtype ? tf.clone(value) : tf.cast(value, target.dtype)));
      (target as tf.Variable).assign(copy);
      copy.dispose(); // the variable holds its own reference to the data

    }
    return { missing, unexpected };
  }

  /** Sets training mode here and in every child. Returns `this`. */
  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: `train(false)`. Returns `this`. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Freezes parameters (excluded from `parameters(true)` and from `tf.variableGrads`), all of them or
   * those whose dotted name starts with `prefix`. Returns `this`.
   */
  freeze(prefix = ''): this {
    return this.setTrainable(prefix, false);
  }

  /** Undoes {@link Module.freeze}. Returns `this`. */
  unfreeze(prefix = ''): this {
    return this.setTrainable(prefix, true);
  }

  private setTrainable(prefix: string, trainable: boolean): this {
    const matched = this.namedParameters().filter(([n]) => prefix === '' || n === prefix || n.startsWith(`${prefix}.`));
    if (matched.length === 0) throw new DLArgumentError(`${this.constructor.name}.freeze`, 'prefix', 'a prefix of some parameter name', prefix);
    for (const [, p] of matched) p.trainable = trainable;
    return this;
  }

  /** Frees every parameter and buffer in the tree. The module cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.params.values()) p.dispose();
    for (const b of this.buffers.values()) b.dispose();
    for (const c of this.children.values()) c.dispose();
  }

  /** A one-line-per-module summary with parameter counts, like printing a PyTorch module. */
  toString(): string {
    const lines: string[] = [];
    for (const [name, m] of this.namedModules()) {
      const depth = name === '' ? 0 : name.split('.').length;
      const own = [...m.params.values()].reduce((n, p) => n + p.size, 0);
      lines.push(`${'  '.repeat(depth)}${name || '(root)'}: ${m.constructor.name}${own ? ` (${own} params)` : ''}`);
    }
    return lines.join('\n');
  }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}.${name}` : name;
}

/**
 * Holds modules under the names `0`, `1`, … like `torch.nn.ModuleList`.
 *
 * @example
 * ```ts
 * import { ModuleList, Linear } from '@dl/core';
 * const layers = new ModuleList([new Linear(4, 4), new Linear(4, 4)]);
 * layers.get(1); // the second Linear; its weight is 'layers.1.weight' inside a parent named 'layers'
 * ```
 */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  /** @param modules the initial modules. */
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end. */
  append(module: M): this {
    this.items.push(this.registerModule(String(this.items.length), module));
    return this;
  }

  /** The module at `index`. */
  get(index: number): M {
    const m = this.items[index];
    if (!m) throw new DLArgumentError('ModuleList.get', 'index', `in [0, ${this.items.length})`, index);
    return m;
  }

  /** Number of modules. */
  get length(): number {
    return this.items.length;
  }

  /** Iterates the modules in order. */
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  /** A ModuleList is a container: calling it is an error. */
  forward(): never {
    throw new Error('ModuleList has no forward: iterate it instead');
  }
}
