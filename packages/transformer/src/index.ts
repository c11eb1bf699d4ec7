/**
 * @dl/transformer: build, train and decode Transformers on TensorFlow.js. Encoder, decoder,
 * encoder-decoder and GPT models from one config object, with pre-/post-LN, LayerNorm or RMSNorm,
 * ReLU/GELU/SiLU/SwiGLU/GeGLU, grouped- and multi-query attention, every `@dl/attention` variant per
 * layer and per head, and sinusoidal, learned, rotary, ALiBi or T5 positions; KV-cached step functions
 * for `@dl/decode`; PyTorch (`nn.Transformer`) and GPT-2 weight compatibility.
 * @module
 */
export { sinusoidalTable } from './positions/sinusoidal.js';
export { applyRotary } from './positions/rotary.js';
export { alibiSlopes, alibiBias } from './positions/alibi.js';
export { relativePositionBucket, RelativePositionBias, type RelativePositionBiasOptions } from './positions/relative-bias.js';
export { LearnedPositions } from './positions/learned.js';
export {
  resolveAttention,
  type AttentionSpec,
  type FullSpec,
  type LocalSpec,
  type StridedSpec,
  type GlobalSpec,
  type WindowSpec,
  type LshSpec,
  type KMeansSpec,
  type LinearSpec,
  type LinformerSpec,
  type CacheKind,
  type ResolvedAttention,
} from './attention-spec.js';
export { Attention, type AttentionOutput, type AttentionConfig, type AttentionCall, type CrossKV, type SelfCache, type Naming } from './attention.js';
export { ACTIVATIONS, isGated, feedForward, type Activation } from './feed-forward.js';
export { resolveStack, STACK_KEYS, type StackConfig, type ResolvedStack, type AttentionPosition, type PositionKind, type InitScheme } from './config.js';
export { TransformerLayer, layerInits, type LayerInits, type LayerCall, type LayerOutput } from './layer.js';
export { StackCache } from './cache.js';
export { LayerStack, TransformerEncoder, TransformerDecoder, GPTStack, type StackCall, type StackOutput, type DecoderConfig } from './stack.js';
export { GPT, type GPTConfig, type GPTCall, type GPTOutput, type Decoding, type DecodingOptions } from './gpt.js';
export { toGPT2StateDict, fromGPT2StateDict } from './gpt2-weights.js';
export { EncoderDecoder, TransformerPair, type ResolvedEncoderDecoderConfig, type EncodeOutput, type DecodeOutput, type EncoderDecoderConfig, type EncoderDecoderCall, type EncoderDecoderOutput, type TiedWeights } from './encoder-decoder.js';
export type { TokenIds } from './tokens.js';
export { Trainer, type AdamWSettings, type EarlyStopping, type TrainerOptions, type TrainProgress, type TrainResult } from './trainer.js';
export { guidedAttentionLoss, guidedAttentionMatrix, type GuidedAttentionOptions } from './guided-attention.js';
export { PointerGenerator, type PointerGeneratorOptions, type PointerGeneratorCall, type PointerGeneratorForward, type PointerGeneratorLossOptions } from './pointer-generator.js';
export { scheduledSamplingInputs, scheduledSamplingLoss, type ScheduledSamplingOptions } from './scheduled-sampling.js';
export { CMLM, type CMLMOptions, type CMLMCall, type CMLMForward, type CMLMLossOptions, type MaskedTargets, type MaskPredictOptions, type MaskPredictResult, type MaskPredictCandidate } from './cmlm.js';
export { RNNEncoderDecoder, RNNDecoderState, type RNNEncoderDecoderConfig, type ResolvedRNNEncoderDecoderConfig, type RNNEncoderDecoderCall, type RNNEncoderDecoderLossOptions, type RNNEncoderDecoderOutput, type RNNDecoderStateParts } from './rnn-seq2seq.js';
