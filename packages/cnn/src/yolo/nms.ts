import { checkKeys, checkNumber, DLArgumentError } from '@dl/core';
import { checkBool, optionKeys } from '../util.js';

/** A detected box: corners as fractions of the image, a score and a class. */
export interface Detection {
  /** `[x1, y1, x2, y2]` in image fractions. */
  box: [number, number, number, number];
  /** Class-specific confidence, Pr(class | object) · confidence. */
  score: number;
  /** Class index. */
  classId: number;
}

/**
 * Intersection over union of two corner boxes `[x1, y1, x2, y2]`.
 *
 * @example
 * ```ts
 * import { boxIou } from '@dl/cnn';
 * boxIou([0, 0, 2, 2], [1, 1, 3, 3]); // 1/7
 * ```
 */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const ih = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/** Options of {@link nonMaxSuppression}. */
export interface NmsOptions {
  /** Drop a box overlapping a kept, higher-scoring one by more than this IoU. Default 0.5. */
  iouThreshold?: number;
  /** Suppress only within the same class (default true) or across classes. */
  perClass?: boolean;
  /** Keep at most this many boxes (an integer ≥ 0, or Infinity). Default Infinity. */
  maxDetections?: number;
}

const KEYS = optionKeys<NmsOptions>()(['iouThreshold', 'perClass', 'maxDetections']);

/** Throws unless `d` is a detection with finite, non-inverted corners, a finite score and a class index. */
function checkDetection(d: unknown, i: number): void {
  const where = 'nonMaxSuppression';
  if (d === null || typeof d !== 'object') throw new DLArgumentError(where, `detections[${i}]`, 'a { box, score, classId } object', d);
  const { box, score, classId } = d as Partial<Detection>;
  const finite = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  if (!Array.isArray(box) || box.length !== 4 || !box.every(finite) || box[2] < box[0] || box[3] < box[1]) {
    throw new DLArgumentError(where, `detections[${i}].box`, '[x1, y1, x2, y2] with x1 ≤ x2 and y1 ≤ y2 (finite corners)', box);
  }
  if (!finite(score)) throw new DLArgumentError(where, `detections[${i}].score`, 'a finite number', score);
  if (typeof classId !== 'number' || !Number.isInteger(classId) || classId < 0) throw new DLArgumentError(where, `detections[${i}].classId`, 'an integer ≥ 0', classId);
}

/**
 * Greedy non-maximum suppression: sort by score, keep a box unless it overlaps an already kept box (of
 * the same class, by default) with IoU above the threshold. Pure JavaScript on host values.
 *
 * @throws DLArgumentError for a NaN or infinite score, a box that is not four finite corners with
 * x1 ≤ x2 and y1 ≤ y2 (zero-area boxes are allowed), a class that is not an integer ≥ 0, a negative or
 * fractional `maxDetections`, or an unknown option.
 *
 * @example
 * ```ts
 * import { nonMaxSuppression } from '@dl/cnn';
 * const kept = nonMaxSuppression([
 *   { box: [0, 0, 1, 1], score: 0.9, classId: 0 },
 *   { box: [0.05, 0, 1, 1], score: 0.8, classId: 0 }, // suppressed
 * ]);
 * ```
 */
export function nonMaxSuppression(detections: Detection[], options: NmsOptions = {}): Detection[] {
  if (!Array.isArray(detections)) throw new DLArgumentError('nonMaxSuppression', 'detections', 'an array of { box, score, classId }', detections);
  checkKeys('nonMaxSuppression', options, KEYS);
  const thr = checkNumber('nonMaxSuppression', 'iouThreshold', options.iouThreshold ?? 0.5, 0, 1);
  const max = options.maxDetections ?? Infinity;
  if (typeof max !== 'number' || !(max === Infinity || (Number.isInteger(max) && max >= 0))) {
    throw new DLArgumentError('nonMaxSuppression', 'maxDetections', 'an integer ≥ 0 or Infinity', max);
  }
  const perClass = checkBool('nonMaxSuppression', 'perClass', options.perClass ?? true);
  detections.forEach(checkDetection);
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  for (const d of sorted) {
    if (kept.length >= max) break;
    if (kept.every((k) => (perClass && k.classId !== d.classId) || boxIou(k.box, d.box) <= thr)) kept.push(d);
  }
  return kept;
}
