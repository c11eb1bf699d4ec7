// @dl/attention in the Node demo: the benchmark table (time and peak tensor bytes of every variant) for a
// small range of N on the active backend, and PNG heatmaps of each attention pattern's weights.
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '@dl/core';
import {
  benchmarkAttention,
  favorFeatureMap,
  formatBenchTable,
  globalAttention,
  heatmapPng,
  KMeansRouting,
  linearAttention,
  Linformer,
  localAttention,
  lshAttention,
  RandomSynthesizer,
  scaledDotProductAttention,
  sparseAttention,
  stridedAttention,
} from '@dl/attention';

const DEFAULT_OUT = fileURLToPath(new URL('../../out/attention/', import.meta.url));

/**
 * Prints the benchmark table and writes one heatmap per pattern.
 * @param {{ quick?: boolean, outDir?: string }} options
 */
export async function run({ quick = false, outDir = DEFAULT_OUT } = {}) {
  const D = 32;
  const ns = quick ? [128, 256] : [128, 256, 512, 1024];
  console.log(`attention variants on ${tf.getBackend()}: batch 1, 1 head, d = ${D}, N = ${ns.join(', ')} (ms per call / peak MB)`);
  const variants = [
    { name: 'full', attend: scaledDotProductAttention },
    { name: 'local ±16', attend: localAttention({ window: 16 }) },
    { name: 'strided 16 ±4', attend: stridedAttention({ stride: 16, lookBack: 4, lookForward: 4 }) },
    { name: 'global 2 + local ±16', attend: globalAttention({ count: 2, local: { lookBack: 16, lookForward: 16 } }) },
    { name: 'LSH 8 buckets', attend: lshAttention({ nBuckets: 8, chunkSize: 32 }) },
    { name: 'k-means 8 clusters', attend: new KMeansRouting(1, D, 8, { chunkSize: 32 }).eval().attend },
    { name: 'linear elu+1', attend: linearAttention() },
    { name: 'linear causal', attend: linearAttention({ causal: true, chunkSize: 32 }) },
    { name: 'FAVOR+ 32', attend: linearAttention({ featureMap: favorFeatureMap(D, 32) }) },
    { name: 'Linformer k=64', attend: new Linformer(ns[ns.length - 1], 64).attend },
  ];
  const rows = await benchmarkAttention(variants, ns, { dim: D, repeats: quick ? 1 : 3 });
  console.log(formatBenchTable(rows));

  // Heatmaps: the weights each pattern gives on one random sequence (rows = queries, columns = keys).
  mkdirSync(outDir, { recursive: true });
  const L = 48;
  const rng = new Rng(7);
  const x = tf.tensor(rng.normalArray(L * 8), [1, 1, L, 8]);
  const synth = new RandomSynthesizer(1, L, { rng });
  const patterns = {
    full: scaledDotProductAttention,
    'full-causal': (q, k, v, o) => scaledDotProductAttention(q, k, v, { ...o, causal: true }),
    local: localAttention({ window: 4 }),
    'local-causal': localAttention({ window: 6, causal: true }),
    strided: stridedAttention({ stride: 6, lookBack: 3, lookForward: 3 }),
    global: globalAttention({ count: 2 }),
    'global-local': globalAttention({ count: 2, local: { lookBack: 3, lookForward: 3 } }),
    'global-local-strided': sparseAttention({ global: { positions: [0, 24] }, local: { lookBack: 2, lookForward: 2 }, strided: { stride: 8, lookBack: 2, lookForward: 2 } }),
    'lsh-4-buckets': lshAttention({ nBuckets: 4, chunkSize: 48 }),
    'kmeans-4-clusters': new KMeansRouting(1, 8, 4, { chunkSize: 48, rng }).eval().attend,
    'linear-elu': linearAttention(),
    synthesizer: synth.attend,
  };
  for (const [name, attend] of Object.entries(patterns)) {
    const { output, weights } = attend(x, x, x, { returnWeights: true });
    const w2 = tf.reshape(weights, [L, L]);
    writeFileSync(`${outDir}/${name}.png`, await heatmapPng(w2, { cellSize: 6 }));
    tf.dispose([output, weights, w2]);
  }
  tf.dispose(x);
  synth.dispose();
  console.log(`heatmaps of ${Object.keys(patterns).length} patterns (${L}×${L}, weights of one random sequence) in ${outDir}`);
}
