import * as tf from '@tensorflow/tfjs-core';
import { DLArgumentError } from '@dl/core';
import type { Optimizer } from './optimizer.js';

/** A named tensor, as tfjs optimizers' `getWeights` returns them. */
export interface NamedTensor {
  /** The weight's name. */
  name: string;
  /** Its value. */
  tensor: tf.Tensor;
}

/**
 * Wraps an @dl/optim {@link Optimizer} as a `tf.Optimizer`, so it can go wherever tfjs expects one, e.g.
 * `model.compile({ optimizer: asTfjsOptimizer(new AdamW([], { lr: 1e-3 })), loss: 'meanSquaredError' })`
 * in tfjs-layers. Variables the wrapped optimizer does not know yet are added as a new parameter group
 * (with its default options) the first time they receive a gradient. tfjs applies gradients
 * synchronously, so the non-finite guard (which reads from the device) is not available here.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs';
 * import { AdamW, asTfjsOptimizer } from '@dl/optim';
 * const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [3] })] });
 * model.compile({ optimizer: asTfjsOptimizer(new AdamW([], { lr: 1e-2 })), loss: 'meanSquaredError' });
 * ```
 */
export class TfjsOptimizerAdapter extends tf.Optimizer {
  /** The class name tfjs serialisation sees. */
  static readonly className = 'DLOptimAdapter';
  /** The wrapped optimizer. */
  readonly optimizer: Optimizer;

  /** @param optimizer the @dl/optim optimizer to drive. */
  constructor(optimizer: Optimizer) {
    super();
    if (optimizer == null || typeof (optimizer as Optimizer).applySync !== 'function') {
      throw new DLArgumentError('TfjsOptimizerAdapter', 'optimizer', 'an @dl/optim Optimizer', optimizer);
    }
    if (optimizer.config.nonFinite !== 'none') {
      throw new DLArgumentError('TfjsOptimizerAdapter', 'optimizer.nonFinite', "'none' (tfjs applies gradients synchronously; the guard needs an async read)", optimizer.config.nonFinite);
    }
    this.optimizer = optimizer;
  }

  /** Applies gradients keyed by variable name (tfjs's contract); the gradients stay the caller's. */
  applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    const map: tf.NamedTensorMap = Array.isArray(variableGradients) ? Object.fromEntries(variableGradients.map((g) => [g.name, g.tensor])) : variableGradients;
    const known = new Set(this.optimizer.params.map((p) => p.name));
    const registered = tf.engine().registeredVariables;
    const fresh: tf.Variable[] = [];
    for (const name of Object.keys(map)) {
      if (known.has(name)) continue;
      const v = registered[name];
      if (!v) throw new DLArgumentError('TfjsOptimizerAdapter.applyGradients', 'variableGradients', 'keyed by names of registered variables', `unknown variable '${name}'`);
      fresh.push(v);
    }
    if (fresh.length) this.optimizer.addParamGroup({ params: fresh });
    const { norm } = this.optimizer.applySync(map);
    norm?.dispose();
    this.incrementIterations();
  }

  /** The optimizer state as tfjs named weights (`iter` first, then the state tensors, then host numbers as float32 tensors). */
  override async getWeights(): Promise<NamedTensor[]> {
    const { tensors, metadata } = this.optimizer.stateDict();
    const numbers = JSON.parse(metadata.numbers) as Record<string, number[]>;
    const out: NamedTensor[] = [await this.saveIterations()];
    for (const [name, t] of tensors) out.push({ name, tensor: tf.clone(t) });
    for (const [name, v] of Object.entries(numbers)) out.push({ name: `numbers.${name}`, tensor: tf.tensor1d(v, 'float32') });
    out.push({ name: 'numbers.step', tensor: tf.tensor1d([Number(metadata.step)], 'float32') });
    return out;
  }

  /** Restores {@link TfjsOptimizerAdapter.getWeights}' output (the optimizer must have the same groups). */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weightValues);
    const { metadata } = this.optimizer.stateDict();
    const tensors = new Map<string, tf.Tensor>();
    const numbers: Record<string, number[]> = {};
    let step = 0;
    for (const { name, tensor } of rest) {
      if (name === 'numbers.step') step = (await tensor.data())[0];
      else if (name.startsWith('numbers.')) numbers[name.slice('numbers.'.length)] = Array.from(await tensor.data());
      else tensors.set(name, tensor);
    }
    this.optimizer.loadStateDict(tensors, { ...metadata, step: String(step), numbers: JSON.stringify(numbers), accumulated: '0' });
  }

  /** The wrapped optimizer's name and groups' options (schedules are shown as `'schedule'`). */
  getConfig(): tf.serialization.ConfigDict {
    return {
      name: this.optimizer.name,
      groups: this.optimizer.paramGroups.map((g) =>
        Object.fromEntries(Object.entries(g.options as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'function' ? 'schedule' : (v as tf.serialization.ConfigDictValue)])),
      ) as unknown as tf.serialization.ConfigDictArray,
    };
  }

  /** Frees the wrapped optimizer's state. */
  override dispose(): void {
    this.optimizer.dispose();
    super.dispose();
  }
}

/**
 * Shorthand for `new TfjsOptimizerAdapter(optimizer)`.
 *
 * @example
 * ```ts
 * import { Adam, asTfjsOptimizer } from '@dl/optim';
 * const tfOpt = asTfjsOptimizer(new Adam([], { lr: 1e-3 })); // a tf.Optimizer
 * ```
 */
export function asTfjsOptimizer(optimizer: Optimizer): TfjsOptimizerAdapter {
  return new TfjsOptimizerAdapter(optimizer);
}
