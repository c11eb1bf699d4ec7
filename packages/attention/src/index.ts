/**
 * @dl/attention: full, additive and multi-head attention and the efficient variants (local, strided,
 * global, LSH and k-means clustered, linear, Linformer, synthesizer) behind one interface, {@link AttentionFn}: `(q, k, v, { mask, causal, keyPaddingMask, returnWeights }) →
 * { output, weights? }` with q, k, v shaped `[batch, heads, length, dim]`.
 * @module
 */
export type { AttentionFn, AttentionOptions, AttentionResult } from './types.js';
export { MASKED_SCORE, checkQKV, checkMasks, causalMask, invertMask, keyPaddingFromLengths, graphMask, denseAllowed, maskedSoftmax, type QKVDims } from './masks.js';
export { scaledDotProductAttention, fullAttention, type FullAttentionOptions } from './full.js';
export { flashAttention, flashAttentionAvailable, useFusedAttention, FLASH_MAX_HEAD_DIM, type FlashAttentionOptions } from './flash-webgpu.js';
export { AdditiveAttention, type AdditiveAttentionOptions } from './additive.js';
export { MultiHeadAttention, type MultiHeadAttentionOptions, type MultiHeadForwardOptions, type MultiHeadResult } from './multi-head.js';
export { buildLayout, layoutToMask, blockSparseAttention, LayoutCache, type SparseLayout, type PatternSpec } from './block-sparse.js';
export {
  sparseAttention,
  patternLayout,
  patternMask,
  perHead,
  prependTokens,
  type SparsePatternOptions,
  type LocalPattern,
  type StridedPattern,
  type GlobalPattern,
} from './patterns.js';
export { localAttention, type LocalAttentionOptions } from './local.js';
export { stridedAttention, type StridedAttentionOptions } from './strided.js';
export { globalAttention, type GlobalAttentionOptions } from './global.js';
export { clusteredAttention, type ClusterChunking } from './clustered.js';
export { lshAttention, lshBuckets, lshRotations, type LSHAttentionOptions } from './lsh.js';
export { KMeansRouting, type KMeansRoutingOptions } from './kmeans-routing.js';
export { eluFeatureMap, reluFeatureMap, favorFeatureMap, type FeatureMap, type FavorOptions } from './feature-maps.js';
export { linearAttention, linearAttentionQuadratic, resolveFeatureMap, type LinearAttentionOptions } from './linear.js';
export { linformerAttention, Linformer, type LinformerOptions } from './linformer.js';
export { RandomSynthesizer, DenseSynthesizer, type SynthesizerOptions } from './synthesizer.js';
export { KVCache, cachedAttention, LinearAttentionState, type KVCacheOptions } from './kv-cache.js';
export { rejectRenamedOptions } from './option-keys.js';
export { heatmapPng, type HeatmapOptions } from './heatmap.js';
export { benchmarkAttention, scalingExponent, formatBenchTable, type BenchVariant, type BenchRow, type BenchOptions } from './benchmark.js';
