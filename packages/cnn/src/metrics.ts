import { checkInt, checkKeys, checkNumber, DLArgumentError } from '@dl/core';
import type { GroundTruthBox } from './yolo/loss.js';
import { boxIou, type Detection } from './yolo/nms.js';

/**
 * A `numClasses × numClasses` confusion matrix: `m[truth][predicted]` counts.
 *
 * @example
 * ```ts
 * import { confusionMatrix } from '@dl/cnn';
 * confusionMatrix([0, 1, 1], [0, 1, 0], 2); // [[1, 1], [0, 1]]
 * ```
 */
export function confusionMatrix(predicted: ArrayLike<number>, truth: ArrayLike<number>, numClasses: number): number[][] {
  checkInt('confusionMatrix', 'numClasses', numClasses);
  if (predicted.length !== truth.length) throw new DLArgumentError('confusionMatrix', 'truth', `${predicted.length} labels like predicted`, `${truth.length} labels`);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    const p = predicted[i];
    if (!(t >= 0 && t < numClasses && p >= 0 && p < numClasses)) {
      throw new DLArgumentError('confusionMatrix', 'labels', `class indices in [0, ${numClasses})`, `truth ${t}, predicted ${p} at ${i}`);
    }
    m[t][p]++;
  }
  return m;
}

/** Per-class and mean intersection over union of a segmentation. */
export interface IoUResult {
  /** Mean over classes present in the truth or the prediction. */
  meanIoU: number;
  /** IoU per class (NaN for a class absent from both). */
  perClass: number[];
  /** Fraction of pixels labelled correctly. */
  pixelAccuracy: number;
}

/**
 * Segmentation quality: per-class IoU = TP / (TP + FP + FN) over all pixels, the mean over classes that
 * occur (FCN's "mean IU"), and pixel accuracy.
 *
 * @example
 * ```ts
 * import { meanIoU } from '@dl/cnn';
 * meanIoU([0, 0, 1, 1], [0, 1, 1, 1], 2); // perClass [0.5, 0.667], meanIoU 0.583
 * ```
 */
export function meanIoU(predicted: ArrayLike<number>, truth: ArrayLike<number>, numClasses: number): IoUResult {
  const m = confusionMatrix(predicted, truth, numClasses);
  const perClass = m.map((row, c) => {
    const tp = row[c];
    const fn = row.reduce((a, b) => a + b, 0) - tp;
    const fp = m.reduce((a, r) => a + r[c], 0) - tp;
    return tp + fp + fn > 0 ? tp / (tp + fp + fn) : NaN;
  });
  const present = perClass.filter((v) => !Number.isNaN(v));
  const correct = m.reduce((a, row, c) => a + row[c], 0);
  return { meanIoU: present.reduce((a, b) => a + b, 0) / Math.max(present.length, 1), perClass, pixelAccuracy: correct / Math.max(truth.length, 1) };
}

/** Result of {@link meanAveragePrecision}. */
export interface MapResult {
  /** Mean of the per-class APs over classes with ground truth. */
  mAP: number;
  /** Average precision per class (NaN where the class has no ground truth). */
  perClass: number[];
}

/**
 * Mean average precision at an IoU threshold (Pascal VOC's all-point interpolated AP, the metric YOLOv1
 * reports): per class, detections of all images sorted by score are matched greedily to unmatched truths
 * with IoU ≥ threshold; AP is the area under the precision envelope of the precision/recall curve.
 *
 * @example
 * ```ts
 * import { meanAveragePrecision } from '@dl/cnn';
 * const { mAP } = meanAveragePrecision(
 *   [[{ box: [0, 0, 0.5, 0.5], score: 0.9, classId: 0 }]],
 *   [[{ box: [0, 0, 0.5, 0.45], classId: 0 }]],
 *   { numClasses: 1 },
 * ); // 1
 * ```
 */
export function meanAveragePrecision(detections: Detection[][], truths: GroundTruthBox[][], options: { numClasses: number; iouThreshold?: number }): MapResult {
  checkKeys('meanAveragePrecision', options ?? null, ['numClasses', 'iouThreshold']);
  const C = checkInt('meanAveragePrecision', 'numClasses', options?.numClasses);
  const thr = checkNumber('meanAveragePrecision', 'iouThreshold', options.iouThreshold ?? 0.5, 0, 1);
  if (!Array.isArray(detections) || !Array.isArray(truths) || detections.length !== truths.length) {
    throw new DLArgumentError('meanAveragePrecision', 'truths', `one list per image like detections (${detections?.length})`, truths?.length);
  }
  const perClass: number[] = [];
  for (let c = 0; c < C; c++) {
    const gts = truths.map((list) => list.filter((t) => t.classId === c));
    const total = gts.reduce((a, l) => a + l.length, 0);
    if (total === 0) {
      perClass.push(NaN);
      continue;
    }
    const used = gts.map((l) => new Array<boolean>(l.length).fill(false));
    const dets = detections.flatMap((list, img) => list.filter((d) => d.classId === c).map((d) => ({ d, img }))).sort((a, b) => b.d.score - a.d.score);
    const tp: number[] = [];
    for (const { d, img } of dets) {
      let best = -1;
      let bestIou = thr;
      gts[img].forEach((g, j) => {
        const iou = boxIou(d.box, g.box);
        if (!used[img][j] && iou >= bestIou) {
          best = j;
          bestIou = iou;
        }
      });
      if (best >= 0) used[img][best] = true;
      tp.push(best >= 0 ? 1 : 0);
    }
    // Precision/recall curve, then the all-point interpolated area (VOC 2010+).
    const rec: number[] = [0];
    const prec: number[] = [1];
    let cum = 0;
    tp.forEach((v, i) => {
      cum += v;
      rec.push(cum / total);
      prec.push(cum / (i + 1));
    });
    for (let i = prec.length - 2; i >= 0; i--) prec[i] = Math.max(prec[i], prec[i + 1]);
    let ap = 0;
    for (let i = 1; i < rec.length; i++) ap += (rec[i] - rec[i - 1]) * prec[i];
    perClass.push(ap);
  }
  const present = perClass.filter((v) => !Number.isNaN(v));
  return { mAP: present.reduce((a, b) => a + b, 0) / Math.max(present.length, 1), perClass };
}
