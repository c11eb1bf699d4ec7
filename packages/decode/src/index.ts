/**
 * @dl/decode: decoding for any model on TensorFlow.js. Greedy search, beam search (HF `generate`
 * semantics: length penalty, early stopping, n-best), sampling (temperature, top-k, top-p, min-p,
 * typical, repetition penalty, seeded), the pointer-generator copy mechanism with coverage, composable
 * logits processors and stopping criteria, and streaming. Decoders drive a step function
 * `(tokens, state) → (logits, state)`, so they work with a Transformer's KV cache, an RNN, or a plain
 * function.
 * @module
 */
export type {
  ScoreMatrix,
  StepInfo,
  StepOutput,
  StepFn,
  ReorderStateFn,
  Reorderable,
  LogitsProcessor,
  FinishReason,
  StoppingCriterion,
  Hypothesis,
  GenerateResult,
  TokenEvent,
  CommonOptions,
} from './types.js';
export { scoreMatrix, logSoftmaxRows, logSumExp, softmaxRow, argmaxRow, topKIndices } from './scores.js';
export { gatherState } from './state.js';
export { ensemble, type EnsembleDecoding, type EnsembleMember, type EnsembleOptions } from './ensemble.js';
export { greedy, type GreedyOptions } from './greedy.js';
export { sample, sampleRow, samplingProcessors, type SampleOptions, type SamplingOptions } from './sample.js';
export { beamSearch, type BeamSearchOptions } from './beam.js';
export { BeamHypotheses, type EarlyStopping, type ScoredHypothesis } from './beam-hypotheses.js';
export {
  extendSource,
  extendedToWords,
  copyDistribution,
  copyStep,
  accumulateCoverage,
  coverageLoss,
  type CopySource,
  type PointerGeneratorOutput,
  type PointerGeneratorStepFn,
  type CopyStepOptions,
} from './copy.js';
export { streamTokens, type TokenStream } from './stream.js';
export { processorList } from './processors/list.js';
export { temperature } from './processors/temperature.js';
export { topK } from './processors/top-k.js';
export { topP } from './processors/top-p.js';
export { minP } from './processors/min-p.js';
export { typical } from './processors/typical.js';
export { repetitionPenalty } from './processors/repetition-penalty.js';
export { noRepeatNgram } from './processors/no-repeat-ngram.js';
export { minNewTokens, minLength } from './processors/min-length.js';
export { maxNewTokens, maxLength } from './stopping/max-length.js';
export { eosCriterion } from './stopping/eos.js';
export { stopSequences } from './stopping/stop-sequences.js';
export { maxTime } from './stopping/time-budget.js';
export { abortSignal } from './stopping/abort-signal.js';
