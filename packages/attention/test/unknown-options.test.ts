// Unknown option keys are rejected everywhere, naming the valid ones (a misspelt `lookback` or a PyTorch
// `need_weights` used to run with the defaults).
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import {
  AdditiveAttention,
  benchmarkAttention,
  blockSparseAttention,
  buildLayout,
  cachedAttention,
  checkQKV,
  clusteredAttention,
  DenseSynthesizer,
  favorFeatureMap,
  fullAttention,
  globalAttention,
  graphMask,
  heatmapPng,
  KMeansRouting,
  KVCache,
  LinearAttentionState,
  linearAttention,
  linearAttentionQuadratic,
  Linformer,
  linformerAttention,
  localAttention,
  lshAttention,
  MultiHeadAttention,
  patternLayout,
  perHead,
  RandomSynthesizer,
  rejectRenamedOptions,
  scaledDotProductAttention,
  sparseAttention,
  stridedAttention,
} from '../src/index.js';

const x = () => tf.zeros([1, 2, 4, 3]);
const known = (list: string) => `one of the known options \\(${list.replace(/[()]/g, '\\$&')}\\)`;

const cases: [string, () => unknown, RegExp][] = [
  ['scaledDotProductAttention({ is_causal })', () => scaledDotProductAttention(x(), x(), x(), { is_causal: true } as never), new RegExp(`^scaledDotProductAttention: options\\.is_causal must be ${known('mask, keyPaddingMask, causal, returnWeights, scale, dropout, training, rng, scoreBias')}`)],
  ['fullAttention({ dropout_p })', () => fullAttention({ dropout_p: 0.1 } as never), /^fullAttention: options\.dropout_p must be one of the known options \(mask, keyPaddingMask, causal, returnWeights, scale, dropout, training, rng, scoreBias\)/],
  ['an AttentionFn per call ({ needWeights }, the old name)', () => localAttention({ window: 1 })(x(), x(), x(), { needWeights: true } as never), /^localAttention: options\.needWeights must be passed as `returnWeights` \(the same meaning\), got needWeights, an old option name/],
  ['linear per call ({ attnMask }, the old name)', () => linearAttention()(x(), x(), x(), { attnMask: null } as never), /^linearAttention: options\.attnMask must be passed as `mask`, where true = may attend: the inverse of attnMask/],
  ['an AttentionFn per call ({ need_weights })', () => localAttention({ window: 1 })(x(), x(), x(), { need_weights: true } as never), new RegExp(`^localAttention: options\\.need_weights must be ${known('mask, keyPaddingMask, causal, returnWeights')}`)],
  ['perHead per call', () => perHead([scaledDotProductAttention, scaledDotProductAttention])(x(), x(), x(), { weights: true } as never), /^perHead: options\.weights must be one of the known options/],
  ['localAttention({ lookback })', () => localAttention({ lookback: 2 } as never), /^localAttention: options\.lookback must be one of the known options \(window, lookBack, lookForward, causal, scale, blockSize\)/],
  ['stridedAttention({ step })', () => stridedAttention({ stride: 2, lookBack: 1, lookForward: 1, step: 2 } as never), /^stridedAttention: options\.step must be one of the known options \(stride, lookBack, lookForward, causal, scale, blockSize\)/],
  ['globalAttention({ tokens })', () => globalAttention({ count: 1, tokens: 2 } as never), /^globalAttention: options\.tokens must be one of the known options \(positions, count, local, strided, causal, scale, blockSize\)/],
  ['sparseAttention({ dilated })', () => sparseAttention({ local: { lookBack: 1, lookForward: 1 }, dilated: {} } as never), /^sparseAttention: options\.dilated must be one of the known options \(local, strided, global, causal, scale, blockSize\)/],
  ['sparseAttention({ local: { lookback } })', () => sparseAttention({ local: { lookBack: 1, lookForward: 1, lookback: 2 } } as never), /^sparseAttention: options\.local\.lookback must be one of the known options \(lookBack, lookForward\)/],
  ['sparseAttention({ strided: { dilation } })', () => sparseAttention({ strided: { stride: 2, lookBack: 1, lookForward: 1, dilation: 2 } } as never), /^sparseAttention: options\.strided\.dilation must be one of the known options \(stride, lookBack, lookForward\)/],
  ['globalAttention({ local: { window } })', () => globalAttention({ count: 1, local: { window: 2 } } as never), /^globalAttention: options\.local\.window must be one of the known options \(lookBack, lookForward\)/],
  ['patternLayout({ global: { n } })', () => patternLayout({ global: { n: 1 } } as never, 4, 4), /^patternLayout: options\.global\.n must be one of the known options \(positions, count\)/],
  ['lshAttention({ n_buckets })', () => lshAttention({ nBuckets: 2, n_buckets: 4 } as never), /^lshAttention: options\.n_buckets must be one of the known options \(nBuckets, chunkSize, seed, causal, scale\)/],
  ['KMeansRouting({ momentum })', () => new KMeansRouting(1, 3, 2, { momentum: 0.9 } as never), /^KMeansRouting: options\.momentum must be one of the known options \(decay, chunkSize, causal, scale, rng\)/],
  ['favorFeatureMap({ orthogonalize })', () => favorFeatureMap(3, 4, { orthogonalize: false } as never), /^favorFeatureMap: options\.orthogonalize must be one of the known options \(seed, orthogonal\)/],
  ['linearAttention({ feature_map })', () => linearAttention({ feature_map: 'relu' } as never), /^linearAttention: options\.feature_map must be one of the known options \(featureMap, causal, chunkSize, eps\)/],
  ['linearAttentionQuadratic config', () => linearAttentionQuadratic(x(), x(), x(), { epsilon: 1 } as never), /^linearAttentionQuadratic: options\.epsilon must be one of the known options \(featureMap, causal, chunkSize, eps\)/],
  ['LinearAttentionState({ causal })', () => new LinearAttentionState({ causal: true } as never), /^LinearAttentionState: options\.causal must be one of the known options \(featureMap, eps\)/],
  ['Linformer({ share_kv })', () => new Linformer(8, 2, { share_kv: true } as never), /^Linformer: options\.share_kv must be one of the known options \(shareKV, rng\)/],
  ['linformerAttention({ kProj })', () => linformerAttention(x(), x(), x(), tf.ones([2, 4]), tf.ones([2, 4]), { kProj: 2 } as never), /^linformerAttention: options\.kProj must be one of the known options \(mask, keyPaddingMask, causal, returnWeights, scale\)/],
  ['RandomSynthesizer({ seed })', () => new RandomSynthesizer(2, 4, { seed: 1 } as never), /^RandomSynthesizer: options\.seed must be one of the known options \(rng\)/],
  ['DenseSynthesizer({ seed })', () => new DenseSynthesizer(3, 4, 5, { seed: 1 } as never), /^DenseSynthesizer: options\.seed must be one of the known options \(rng\)/],
  ['AdditiveAttention({ useBias })', () => new AdditiveAttention(3, 4, { useBias: false } as never), /^AdditiveAttention: options\.useBias must be one of the known options \(bias, rng\)/],
  ['MultiHeadAttention({ batch_first })', () => new MultiHeadAttention(4, 2, { batch_first: true } as never), /^MultiHeadAttention: options\.batch_first must be one of the known options \(kdim, vdim, bias, addBiasKV, dropout, attention, rng\)/],
  [
    'MultiHeadAttention.forward({ need_weights })',
    () => new MultiHeadAttention(4, 2).forward(tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), { need_weights: true } as never),
    /^MultiHeadAttention: options\.need_weights must be one of the known options \(mask, scoreBias, keyPaddingMask, causal, returnWeights, averageAttnWeights, cache\)/,
  ],
  [
    'MultiHeadAttention.forward({ attnMask }), the old name with the opposite meaning',
    () => new MultiHeadAttention(4, 2).forward(tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), { attnMask: tf.zeros([2, 2], 'bool') } as never),
    /^MultiHeadAttention: options\.attnMask must be passed as `mask`, where true = may attend: the inverse of attnMask \(invertMask\(attnMask\) converts a PyTorch boolean mask; float scores added before the softmax go in `scoreBias`\), got attnMask, an old option name$/,
  ],
  [
    'MultiHeadAttention.forward({ needWeights }), the old name',
    () => new MultiHeadAttention(4, 2).forward(tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), tf.zeros([1, 2, 4]), { needWeights: true } as never),
    /^MultiHeadAttention: options\.needWeights must be passed as `returnWeights` \(the same meaning\), got needWeights, an old option name$/,
  ],
  ['rejectRenamedOptions({ needWeights })', () => rejectRenamedOptions('myLayer.forward', { needWeights: true }), /^myLayer\.forward: options\.needWeights must be passed as `returnWeights`/],
  ['KVCache({ size })', () => new KVCache({ size: 4 } as never), /^KVCache: options\.size must be one of the known options \(window\)/],
  ['cachedAttention({ window })', () => cachedAttention(x(), x(), x(), new KVCache(), undefined, { window: 2 } as never), /^cachedAttention: options\.window must be one of the known options \(mask, keyPaddingMask, causal, returnWeights\)/],
  ['graphMask({ directed })', () => graphMask(3, [[0, 1]], { directed: true } as never), /^graphMask: options\.directed must be one of the known options \(undirected, selfLoops\)/],
  ['heatmapPng({ cell })', () => heatmapPng(tf.zeros([2, 2]), { cell: 4 } as never), /^heatmapPng: options\.cell must be one of the known options \(cellSize, max\)/],
  ['benchmarkAttention({ reps })', () => benchmarkAttention([{ name: 'full', attend: scaledDotProductAttention }], [4], { reps: 1 } as never), /^benchmarkAttention: options\.reps must be one of the known options \(batch, heads, dim, repeats, onRow\)/],
  [
    'clusteredAttention chunking { size }',
    () => clusteredAttention('c', x(), x(), x(), checkQKV('c', x(), x(), x()), tf.zeros([1, 2, 4], 'int32'), tf.zeros([1, 2, 4], 'int32'), 1, { chunkSize: 2, lookBack: 1, lookForward: 1, size: 2 } as never, 1, {}),
    /^c: chunking\.size must be one of the known options \(chunkSize, lookBack, lookForward\)/,
  ],
  ['blockSparseAttention per call', () => blockSparseAttention('b', x(), x(), x(), checkQKV('b', x(), x(), x()), patternLayout({ local: { lookBack: 1, lookForward: 1 } }, 4, 4), 1, { dense: true } as never), /^b: options\.dense must be one of the known options/],
  ['buildLayout({ block })', () => buildLayout({ lq: 2, lk: 2, candidates: (i: number) => [i], blockSize: 1, causal: false, block: 2 } as never), /^buildLayout: spec\.block must be one of the known options \(lq, lk, candidates, isDense, order, blockSize, causal\)/],
];

describe('unknown option keys are rejected, naming the valid ones', () => {
  for (const [label, run, message] of cases) {
    it(label, async () => {
      tf.engine().startScope();
      try {
        let error: unknown = null;
        try {
          await run();
        } catch (e) {
          error = e;
        }
        expect(error, `${label} should throw`).toBeInstanceOf(Error);
        expect((error as Error).message).toMatch(message);
      } finally {
        tf.engine().endScope();
      }
    });
  }

  it('known keys, and keys set to undefined, are accepted', async () => {
    await assertNoLeaks(async () => {
      const q = x();
      const r = scaledDotProductAttention(q, q, q, { causal: true, mask: undefined, scale: undefined, returnWeights: false });
      const s = localAttention({ window: 1, lookBack: undefined, causal: undefined })(q, q, q, { keyPaddingMask: undefined });
      const mha = new MultiHeadAttention(4, 2, { kdim: undefined, bias: true });
      const y = tf.zeros([1, 2, 4]);
      const m = mha.forward(y, y, y, { returnWeights: false, mask: undefined, cache: undefined });
      tf.dispose([q, y, r.output, s.output, m.output]);
      mha.dispose();
    });
  });
});
