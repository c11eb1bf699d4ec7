// The option names every public options object of the package accepts (the compiler keeps each list
// complete: a key added to an interface must be added here), and the check that rejects the others.
import { asIs, DLArgumentError } from '@dl/core';
import type { AttentionOptions } from './types.js';
import type { FullAttentionOptions } from './full.js';
import type { LocalAttentionOptions } from './local.js';
import type { StridedAttentionOptions } from './strided.js';
import type { GlobalAttentionOptions } from './global.js';
import type { GlobalPattern, LocalPattern, SparsePatternOptions, StridedPattern } from './patterns.js';
import type { LSHAttentionOptions } from './lsh.js';
import type { KMeansRoutingOptions } from './kmeans-routing.js';
import type { FavorOptions } from './feature-maps.js';
import type { LinearAttentionOptions } from './linear.js';
import type { LinformerOptions } from './linformer.js';
import type { SynthesizerOptions } from './synthesizer.js';
import type { AdditiveAttentionOptions } from './additive.js';
import type { MultiHeadAttentionOptions, MultiHeadForwardOptions } from './multi-head.js';
import type { KVCacheOptions } from './kv-cache.js';
import type { HeatmapOptions } from './heatmap.js';
import type { BenchOptions } from './benchmark.js';
import type { ClusterChunking } from './clustered.js';
import type { PatternSpec } from './block-sparse.js';

const keys = <T>(set: Record<keyof T, true>): readonly string[] => Object.keys(set);

/** Per-call options of every attention variant. */
export const ATTENTION_KEYS = keys<AttentionOptions>({ mask: true, keyPaddingMask: true, causal: true, returnWeights: true });
/** What scaledDotProductAttention adds. */
export const FULL_EXTRA_KEYS = keys<Omit<FullAttentionOptions, keyof AttentionOptions>>({ scale: true, dropout: true, training: true, rng: true, scoreBias: true });
export const FULL_KEYS = [...ATTENTION_KEYS, ...FULL_EXTRA_KEYS];
export const LOCAL_KEYS = keys<LocalAttentionOptions>({ window: true, lookBack: true, lookForward: true, causal: true, scale: true, blockSize: true });
export const STRIDED_KEYS = keys<StridedAttentionOptions>({ stride: true, lookBack: true, lookForward: true, causal: true, scale: true, blockSize: true });
export const GLOBAL_KEYS = keys<GlobalAttentionOptions>({ positions: true, count: true, local: true, strided: true, causal: true, scale: true, blockSize: true });
export const SPARSE_KEYS = keys<SparsePatternOptions>({ local: true, strided: true, global: true, causal: true, scale: true, blockSize: true });
export const LOCAL_PATTERN_KEYS = keys<LocalPattern>({ lookBack: true, lookForward: true });
export const STRIDED_PATTERN_KEYS = keys<StridedPattern>({ stride: true, lookBack: true, lookForward: true });
export const GLOBAL_PATTERN_KEYS = keys<GlobalPattern>({ positions: true, count: true });
export const LSH_KEYS = keys<LSHAttentionOptions>({ nBuckets: true, chunkSize: true, seed: true, causal: true, scale: true });
export const KMEANS_KEYS = keys<KMeansRoutingOptions>({ decay: true, chunkSize: true, causal: true, scale: true, rng: true });
export const FAVOR_KEYS = keys<FavorOptions>({ seed: true, orthogonal: true });
export const LINEAR_KEYS = keys<LinearAttentionOptions>({ featureMap: true, causal: true, chunkSize: true, eps: true });
export const LINEAR_STATE_KEYS = keys<Pick<LinearAttentionOptions, 'featureMap' | 'eps'>>({ featureMap: true, eps: true });
export const LINFORMER_KEYS = keys<LinformerOptions>({ shareKV: true, rng: true });
export const SYNTHESIZER_KEYS = keys<SynthesizerOptions>({ rng: true });
export const ADDITIVE_KEYS = keys<AdditiveAttentionOptions>({ bias: true, rng: true });
export const MHA_KEYS = keys<MultiHeadAttentionOptions>({ kdim: true, vdim: true, bias: true, addBiasKV: true, dropout: true, attention: true, rng: true });
export const MHA_FORWARD_KEYS = keys<MultiHeadForwardOptions>({ mask: true, scoreBias: true, keyPaddingMask: true, causal: true, returnWeights: true, averageAttnWeights: true, cache: true });
export const KV_CACHE_KEYS = keys<KVCacheOptions>({ window: true });
export const GRAPH_MASK_KEYS = ['undirected', 'selfLoops'] as const;
export const HEATMAP_KEYS = keys<HeatmapOptions>({ cellSize: true, max: true });
export const BENCH_KEYS = keys<BenchOptions>({ batch: true, heads: true, dim: true, repeats: true, onRow: true });
export const CHUNKING_KEYS = keys<ClusterChunking>({ chunkSize: true, lookBack: true, lookForward: true });
export const PATTERN_SPEC_KEYS = keys<PatternSpec>({ lq: true, lk: true, candidates: true, isDense: true, order: true, blockSize: true, causal: true });

/**
 * Option names that `MultiHeadAttention.forward` used to take, and what replaces each. `attnMask` meant
 * the opposite of `mask` (true = blocked, as `nn.MultiheadAttention`), so it is refused with this
 * text rather than kept as an alias: one name, one meaning (see the README's "Masks").
 */
const RENAMED_OPTIONS: Readonly<Record<string, string>> = {
  attnMask:
    'passed as `mask`, where true = may attend: the inverse of attnMask (invertMask(attnMask) converts a PyTorch boolean mask; float scores added before the softmax go in `scoreBias`)',
  needWeights: 'passed as `returnWeights` (the same meaning)',
};

/** Throws for the first key of `options` that is an old, renamed option name (see RENAMED_OPTIONS). */
function rejectRenamed(where: string, options: object, known: readonly string[], path: string): void {
  for (const k of Object.keys(options)) {
    if (!known.includes(k) && Object.hasOwn(RENAMED_OPTIONS, k)) throw new DLArgumentError(where, `${path}.${k}`, RENAMED_OPTIONS[k]!, asIs(`${k}, an old option name`));
  }
}

/**
 * Refuses the option names the attention API no longer takes (`attnMask`, `needWeights`) with a message
 * saying what replaces each, for option objects of packages built on `@dl/attention` that otherwise
 * accept any key. A no-op for `undefined` and for objects without those keys.
 *
 * @example
 * ```ts
 * import { rejectRenamedOptions } from '@dl/attention';
 * rejectRenamedOptions('myLayer.forward', { returnWeights: true }); // fine
 * rejectRenamedOptions('myLayer.forward', { needWeights: true }); // throws "myLayer.forward: options.needWeights must be passed as `returnWeights` …"
 * ```
 */
export function rejectRenamedOptions(where: string, options: object | undefined): void {
  if (options != null && typeof options === 'object') rejectRenamed(where, options, [], 'options');
}

/**
 * Throws a {@link DLArgumentError} naming `path.key` and the valid keys for the first key of `options`
 * not in `known` (`undefined` options pass; a non-object is refused). The message reads as `@dl/core`'s
 * `checkKeys`, with a path for nested objects (`options.local.lookback`); an old, renamed option name
 * (`attnMask`, `needWeights`) gets a message saying what replaces it.
 */
export function checkOptionKeys(where: string, options: unknown, known: readonly string[], path = 'options'): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new DLArgumentError(where, path, 'an object', options);
  rejectRenamed(where, options, known, path);
  for (const k of Object.keys(options)) {
    if (!known.includes(k)) throw new DLArgumentError(where, `${path}.${k}`, `one of the known options (${known.join(', ')})`, k);
  }
}
