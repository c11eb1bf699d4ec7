import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkInt, checkKeys, checkNumber, decodeSafetensors, DLArgumentError, encodeSafetensors, getRng, type Module } from '@dl/core';
import { AdamW, decayGroups, type Optimizer, type Schedule } from '@dl/optim';

/** What {@link Trainer} reports after every optimizer update (and after each evaluation). */
export interface TrainProgress {
  /** Optimizer updates applied so far. */
  step: number;
  /** Total updates of this `fit` call's target. */
  totalSteps: number;
  /** Mean training loss over this update's micro-batches. */
  loss: number;
  /** Learning rate of this update (first group). */
  lr: number | undefined;
  /** Global gradient norm before clipping (with `clipGradNorm`). */
  gradNorm?: number;
  /** The evaluation metric, on updates where one ran. */
  evalMetric?: number;
  /** Best evaluation metric so far (lower is better). */
  bestMetric?: number;
  /** Milliseconds spent in `fit` so far (this call). */
  elapsedMs: number;
  /** Estimated milliseconds to `totalSteps`. */
  etaMs: number;
}

/** What {@link Trainer.fit} returns. */
export interface TrainResult {
  /** Updates applied in total (across resumes). */
  step: number;
  /** Training loss of every update of this call, in order. */
  losses: number[];
  /** `[step, metric]` of every evaluation of this call. */
  evals: [number, number][];
  /** Why it stopped. */
  stopped: 'steps' | 'early-stopping';
  /** Best evaluation metric so far, if any. */
  bestMetric?: number;
}

/** AdamW settings for the optimizer {@link Trainer} builds. */
export interface AdamWSettings {
  /** Learning rate or schedule (`step → lr`, e.g. `warmupCosine`, `noam`). Default 1e-3. */
  lr?: number | Schedule;
  /** Weight decay of matrices (biases, norms and other rank ≤ 1 parameters get none). Default 0.01. */
  weightDecay?: number;
  /** (β₁, β₂). Default [0.9, 0.999]. */
  betas?: [number, number];
  /** ε. Default 1e-8. */
  eps?: number;
}

/** Early stopping on the evaluation metric. */
export interface EarlyStopping {
  /** Evaluations without improvement before stopping. */
  patience: number;
  /** The smallest decrease that counts as an improvement. Default 0. */
  minDelta?: number;
}

/** Options of {@link Trainer}. */
export interface TrainerOptions<B> {
  /** The model (its parameters are trained; it is put in training mode for steps, eval mode for `evaluate`). */
  model: Module;
  /** The batch at a data position (0, 1, 2, …): must be a pure function of the position, so a resumed run sees the same data. */
  batch: (position: number) => B;
  /** The loss of a batch (a scalar); run inside the gradient tape. */
  loss: (batch: B) => tf.Scalar;
  /**
   * The optimizer: an {@link Optimizer} you built, or AdamW options. With options the trainer builds AdamW
   * with two groups: decay on matrices, none on biases, norms and other rank ≤ 1 parameters.
   */
  optimizer?: Optimizer<object> | AdamWSettings;
  /** Clip the global gradient norm (with options-built AdamW). */
  clipGradNorm?: number;
  /** Micro-batches per update (gradient accumulation; with options-built AdamW). Default 1. */
  accumulate?: number;
  /** Evaluate every this many updates (with `evaluate`). */
  evalEvery?: number;
  /** A metric to minimise (e.g. validation loss), computed in eval mode. */
  evaluate?: (model: Module) => number | Promise<number>;
  /** Stop when the metric has not improved by `minDelta` for `patience` evaluations. */
  earlyStopping?: EarlyStopping;
  /** Called after every update (and evaluation). */
  onProgress?: (p: TrainProgress) => void | Promise<void>;
  /** Write a checkpoint every this many updates (through `onCheckpoint`). */
  checkpointEvery?: number;
  /** Receives each checkpoint's bytes (safetensors); write them to a file, IndexedDB, …. */
  onCheckpoint?: (bytes: Uint8Array, step: number) => void | Promise<void>;
}

const FORMAT = 'dl-trainer/1';
const KEYS = ['model', 'batch', 'loss', 'optimizer', 'clipGradNorm', 'accumulate', 'evalEvery', 'evaluate', 'earlyStopping', 'onProgress', 'checkpointEvery', 'onCheckpoint'];

/**
 * A small training loop, not a framework: gradients of your `loss` on the batch at each data position,
 * AdamW with decay / no-decay groups (or your optimizer) and any `@dl/optim` schedule (warmup-cosine,
 * Noam, …), global-norm clipping, gradient accumulation, evaluation every k updates with early stopping,
 * a progress callback, and checkpoints of everything (model, optimizer state, step, data position, the
 * global random generator that dropout draws from, early-stopping state) in one safetensors file.
 * Resuming from a checkpoint reproduces the uninterrupted run's losses exactly (on backends with
 * deterministic kernels: cpu, wasm).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { warmupCosine } from '@dl/optim';
 * import { GPT, Trainer } from '@dl/transformer';
 * const gpt = new GPT({ vocabSize: 8, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16, seed: 0 });
 * const seq = [[1, 2, 3, 4, 5, 6, 7, 1, 2]];
 * const trainer = new Trainer({
 *   model: gpt,
 *   batch: () => seq,
 *   loss: (b) => gpt.loss(b.map((r) => r.slice(0, -1)), b.map((r) => r.slice(1))),
 *   optimizer: { lr: warmupCosine({ peak: 1e-2, warmupSteps: 5, totalSteps: 40 }), weightDecay: 0.01 },
 *   clipGradNorm: 1,
 * });
 * const { losses } = await trainer.fit(40);
 * const bytes = await trainer.checkpoint(); // resume later with trainer.restore(bytes)
 * trainer.dispose();
 * ```
 */
export class Trainer<B> {
  /** The optimizer. */
  readonly optimizer: Optimizer<object>;
  private readonly opts: TrainerOptions<B>;
  private readonly ownsOptimizer: boolean;
  private position = 0;
  private best: number | undefined;
  private badEvals = 0;
  private disposed = false;

  /** @param options see {@link TrainerOptions}. */
  constructor(options: TrainerOptions<B>) {
    const where = 'Trainer';
    if (options == null || typeof options !== 'object') throw new DLArgumentError(where, 'options', 'an object', options);
    checkKeys(where, options, KEYS);
    for (const fn of ['batch', 'loss'] as const) if (typeof options[fn] !== 'function') throw new DLArgumentError(where, fn, 'a function', options[fn]);
    if (options.model == null || typeof (options.model as Module).namedParameters !== 'function') throw new DLArgumentError(where, 'model', 'a Module', options.model);
    if (options.evalEvery !== undefined) checkInt(where, 'evalEvery', options.evalEvery);
    if ((options.evalEvery === undefined) !== (options.evaluate === undefined)) throw new DLArgumentError(where, 'evaluate', 'given together with evalEvery', options.evaluate === undefined ? 'evalEvery alone' : 'evaluate alone');
    if (options.earlyStopping) {
      checkKeys(`${where} earlyStopping`, options.earlyStopping, ['patience', 'minDelta']);
      checkInt(where, 'earlyStopping.patience', options.earlyStopping.patience);
      checkNumber(where, 'earlyStopping.minDelta', options.earlyStopping.minDelta ?? 0, 0);
      if (!options.evaluate) throw new DLArgumentError(where, 'earlyStopping', 'used with evaluate and evalEvery', 'no evaluate');
    }
    if (options.checkpointEvery !== undefined) {
      checkInt(where, 'checkpointEvery', options.checkpointEvery);
      if (typeof options.onCheckpoint !== 'function') throw new DLArgumentError(where, 'onCheckpoint', 'a function receiving the bytes (with checkpointEvery)', options.onCheckpoint);
    }
    const o = options.optimizer;
    if (o != null && typeof (o as Optimizer<object>).step === 'function') {
      if (options.clipGradNorm !== undefined || options.accumulate !== undefined) {
        throw new DLArgumentError(where, 'clipGradNorm / accumulate', 'set on your own optimizer (they configure the AdamW the trainer builds)', 'given with an Optimizer');
      }
      this.optimizer = o as Optimizer<object>;
      this.ownsOptimizer = false;
    } else {
      const a = (o ?? {}) as AdamWSettings;
      checkKeys(`${where} optimizer`, a, ['lr', 'weightDecay', 'betas', 'eps']);
      const groups = decayGroups(options.model, a.weightDecay ?? 0.01).filter((g) => g.params.length > 0);
      this.optimizer = new AdamW(groups, {
        lr: a.lr ?? 1e-3,
        ...(a.betas && { betas: a.betas }),
        ...(a.eps !== undefined && { eps: a.eps }),
        ...(options.clipGradNorm !== undefined && { clipGradNorm: checkNumber(where, 'clipGradNorm', options.clipGradNorm, 0, Infinity, true) }),
        accumulate: checkInt(where, 'accumulate', options.accumulate ?? 1),
      }) as unknown as Optimizer<object>;
      this.ownsOptimizer = true;
    }
    this.opts = options;
  }

  /** Optimizer updates applied so far. */
  get step(): number {
    return this.optimizer.iterations;
  }

  /** The next data position (micro-batches consumed so far). */
  get dataPosition(): number {
    return this.position;
  }

  /**
   * Trains until `totalSteps` optimizer updates have been applied in total (a resumed trainer continues
   * from its step), or until early stopping. If an update fails (the batch, the loss or the optimizer
   * throws), the error propagates with the trainer as it was before that update: the step, the data
   * position, the global random generator and the optimizer (no half-accumulated micro-batches) are
   * unchanged, and the model's parameters too (the optimizer applies an update all or nothing); updates
   * completed earlier in the call stay applied.
   */
  async fit(totalSteps: number): Promise<TrainResult> {
    if (this.disposed) throw new DLArgumentError('Trainer.fit', 'trainer', 'not disposed', 'disposed');
    checkInt('Trainer.fit', 'totalSteps', totalSteps, 0);
    const { model, evaluate, evalEvery, earlyStopping, onProgress, checkpointEvery, onCheckpoint } = this.opts;
    const params = model.parameters(true);
    const losses: number[] = [];
    const evals: [number, number][] = [];
    const started = Date.now();
    const firstStep = this.step;
    let stopped: TrainResult['stopped'] = 'steps';
    while (this.step < totalSteps) {
      model.train();
      let sum = 0;
      let micro = 0;
      let report;
      // An update is all or nothing: if a micro-batch fails (its batch, its loss or the optimizer throws),
      // the data position, the random generator and the optimizer's pending micro-batches go back to
      // where the update started, so a retry repeats what an uninterrupted run does.
      const startPosition = this.position;
      const startRng = getRng().getState();
      try {
        do {
          const batch = this.opts.batch(this.position);
          const { value, grads } = tf.variableGrads(() => this.opts.loss(batch), params);
          try {
            report = await this.optimizer.step(grads);
            sum += (await value.data())[0];
            micro++;
            this.position++;
          } finally {
            value.dispose();
            tf.dispose(Object.values(grads));
          }
        } while (!report.applied && !report.skipped);
      } catch (e) {
        this.position = startPosition;
        getRng().setState(startRng);
        this.discardPending();
        throw e;
      }
      const loss = sum / micro;
      losses.push(loss);
      const elapsedMs = Date.now() - started;
      const done = this.step - firstStep;
      const progress: TrainProgress = {
        step: this.step,
        totalSteps,
        loss,
        lr: report.lr[0],
        ...(report.gradNorm !== undefined && { gradNorm: report.gradNorm }),
        elapsedMs,
        etaMs: done > 0 ? (elapsedMs / done) * (totalSteps - this.step) : 0,
      };
      if (evaluate && evalEvery && this.step % evalEvery === 0) {
        model.eval();
        const metric = await evaluate(model);
        model.train();
        evals.push([this.step, metric]);
        progress.evalMetric = metric;
        if (this.best === undefined || metric < this.best - (earlyStopping?.minDelta ?? 0)) {
          this.best = metric;
          this.badEvals = 0;
        } else {
          this.badEvals++;
        }
      }
      if (this.best !== undefined) progress.bestMetric = this.best;
      await onProgress?.(progress);
      if (checkpointEvery && this.step % checkpointEvery === 0) await onCheckpoint!(await this.checkpoint(), this.step);
      if (earlyStopping && this.badEvals >= earlyStopping.patience) {
        stopped = 'early-stopping';
        break;
      }
    }
    return { step: this.step, losses, evals, stopped, ...(this.best !== undefined && { bestMetric: this.best }) };
  }

  /** Drops micro-batches the optimizer accumulated for an update that failed (its parameters are untouched). */
  private discardPending(): void {
    const { tensors, metadata } = this.optimizer.stateDict();
    if ((metadata.accumulated ?? '0') === '0') return;
    const kept = new Map([...tensors].filter(([k]) => !k.startsWith('accumulator.')));
    this.optimizer.loadStateDict(kept, { ...metadata, accumulated: '0' });
  }

  /**
   * Everything needed to resume, as safetensors bytes: the model's parameters and buffers (`model.*`), the
   * optimizer state (`optim.*`) and, in the metadata, the step, the data position, the global random
   * generator's state and the early-stopping state.
   */
  async checkpoint(): Promise<Uint8Array> {
    const tensors = new Map<string, tf.Tensor>();
    for (const [name, t] of this.opts.model.stateDict()) tensors.set(`model.${name}`, t);
    const opt = this.optimizer.stateDict();
    for (const [name, t] of opt.tensors) tensors.set(`optim.${name}`, t);
    const metadata = {
      format: FORMAT,
      position: String(this.position),
      rng: JSON.stringify(getRng().getState()),
      best: this.best === undefined ? '' : String(this.best),
      badEvals: String(this.badEvals),
      optimizer: JSON.stringify(opt.metadata),
    };
    return encodeSafetensors(tensors, metadata);
  }

  /**
   * Restores a {@link Trainer.checkpoint} into this trainer (same model architecture and optimizer
   * configuration). Everything is checked before anything changes: a failed restore leaves the trainer,
   * the model and the optimizer as they were.
   */
  async restore(bytes: Uint8Array | ArrayBuffer): Promise<void> {
    const where = 'Trainer.restore';
    const { tensors, metadata } = decodeSafetensors(bytes);
    try {
      if (metadata.format !== FORMAT) throw new DLArgumentError(where, 'bytes', `a '${FORMAT}' checkpoint`, metadata.format ?? 'no format');
      const position = Number(metadata.position);
      if (!Number.isInteger(position) || position < 0) throw new DLArgumentError(where, 'position', 'an integer ≥ 0', metadata.position);
      const rng = JSON.parse(metadata.rng ?? 'null') as number[];
      const model = new Map<string, tf.Tensor>();
      const optim = new Map<string, tf.Tensor>();
      for (const [k, t] of tensors) {
        if (k.startsWith('model.')) model.set(k.slice(6), t);
        else if (k.startsWith('optim.')) optim.set(k.slice(6), t);
        else throw new DLArgumentError(where, 'bytes', 'tensors named model.* or optim.*', k);
      }
      // Validate the model's names and shapes first (loadStateDict checks all before copying), then the
      // optimizer (its loader also validates before it changes anything).
      const own = this.opts.model.stateDict();
      const missing = [...own.keys()].filter((k) => !model.has(k));
      const unexpected = [...model.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) throw new DLArgumentError(where, 'model', 'the checkpoint\'s parameters', asIs(`missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`));
      for (const [k, t] of model) if (own.get(k)!.shape.join(',') !== t.shape.join(',')) throw new DLArgumentError(where, `'model.${k}'`, `of shape [${own.get(k)!.shape}]`, t);
      const probe = getRng().getState();
      getRng().setState(rng); // validates
      getRng().setState(probe);
      this.optimizer.loadStateDict(optim, JSON.parse(metadata.optimizer ?? '{}') as Record<string, string>);
      this.opts.model.loadStateDict(model);
      getRng().setState(rng);
      this.position = position;
      this.best = metadata.best === '' || metadata.best === undefined ? undefined : Number(metadata.best);
      this.badEvals = Number(metadata.badEvals ?? 0);
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
  }

  /** Frees the optimizer state if the trainer built the optimizer (not the model). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.ownsOptimizer) this.optimizer.dispose();
  }
}
