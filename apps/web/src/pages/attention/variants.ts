/** Builds the attention variants of @dl/attention with this page's settings (listed in info.ts). */
import type * as tf from '@tensorflow/tfjs-core';
import { VARIANTS } from './info';
import {
  globalAttention, KMeansRouting, linearAttention, Linformer, localAttention, lshAttention, scaledDotProductAttention, sparseAttention, type AttentionFn,
} from '@dl/attention';

/** An attention function for `variant` and the trainable variables it owns (Linformer's projections). */
export function makeVariant(id: string, maxLen: number, heads: number, dim: number): { attend: AttentionFn; params: tf.Variable[]; dispose(): void } {
  const plain = (attend: AttentionFn) => ({ attend, params: [], dispose() {} });
  switch (id) {
    case 'full':
      return plain(scaledDotProductAttention);
    case 'local':
      return plain(localAttention({ window: 8 }));
    case 'strided':
      return plain(sparseAttention({ local: { lookBack: 4, lookForward: 4 }, strided: { stride: 8, lookBack: 3, lookForward: 3 } }));
    case 'global':
      return plain(globalAttention({ count: 2, local: { lookBack: 4, lookForward: 4 } }));
    case 'lsh':
      return plain(lshAttention({ nBuckets: 4, chunkSize: 16 }));
    case 'kmeans': {
      const routing = new KMeansRouting(heads, dim, 4, { chunkSize: 16 });
      return { attend: (q, k, v, o) => routing.forward(q, k, v, o), params: [], dispose: () => routing.dispose() };
    }
    case 'linear':
      return plain(linearAttention());
    case 'linformer': {
      const lin = new Linformer(maxLen, 16);
      return { attend: (q, k, v, o) => lin.forward(q, k, v, o), params: lin.parameters() as tf.Variable[], dispose: () => lin.dispose() };
    }
    default:
      throw new Error(`unknown attention variant '${id}'; valid: ${VARIANTS.map((v) => v.id).join(', ')}`);
  }
}
