/** What the page says about each attention variant of @dl/attention (kept free of tfjs, so the page chunk stays small). */

/** Head h learns to copy the value SHIFTS[h] positions back. */
export const SHIFTS = [1, 2, 3, 5];

export interface VariantInfo {
  id: string;
  label: string;
  /** Time and memory in the sequence length N, with this page's settings. */
  cost: string;
  /** The paper. */
  ref: string;
}

export const VARIANTS: VariantInfo[] = [
  { id: 'full', label: 'full', cost: 'O(N²) time and memory', ref: 'Vaswani et al. 2017' },
  { id: 'local', label: 'local (window ±8)', cost: 'O(N·w), w = 17 keys per query', ref: 'sliding window, Beltagy et al. 2020' },
  { id: 'strided', label: 'strided (stride 8, ±3 steps) + local ±4', cost: 'O(N·(w + 2s′)), here ≈ O(N·16); √N-wide strides give O(N√N)', ref: 'Child et al. 2019' },
  { id: 'global', label: 'global (2 tokens) + local ±4', cost: 'O(N·(w + g)) plus O(N·g) for the global rows', ref: 'Longformer, Beltagy et al. 2020' },
  { id: 'lsh', label: 'LSH (4 buckets, chunks of 16)', cost: 'O(N·c) attention + O(N log N) sort', ref: 'Reformer, Kitaev et al. 2020' },
  { id: 'kmeans', label: 'k-means routing (4 clusters, chunks of 16)', cost: 'O(N·c + N·k)', ref: 'Routing Transformer, Roy et al. 2021' },
  { id: 'linear', label: 'linear (elu + 1 feature map)', cost: 'O(N·d²) (weights shown via the O(N²) form)', ref: 'Katharopoulos et al. 2020' },
  { id: 'linformer', label: 'Linformer (k = 16)', cost: 'O(N·k); weights are over the k projected keys', ref: 'Wang et al. 2020' },
];

