import * as tf from '@tensorflow/tfjs-core';
import { asIs, checkKeys, checkNumber, checkShape, DLArgumentError } from './errors.js';
import { canCheckValues } from './sync-read.js';
import { ensureGradients } from './gradients.js';

/** How a loss reduces over elements: average, total, or per element. */
export type Reduction = 'mean' | 'sum' | 'none';

/**
 * What a loss returns for reduction `R`: a `tf.Scalar` for `'mean'` (the default) and `'sum'`, a tensor
 * of per-element losses for `'none'`. So `optimizer.minimize(() => crossEntropy(logits, y))` type-checks
 * without a cast, while a `'none'` loss must be reduced first. A reduction only known at run time (a
 * {@link Reduction} variable) gives `tf.Tensor`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { mseLoss, type LossOutput } from '@dl/core';
 * const mean: LossOutput<'mean'> = mseLoss(tf.tensor1d([1, 2]), tf.tensor1d([1, 0])); // tf.Scalar, 2
 * const each: LossOutput<'none'> = mseLoss(tf.tensor1d([1, 2]), tf.tensor1d([1, 0]), { reduction: 'none' }); // [0, 4]
 * ```
 */
export type LossOutput<R extends Reduction> = R extends 'none' ? tf.Tensor : tf.Scalar;

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-class weights `[C]`. */
  weight?: tf.Tensor;
  /** Targets equal to this index contribute nothing (class-index targets only). Default -100. */
  ignoreIndex?: number;
  /** Default `'mean'`: with class indices, Σ wᵧ·lossᵢ / Σ wᵧ over non-ignored targets, as PyTorch. */
  reduction?: Reduction;
  /** ε in [0, 1]: mix the target with the uniform distribution, (1−ε)·target + ε/C. Default 0. */
  labelSmoothing?: number;
}

const CE_KEYS = ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing'] as const satisfies readonly (keyof CrossEntropyOptions)[];

/** Options of {@link binaryCrossEntropy}. */
export interface BinaryCrossEntropyOptions {
  /** Per-element weights, broadcastable to the input. */
  weight?: tf.Tensor;
  /** Default `'mean'`. */
  reduction?: Reduction;
}

const BCE_KEYS = ['weight', 'reduction'] as const satisfies readonly (keyof BinaryCrossEntropyOptions)[];

/** Options of {@link binaryCrossEntropyWithLogits}. */
export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive term per class (broadcast over the last axis), as PyTorch's `pos_weight`. */
  posWeight?: tf.Tensor;
}

const BCEL_KEYS = ['weight', 'posWeight', 'reduction'] as const satisfies readonly (keyof BinaryCrossEntropyWithLogitsOptions)[];

/** Options of {@link mseLoss}. */
export interface MSELossOptions {
  /** Default `'mean'`. */
  reduction?: Reduction;
}

const MSE_KEYS = ['reduction'] as const satisfies readonly (keyof MSELossOptions)[];

/**
 * Cross-entropy of unnormalised `logits` `[..., C]` (classes on the **last** axis, tfjs's layout; PyTorch
 * puts them on axis 1) against either integer class indices `[...]` (int32) or class probabilities
 * `[..., C]` (float32). Follows `torch.nn.functional.cross_entropy` exactly, including how label
 * smoothing, class weights and `ignoreIndex` combine under each reduction. On cpu, wasm and tfjs-node an
 * index outside [0, C) (other than `ignoreIndex`) throws; GPU backends skip that check, since it would
 * need a synchronous read. Unknown option keys throw. Per element, with class weights $w$ and label
 * smoothing $\varepsilon$ over $C$ classes (an index target $y$ is the one-hot $q$; PyTorch's placement of the weights):
 *
 * $$
 * \ell = -\sum_{c=1}^{C} w_c\, \tilde q_c \log \frac{e^{z_c}}{\sum_{c'} e^{z_{c'}}}, \qquad \tilde q_c = (1-\varepsilon)\, q_c + \frac{\varepsilon}{C}
 * $$
 *
 * and `'mean'` divides by $\sum w_{y}$ over the non-ignored elements for index targets (by their count for probabilities).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { crossEntropy } from '@dl/core';
 * const logits = tf.tensor2d([[2, 0, 0], [0, 2, 0]]);
 * const loss = crossEntropy(logits, tf.tensor1d([0, 1], 'int32'), { labelSmoothing: 0.1 });
 * ```
 */
export function crossEntropy<R extends Reduction = 'mean'>(logits: tf.Tensor, target: tf.Tensor, options: CrossEntropyOptions & { reduction?: R } = {}): LossOutput<R> {
  ensureGradients(); // losses are where training starts: register tfjs-core's gradients on first use
  checkKeys('crossEntropy', options, CE_KEYS);
  checkShape('crossEntropy', 'logits', logits, { minRank: 1, dtype: 'float32' });
  const C = logits.shape[logits.rank - 1];
  const reduction = checkReduction('crossEntropy', options.reduction);
  const eps = checkNumber('crossEntropy', 'labelSmoothing', options.labelSmoothing ?? 0, 0, 1);
  const ignoreIndex = options.ignoreIndex ?? -100;
  if (options.weight) checkShape('crossEntropy', 'weight', options.weight, { rank: 1, dims: { 0: C } });
  const lead = logits.shape.slice(0, -1);

  if (target.dtype === 'float32') {
    if (target.shape.join(',') !== logits.shape.join(',')) {
      throw new DLArgumentError('crossEntropy', 'target', `class probabilities of shape [${logits.shape.join(',')}] (or int32 indices of shape [${lead.join(',')}])`, target);
    }
    return tf.tidy((): tf.Tensor => {
      const logp = tf.logSoftmax(logits); // [..., C]
      const t = eps > 0 ? tf.add(tf.mul(target, 1 - eps), eps / C) : target;
      const w = options.weight ? tf.mul(logp, options.weight) : logp;
      const perItem = tf.neg(tf.sum(tf.mul(w, t), -1)); // [...]
      if (reduction === 'none') return perItem;
      return reduction === 'sum' ? tf.sum(perItem) : tf.div(tf.sum(perItem), Math.max(perItem.size, 1));
    }) as LossOutput<R>;
  }
  if (target.dtype !== 'int32' || target.shape.join(',') !== lead.join(',')) {
    throw new DLArgumentError('crossEntropy', 'target', `int32 class indices of shape [${lead.join(',')}] (or float32 probabilities of shape [${logits.shape.join(',')}])`, target);
  }
  checkTargetRange(target, C, ignoreIndex);
  return tf.tidy((): tf.Tensor => {
    const logp = tf.logSoftmax(logits); // [..., C]
    const valid = tf.cast(tf.notEqual(target, ignoreIndex), 'float32'); // [...]
    const safe = tf.where(tf.notEqual(target, ignoreIndex), target, tf.zerosLike(target)); // [...]
    // tf.oneHot (int32, then cast: wasm's OneHot ignores a float32 dtype) refuses C = 1; wasm's broadcast
    // `equal` is ~100 ns per element (6 ms for nanoGPT's 768 × 65 targets), so it is only the fallback.
    const onehot = C >= 2 ? tf.oneHot(tf.reshape(safe, [-1]), C) : tf.equal(tf.expandDims(safe, -1), tf.range(0, C, 1, 'int32')); // [n, C] int32 or [..., C] bool
    const wTarget = options.weight ? tf.mul(tf.gather(options.weight, safe), valid) : valid; // [...] w_y or 0
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.reshape(tf.cast(onehot, 'float32'), logp.shape)), -1)); // [...]
    const nllW = tf.mul(nll, wTarget); // [...]
    const smooth = eps > 0 ? tf.mul(tf.neg(tf.sum(options.weight ? tf.mul(logp, options.weight) : logp, -1)), valid) : null; // [...]
    const combine = (a: tf.Tensor, b: tf.Tensor | null) => (b ? tf.add(tf.mul(a, 1 - eps), tf.mul(b, eps / C)) : a);
    if (reduction === 'none') return combine(nllW, smooth);
    if (reduction === 'sum') return combine(tf.sum(nllW), smooth && tf.sum(smooth));
    // Σ w_y over non-ignored targets. When every target is ignored PyTorch returns NaN with zero
    // gradients: divide by 1 there (zero gradients) and add a NaN that does not depend on the logits.
    const denom = tf.sum(wTarget); // []
    const empty = tf.equal(denom, 0); // []
    const safeDenom = tf.where(empty, tf.onesLike(denom), denom); // []
    const mean = combine(tf.div(tf.sum(nllW), safeDenom), smooth && tf.div(tf.sum(smooth), safeDenom)); // []
    return tf.add(mean, tf.where(empty, tf.fill([], NaN), tf.zerosLike(denom)));
  }) as LossOutput<R>;
}

/**
 * Binary cross-entropy of probabilities `p` in [0, 1] against targets `y` of the same shape, with log
 * clamped at −100 as PyTorch does (so p = 0 or 1 gives a finite loss). As PyTorch, a `p` outside [0, 1]
 * (or NaN) throws, naming the first such value and its position, on backends that read synchronously
 * (cpu, wasm, tfjs-node). GPU backends (webgpu, webgl) skip that check, since it would need a synchronous
 * read: there such a `p` gives a NaN loss (checked on webgpu), so keep `p` a probability (a sigmoid or
 * softmax output) or use {@link binaryCrossEntropyWithLogits}. Unknown option keys throw. Per element, with
 * the optional `weight` $w$:
 *
 * $$
 * \ell = -w\left(y \max(\log p, -100) + (1-y) \max(\log(1-p), -100)\right)
 * $$
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { binaryCrossEntropy } from '@dl/core';
 * binaryCrossEntropy(tf.tensor1d([0.9, 0.2]), tf.tensor1d([1, 0])); // ≈ 0.1643
 * ```
 */
export function binaryCrossEntropy<R extends Reduction = 'mean'>(p: tf.Tensor, y: tf.Tensor, options: BinaryCrossEntropyOptions & { reduction?: R } = {}): LossOutput<R> {
  ensureGradients();
  checkKeys('binaryCrossEntropy', options, BCE_KEYS);
  sameShape('binaryCrossEntropy', p, y);
  const reduction = checkReduction('binaryCrossEntropy', options.reduction);
  checkProbabilities(p);
  return tf.tidy((): tf.Tensor => {
    const l = bceElementwise(p, y);
    return reduce(options.weight ? tf.mul(l, options.weight) : l, reduction);
  }) as LossOutput<R>;
}

/**
 * $-(y\log p + (1-y)\log(1-p))$ with logs clamped at −100, and PyTorch's backward:
 * $\partial\ell/\partial p = (p - y) / \max(p(1-p), 10^{-12})$, finite even at $p = 0$ or 1 (plain autodiff would give NaN there).
 */
const bceElementwise = (p: tf.Tensor, y: tf.Tensor): tf.Tensor =>
  tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [pp, yy, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const logP = tf.maximum(tf.log(pp), -100);
    const log1mP = tf.maximum(tf.log(tf.sub(1, pp)), -100);
    save([pp, yy, logP, log1mP]);
    return {
      value: tf.neg(tf.add(tf.mul(yy, logP), tf.mul(tf.sub(1, yy), log1mP))),
      gradFunc: (dy: tf.Tensor, [sp, sy, sLogP, sLog1mP]: tf.Tensor[]) => [
        tf.mul(dy, tf.div(tf.sub(sp, sy), tf.maximum(tf.mul(sp, tf.sub(1, sp)), 1e-12))),
        tf.mul(dy, tf.sub(sLog1mP, sLogP)),
      ],
    };
  })(p, y);

/**
 * Binary cross-entropy on logits, computed stably (never through σ then log), as
 * `torch.nn.functional.binary_cross_entropy_with_logits`, with optional `posWeight` $p_c$ per class:
 *
 * $$
 * \ell = -w\left(p_c\, y \log\sigma(x) + (1-y)\log(1-\sigma(x))\right) = w\left((1-y)\,x + (1 + (p_c-1)\,y)\left(\log(1 + e^{-|x|}) + \max(-x, 0)\right)\right)
 * $$
 *
 * (the right-hand side is what is computed: no overflow for any $x$).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { binaryCrossEntropyWithLogits } from '@dl/core';
 * binaryCrossEntropyWithLogits(tf.tensor1d([100, -100]), tf.tensor1d([1, 0])); // 0, no overflow
 * ```
 */
export function binaryCrossEntropyWithLogits<R extends Reduction = 'mean'>(
  logits: tf.Tensor,
  y: tf.Tensor,
  options: BinaryCrossEntropyWithLogitsOptions & { reduction?: R } = {},
): LossOutput<R> {
  ensureGradients();
  checkKeys('binaryCrossEntropyWithLogits', options, BCEL_KEYS);
  sameShape('binaryCrossEntropyWithLogits', logits, y);
  const reduction = checkReduction('binaryCrossEntropyWithLogits', options.reduction);
  return tf.tidy((): tf.Tensor => {
    // log(1 + e^{-x}) = softplus(-x), stable for any x.
    const spNeg = tf.softplus(tf.neg(logits));
    let l: tf.Tensor;
    if (options.posWeight) {
      const lw = tf.add(1, tf.mul(tf.sub(options.posWeight, 1), y)); // 1 + (pw − 1)·y
      l = tf.add(tf.mul(tf.sub(1, y), logits), tf.mul(lw, spNeg));
    } else {
      l = tf.add(tf.mul(tf.sub(1, y), logits), spNeg);
    }
    if (options.weight) l = tf.mul(l, options.weight);
    return reduce(l, reduction);
  }) as LossOutput<R>;
}

/**
 * Mean squared error (or its sum / per-element values): $\ell = (x - y)^2$ per element, $\frac1n\sum \ell$ for `'mean'`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { mseLoss } from '@dl/core';
 * mseLoss(tf.tensor1d([1, 2]), tf.tensor1d([1, 4])); // 2
 * ```
 */
export function mseLoss<R extends Reduction = 'mean'>(input: tf.Tensor, target: tf.Tensor, options: MSELossOptions & { reduction?: R } = {}): LossOutput<R> {
  ensureGradients();
  checkKeys('mseLoss', options, MSE_KEYS);
  sameShape('mseLoss', input, target);
  const reduction = checkReduction('mseLoss', options.reduction);
  return tf.tidy(() => reduce(tf.squaredDifference(input, target), reduction)) as LossOutput<R>;
}

function reduce(l: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'none') return l;
  return reduction === 'sum' ? tf.sum(l) : tf.mean(l);
}

function checkReduction(where: string, r: Reduction | undefined): Reduction {
  const value = r ?? 'mean';
  if (value !== 'mean' && value !== 'sum' && value !== 'none') throw new DLArgumentError(where, 'reduction', "'mean', 'sum' or 'none'", r);
  return value;
}

function sameShape(where: string, a: tf.Tensor, b: tf.Tensor): void {
  checkShape(where, 'input', a, { dtype: 'float32' });
  checkShape(where, 'target', b, { dtype: 'float32' });
  if (a.shape.join(',') !== b.shape.join(',')) throw new DLArgumentError(where, 'target', `of the input's shape [${a.shape.join(',')}]`, b);
}

function checkTargetRange(target: tf.Tensor, C: number, ignoreIndex: number): void {
  // One small read keeps a bad label from silently training on garbage (tf.oneHot would give zeros).
  // GPU backends cannot read synchronously without stalling (WebGPU in Node cannot at all): skipped there.
  if (!canCheckValues()) return;
  const values = target.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== ignoreIndex && (v < 0 || v >= C)) {
      throw new DLArgumentError('crossEntropy', 'target', `class indices in [0, ${C}) or ignoreIndex ${ignoreIndex}`, asIs(`${v} at flat position ${i}`));
    }
  }
}

function checkProbabilities(p: tf.Tensor): void {
  // As torch's "all elements of input should be between 0 and 1"; skipped where a read would stall.
  if (!canCheckValues()) return;
  const values = p.dataSync();
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= 0 && v <= 1)) throw new DLArgumentError('binaryCrossEntropy', 'input', 'probabilities in [0, 1]', asIs(`${v} at flat position ${i}`));
  }
}
