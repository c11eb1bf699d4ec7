import * as tf from '@tensorflow/tfjs-core';
import { checkInt, checkKeys, checkNumber } from '@dl/core';
import { optionKeys } from '../util.js';
import { yoloActivate } from './head.js';
import { nonMaxSuppression, type Detection } from './nms.js';

/** Options of {@link decodeYolo}. */
export interface DecodeYoloOptions {
  /** Boxes per cell. */
  B: number;
  /** Classes. */
  C: number;
  /** Drop boxes whose class-specific confidence is below this. Default 0.1. */
  scoreThreshold?: number;
  /** IoU threshold of the non-maximum suppression (per class). Default 0.5. */
  iouThreshold?: number;
  /** At most this many boxes per image. Default 100. */
  maxDetections?: number;
}

const KEYS = optionKeys<DecodeYoloOptions>()(['B', 'C', 'scoreThreshold', 'iouThreshold', 'maxDetections']);

/**
 * Turns YOLOv1 outputs into boxes: for every cell and predictor, centre = ((col + x)/S, (row + y)/S),
 * size = (√w², √h²), class = argmax Pr(class | object), score = confidence · Pr(class | object) (the
 * paper's class-specific confidence); boxes under `scoreThreshold` are dropped, the rest go through
 * per-class non-maximum suppression. Async: reads the predictions once with `await data()`.
 *
 * @param predictions raw head output `[N, S, S, B·5 + C]`.
 * @returns one list of detections per image, best first, corners clipped to [0, 1].
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core';
 * import { decodeYolo } from '@dl/cnn';
 * const dets = await decodeYolo(tf.randomNormal([1, 7, 7, 30]), { B: 2, C: 20, scoreThreshold: 0.2 });
 * dets[0]; // [{ box: [x1, y1, x2, y2], score, classId }, ...]
 * ```
 */
export async function decodeYolo(predictions: tf.Tensor, options: DecodeYoloOptions): Promise<Detection[][]> {
  checkKeys('decodeYolo', options ?? null, KEYS);
  const B = checkInt('decodeYolo', 'B', options?.B);
  const C = checkInt('decodeYolo', 'C', options?.C);
  const thr = checkNumber('decodeYolo', 'scoreThreshold', options.scoreThreshold ?? 0.1, 0, 1);
  const iouThreshold = checkNumber('decodeYolo', 'iouThreshold', options.iouThreshold ?? 0.5, 0, 1);
  const maxDetections = checkInt('decodeYolo', 'maxDetections', options.maxDetections ?? 100);
  const { boxes, classes } = yoloActivate(predictions, { B, C }); // [N, S·S, B, 5], [N, S·S, C]
  const [N, S] = predictions.shape;
  const [b, c] = await Promise.all([boxes.data(), classes.data()]);
  tf.dispose([boxes, classes]);
  const clip = (v: number) => Math.min(Math.max(v, 0), 1);
  const out: Detection[][] = [];
  for (let n = 0; n < N; n++) {
    const cand: Detection[] = [];
    for (let row = 0; row < S; row++) {
      for (let col = 0; col < S; col++) {
        const cell = (n * S + row) * S + col;
        let best = 0;
        for (let k = 1; k < C; k++) if (c[cell * C + k] > c[cell * C + best]) best = k;
        const p = c[cell * C + best];
        for (let j = 0; j < B; j++) {
          const at = (cell * B + j) * 5;
          const score = b[at + 4] * p;
          if (score < thr) continue;
          const cx = (col + b[at]) / S;
          const cy = (row + b[at + 1]) / S;
          const w = b[at + 2] ** 2;
          const h = b[at + 3] ** 2;
          cand.push({ box: [clip(cx - w / 2), clip(cy - h / 2), clip(cx + w / 2), clip(cy + h / 2)], score, classId: best });
        }
      }
    }
    out.push(nonMaxSuppression(cand, { iouThreshold, maxDetections }));
  }
  return out;
}
