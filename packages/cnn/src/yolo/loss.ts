import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber, DLArgumentError } from '@dl/core';
import { optionKeys, stopGradient } from '../util.js';
import { yoloActivate } from './head.js';

/** A labelled box: corners `[x1, y1, x2, y2]` as fractions of the image width/height, and a class. */
export interface GroundTruthBox {
  /** `[x1, y1, x2, y2]` in [0, 1]. */
  box: [number, number, number, number];
  /** Class index in [0, C). */
  classId: number;
}

/**
 * Encodes labelled boxes into YOLOv1 targets `[N, S, S, 5 + C]`: the cell containing a box's centre
 * holds `(x, y, √w, √h, 1, one-hot class)` with (x, y) the centre's offset inside the cell and (w, h)
 * relative to the image; other cells are zero. As in YOLOv1, one object per cell (a later box in the
 * same cell replaces an earlier one).
 *
 * @throws DLArgumentError when a class id is not in [0, C) (the head's class count) or a box is malformed.
 *
 * @example
 * ```ts
 * import { encodeYoloTargets } from '@dl/cnn';
 * const t = encodeYoloTargets([[{ box: [0.1, 0.1, 0.4, 0.5], classId: 2 }]], { S: 7, C: 20 }); // [1, 7, 7, 25]
 * ```
 */
export function encodeYoloTargets(objects: GroundTruthBox[][], layout: { S: number; C: number }): tf.Tensor4D {
  const S = checkInt('encodeYoloTargets', 'S', layout.S);
  const C = checkInt('encodeYoloTargets', 'C', layout.C);
  if (!Array.isArray(objects)) throw new DLArgumentError('encodeYoloTargets', 'objects', 'an array (per image) of arrays of { box, classId }', objects);
  const D = 5 + C;
  const t = new Float32Array(objects.length * S * S * D);
  objects.forEach((list, n) => {
    for (const [k, o] of list.entries()) {
      const b = o?.box;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => Number.isFinite(v)) || b[2] <= b[0] || b[3] <= b[1] || b[0] < 0 || b[1] < 0 || b[2] > 1 || b[3] > 1) {
        throw new DLArgumentError('encodeYoloTargets', `objects[${n}][${k}].box`, '[x1, y1, x2, y2] with 0 ≤ x1 < x2 ≤ 1 and 0 ≤ y1 < y2 ≤ 1', b);
      }
      if (!Number.isInteger(o.classId) || o.classId < 0 || o.classId >= C) {
        throw new DLArgumentError('encodeYoloTargets', `objects[${n}][${k}].classId`, `a class index in [0, ${C}) (the head has C = ${C} classes)`, o.classId);
      }
      const cx = (b[0] + b[2]) / 2;
      const cy = (b[1] + b[3]) / 2;
      const col = Math.min(Math.floor(cx * S), S - 1);
      const row = Math.min(Math.floor(cy * S), S - 1);
      const at = ((n * S + row) * S + col) * D;
      t.fill(0, at, at + D);
      t.set([cx * S - col, cy * S - row, Math.sqrt(b[2] - b[0]), Math.sqrt(b[3] - b[1]), 1], at);
      t[at + 5 + o.classId] = 1;
    }
  });
  return tf.tensor4d(t, [objects.length, S, S, D]);
}

/** Options of {@link yoloLoss}. */
export interface YoloLossOptions {
  /** Boxes per cell. */
  B: number;
  /** Classes. */
  C: number;
  /** Weight of the coordinate terms, λ_coord. Default 5 (the paper). */
  lambdaCoord?: number;
  /** Weight of the confidence term of boxes without objects, λ_noobj. Default 0.5 (the paper). */
  lambdaNoobj?: number;
  /** Confidence target of the responsible box: its IoU with the truth (`'iou'`, the paper) or 1. */
  confTarget?: 'iou' | 'one';
}

const LOSS_KEYS = optionKeys<YoloLossOptions>()(['B', 'C', 'lambdaCoord', 'lambdaNoobj', 'confTarget']);

/** The terms of the YOLOv1 loss, each summed over the batch and divided by the batch size. */
export interface YoloLossTerms {
  /** λ_coord Σ 1ᵒᵇʲᵢⱼ [(x − x̂)² + (y − ŷ)²]. */
  xy: tf.Scalar;
  /** λ_coord Σ 1ᵒᵇʲᵢⱼ [(√w − √ŵ)² + (√h − √ĥ)²]. */
  wh: tf.Scalar;
  /** Σ 1ᵒᵇʲᵢⱼ (C − Ĉ)². */
  obj: tf.Scalar;
  /** λ_noobj Σ 1ⁿᵒᵒᵇʲᵢⱼ (C − Ĉ)². */
  noobj: tf.Scalar;
  /** Σ 1ᵒᵇʲᵢ Σ_c (p(c) − p̂(c))². */
  cls: tf.Scalar;
  /** The sum of the terms. */
  total: tf.Scalar;
}

/**
 * Intersection over union of corner boxes `[..., 4]` (x1, y1, x2, y2), broadcasting: the tensor form of
 * {@link boxIou}, differentiable, used by the loss to pick each cell's responsible predictor.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { boxIouTensor } from '@dl/cnn';
 * const a = tf.tensor2d([[0, 0, 2, 2], [0, 0, 1, 1]]); // [2, 4]
 * const b = tf.tensor1d([1, 1, 3, 3]); // [4], broadcast against both rows
 * boxIouTensor(a, b); // [2]: [1/7, 0]
 * ```
 */
export function boxIouTensor(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = tf.unstack(a, -1);
    const [bx1, by1, bx2, by2] = tf.unstack(b, -1);
    const iw = tf.relu(tf.sub(tf.minimum(ax2, bx2), tf.maximum(ax1, bx1)));
    const ih = tf.relu(tf.sub(tf.minimum(ay2, by2), tf.maximum(ay1, by1)));
    const inter = tf.mul(iw, ih);
    const areaA = tf.mul(tf.sub(ax2, ax1), tf.sub(ay2, ay1));
    const areaB = tf.mul(tf.sub(bx2, bx1), tf.sub(by2, by1));
    return tf.div(inter, tf.maximum(tf.sub(tf.add(areaA, areaB), inter), 1e-9));
  });
}

/** Corner boxes `[N, S·S, K, 4]` from cell offsets and √sizes `[N, S·S, K, 4]` (cells row-major). */
function toCorners(xywh: tf.Tensor, S: number): tf.Tensor {
  return tf.tidy(() => {
    const [x, y, sw, sh] = tf.unstack(xywh, -1); // each [N, S·S, K]
    const cols = tf.tensor3d(Array.from({ length: S * S }, (_, i) => i % S), [1, S * S, 1]);
    const rows = tf.tensor3d(Array.from({ length: S * S }, (_, i) => Math.floor(i / S)), [1, S * S, 1]);
    const cx = tf.div(tf.add(x, cols), S);
    const cy = tf.div(tf.add(y, rows), S);
    const w = tf.square(sw);
    const h = tf.square(sh);
    return tf.stack([tf.sub(cx, tf.div(w, 2)), tf.sub(cy, tf.div(h, 2)), tf.add(cx, tf.div(w, 2)), tf.add(cy, tf.div(h, 2))], -1); // [N, S·S, K, 4]
  });
}

/**
 * The YOLOv1 loss (Redmon et al. 2016, eq. 3), term by term. In each cell holding an object, the
 * predictor with the highest IoU with the truth is "responsible": its coordinates and confidence are
 * regressed (confidence to that IoU, or 1); every other predictor's confidence is pushed to 0 with weight
 * λ_noobj; class probabilities are regressed in cells with objects. Sum-squared errors, summed over
 * cells and divided by the batch size:
 *
 * $$
 * \begin{aligned}
 * L ={}& \lambda_{\mathrm{coord}} \sum_{i=0}^{S^2}\sum_{j=0}^{B} \mathbb 1_{ij}^{\mathrm{obj}} \left[(x_i-\hat x_i)^2 + (y_i-\hat y_i)^2\right] + \lambda_{\mathrm{coord}} \sum_{i=0}^{S^2}\sum_{j=0}^{B} \mathbb 1_{ij}^{\mathrm{obj}} \left[\left(\sqrt{w_i}-\sqrt{\hat w_i}\right)^2 + \left(\sqrt{h_i}-\sqrt{\hat h_i}\right)^2\right] \\
 * &+ \sum_{i=0}^{S^2}\sum_{j=0}^{B} \mathbb 1_{ij}^{\mathrm{obj}} (C_i-\hat C_i)^2 + \lambda_{\mathrm{noobj}} \sum_{i=0}^{S^2}\sum_{j=0}^{B} \mathbb 1_{ij}^{\mathrm{noobj}} (C_i-\hat C_i)^2 + \sum_{i=0}^{S^2} \mathbb 1_{i}^{\mathrm{obj}} \sum_{c} \left(p_i(c)-\hat p_i(c)\right)^2
 * \end{aligned}
 * $$
 *
 * @param predictions raw head output `[N, S, S, B·5 + C]` (activated inside, see `yoloActivate`).
 * @param targets from {@link encodeYoloTargets}, `[N, S, S, 5 + C]`.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { yoloLossTerms, encodeYoloTargets } from '@dl/cnn';
 * const target = encodeYoloTargets([[{ box: [0.2, 0.2, 0.6, 0.7], classId: 1 }]], { S: 7, C: 3 });
 * const terms = yoloLossTerms(tf.randomNormal([1, 7, 7, 13]), target, { B: 2, C: 3 });
 * ```
 */
export function yoloLossTerms(predictions: tf.Tensor, targets: tf.Tensor, options: YoloLossOptions): YoloLossTerms {
  checkKeys('yoloLoss', options ?? null, LOSS_KEYS);
  const B = checkInt('yoloLoss', 'B', options?.B);
  const C = checkInt('yoloLoss', 'C', options?.C);
  const lc = checkNumber('yoloLoss', 'lambdaCoord', options.lambdaCoord ?? 5, 0);
  const ln = checkNumber('yoloLoss', 'lambdaNoobj', options.lambdaNoobj ?? 0.5, 0);
  const confTarget = options.confTarget ?? 'iou';
  if (confTarget !== 'iou' && confTarget !== 'one') throw new DLArgumentError('yoloLoss', 'confTarget', "'iou' or 'one'", confTarget);
  if (predictions == null || typeof predictions !== 'object' || !('shape' in predictions) || predictions.rank !== 4 || predictions.shape[1] !== predictions.shape[2] || predictions.shape[3] !== B * 5 + C) {
    throw new DLArgumentError('yoloLoss', 'predictions', `of shape [N, S, S, B·5 + C = ${B * 5 + C}] (B = ${B}, C = ${C})`, predictions);
  }
  const [N, S] = predictions.shape;
  if (targets == null || typeof targets !== 'object' || !('shape' in targets) || targets.rank !== 4 || targets.shape[0] !== N || targets.shape[1] !== S || targets.shape[2] !== S || targets.shape[3] !== 5 + C) {
    const hint = targets?.rank === 4 && targets.shape[3] !== 5 + C ? ` (the targets encode ${(targets.shape[3] as number) - 5} classes, the head C = ${C})` : '';
    throw new DLArgumentError('yoloLoss', 'targets', `of shape [${N}, ${S}, ${S}, 5 + C = ${5 + C}]${hint}`, targets);
  }
  return tf.tidy(() => {
    const { boxes, classes } = yoloActivate(predictions, { B, C }); // [N, S·S, B, 5], [N, S·S, C]
    const t = tf.reshape(targets, [N, S * S, 5 + C]); // [N, S·S, 5+C]
    const tBox = tf.slice(t, [0, 0, 0], [N, S * S, 4]); // [N, S·S, 4]
    const obj = tf.reshape(tf.slice(t, [0, 0, 4], [N, S * S, 1]), [N, S * S]); // [N, S·S]
    const tCls = tf.slice(t, [0, 0, 5], [N, S * S, C]); // [N, S·S, C]
    const pXywh = tf.slice(boxes, [0, 0, 0, 0], [N, S * S, B, 4]); // [N, S·S, B, 4]
    const pConf = tf.reshape(tf.slice(boxes, [0, 0, 0, 4], [N, S * S, B, 1]), [N, S * S, B]); // [N, S·S, B]
    // Responsibility: the predictor with the highest IoU (no gradient through the choice or the IoU target).
    const tBoxK = tf.expandDims(tBox, 2); // [N, S·S, 1, 4]
    const iou = stopGradient(boxIouTensor(toCorners(pXywh, S), toCorners(tBoxK, S))); // [N, S·S, B]
    const resp = tf.mul(tf.cast(tf.oneHot(tf.argMax(iou, -1), B), 'float32'), tf.expandDims(obj, -1)); // [N, S·S, B]
    const noResp = tf.sub(1, resp); // [N, S·S, B]
    const diff = tf.square(tf.sub(pXywh, tBoxK)); // [N, S·S, B, 4]
    const [dx, dy, dw, dh] = tf.unstack(diff, -1); // each [N, S·S, B]
    const perImage = (t: tf.Tensor) => tf.div(tf.sum(t), N) as tf.Scalar;
    const xy = perImage(tf.mul(lc, tf.mul(resp, tf.add(dx, dy))));
    const wh = perImage(tf.mul(lc, tf.mul(resp, tf.add(dw, dh))));
    const target = confTarget === 'iou' ? iou : tf.onesLike(iou); // [N, S·S, B]
    const objTerm = perImage(tf.mul(resp, tf.square(tf.sub(pConf, target))));
    const noobj = perImage(tf.mul(ln, tf.mul(noResp, tf.square(pConf))));
    const cls = perImage(tf.mul(tf.expandDims(obj, -1), tf.square(tf.sub(classes, tCls))));
    const total = tf.addN([xy, wh, objTerm, noobj, cls]) as tf.Scalar;
    return { xy, wh, obj: objTerm, noobj, cls, total };
  });
}

/**
 * The YOLOv1 loss as one scalar (the `total` of {@link yoloLossTerms}).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { YoloV1, yoloLoss, encodeYoloTargets } from '@dl/cnn';
 * const yolo = new YoloV1({ S: 4, B: 2, C: 3, inputSize: 64, widths: [8, 16, 16, 16, 16], hidden: 64 });
 * const target = encodeYoloTargets([[{ box: [0.1, 0.1, 0.5, 0.5], classId: 0 }]], { S: 4, C: 3 });
 * const opt = tf.train.adam(1e-3);
 * opt.minimize(() => yoloLoss(yolo.forward(tf.zeros([1, 64, 64, 3])), target, { B: 2, C: 3 }));
 * ```
 */
export function yoloLoss(predictions: tf.Tensor, targets: tf.Tensor, options: YoloLossOptions): tf.Scalar {
  return tf.tidy(() => yoloLossTerms(predictions, targets, options).total);
}
