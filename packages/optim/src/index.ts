/**
 * @dl/optim: optimizers from SGD to AdamW, Lion and LAMB as small composable gradient transformations
 * (optax style) with a thin stateful {@link Optimizer} that binds them to `tf.Variable`s; learning-rate
 * (and any hyperparameter) schedules as plain `step → value` functions; gradient clipping, accumulation
 * and a non-finite guard; checkpoints; a `tf.Optimizer` adapter; and Hessian diagnostics. PyTorch parity
 * (torch.optim, torch.optim.lr_scheduler) is tested with fixtures.
 * @module
 */
export type { Schedule, Hyper, Updates, TransformState, TransformResult, GradientTransformation } from './types.js';
export { chain, identity } from './chain.js';
export { scale, scaleByLearningRate } from './transforms/scale.js';
export { addDecayedWeights } from './transforms/add-decayed-weights.js';
export { trace, type TraceOptions } from './transforms/trace.js';
export { scaleByAdam, type ScaleByAdamOptions } from './transforms/scale-by-adam.js';
export { scaleByAdagrad, type ScaleByAdagradOptions } from './transforms/scale-by-adagrad.js';
export { scaleByRms, type ScaleByRmsOptions } from './transforms/scale-by-rms.js';
export { scaleByAdadelta, type ScaleByAdadeltaOptions } from './transforms/scale-by-adadelta.js';
export { scaleByAdamax, type ScaleByAdamaxOptions } from './transforms/scale-by-adamax.js';
export { scaleByNadam, type ScaleByNadamOptions } from './transforms/scale-by-nadam.js';
export { scaleByRadam, type ScaleByRadamOptions } from './transforms/scale-by-radam.js';
export { scaleByLion, type ScaleByLionOptions } from './transforms/scale-by-lion.js';
export { scaleByTrustRatio } from './transforms/scale-by-trust-ratio.js';
export { globalNorm, clipGradNorm, clipByValue, clipByGlobalNorm, type ClipResult } from './clip.js';
export { GradientAccumulator, type AccumulatorSnapshot } from './accumulate.js';
export { NonFiniteGradientError, findNonFinite, type NonFiniteMode } from './guard.js';
export { Optimizer, decayGroups, type DecayGroup, type ApplyResult, type ParamGroupView, type OptimizerStateDict, type OptimizerConfig, type ParamGroup, type ParamGroupParams, type Gradients, type StepReport } from './optimizer.js';
export type { CommonOptions } from './optimizers/common.js';
export { sgd, SGD, type SGDOptions } from './optimizers/sgd.js';
export { adagrad, Adagrad, type AdagradOptions } from './optimizers/adagrad.js';
export { rmsprop, RMSprop, type RMSpropOptions } from './optimizers/rmsprop.js';
export { adadelta, Adadelta, type AdadeltaOptions } from './optimizers/adadelta.js';
export { adam, Adam, type AdamOptions } from './optimizers/adam.js';
export { adamw, AdamW, type AdamWOptions } from './optimizers/adamw.js';
export { adamax, Adamax, type AdamaxOptions } from './optimizers/adamax.js';
export { nadam, NAdam, type NAdamOptions } from './optimizers/nadam.js';
export { radam, RAdam, type RAdamOptions } from './optimizers/radam.js';
export { lion, Lion, type LionOptions } from './optimizers/lion.js';
export { lamb, Lamb, type LambOptions } from './optimizers/lamb.js';
export { TfjsOptimizerAdapter, asTfjsOptimizer, type NamedTensor } from './adapter.js';
export { constant } from './schedules/constant.js';
export { stepDecay, multiStep, exponential, type StepDecayOptions, type MultiStepOptions, type ExponentialOptions } from './schedules/step.js';
export { linear, linearWarmup, polynomial, type LinearOptions, type LinearWarmupOptions, type PolynomialOptions } from './schedules/linear.js';
export { cosine, cosineWarmRestarts, warmupCosine, type CosineOptions, type CosineWarmRestartsOptions, type WarmupCosineOptions } from './schedules/cosine.js';
export { noam, type NoamOptions } from './schedules/noam.js';
export { oneCycle, oneCycleMomentum, type Anneal, type OneCycleOptions, type OneCycleMomentumOptions } from './schedules/one-cycle.js';
export { cyclic, type CyclicOptions } from './schedules/cyclic.js';
export { reduceOnPlateau, type ReduceOnPlateauOptions, type PlateauSchedule, type PlateauState } from './schedules/plateau.js';
export { join, sequence, multiply } from './schedules/compose.js';
export { hvp, hessian } from './diagnostics/hessian.js';
export { symmetricEigen, type EigenResult } from './diagnostics/eigen.js';
export { criticalPoint, type CriticalPointKind, type CriticalPointOptions, type CriticalPointReport } from './diagnostics/critical-point.js';
