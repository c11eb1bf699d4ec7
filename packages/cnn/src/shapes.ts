import { checkInt, checkKeys, checkNumber, Rng } from '@dl/core';
import { optionKeys } from './util.js';
import type { GroundTruthBox } from './yolo/loss.js';

/** Shape classes of the generated data sets (class 0 is the background in segmentation). */
export const SHAPE_NAMES = ['circle', 'square', 'triangle'] as const;

/** Options of the shape data sets. */
export interface ShapesOptions {
  /** Image side. Default 64. */
  size?: number;
  /** Seed of the generator (same seed, same data on every platform). Default 0. */
  seed?: number;
  /** Standard deviation of the Gaussian pixel noise. Default 0.15. */
  noise?: number;
  /** Objects per image, at most. Default 3. */
  maxObjects?: number;
}

const KEYS = optionKeys<ShapesOptions>()(['size', 'seed', 'noise', 'maxObjects']);

/** Images and per-image objects of a generated shape set. */
export interface ShapesSet {
  /** NHWC RGB images in [0, 1], `n · size · size · 3` values. */
  images: Float32Array;
  /** Per-pixel class (0 background, 1 circle, 2 square, 3 triangle), `n · size · size`. */
  masks: Int32Array;
  /** Objects per image with boxes in image fractions and class 0 circle, 1 square, 2 triangle. */
  objects: GroundTruthBox[][];
  /** Number of images. */
  n: number;
  /** Image side. */
  size: number;
}

function inside(kind: number, x: number, y: number, cx: number, cy: number, r: number): boolean {
  if (kind === 0) return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
  if (kind === 1) return Math.abs(x - cx) <= r && Math.abs(y - cy) <= r;
  // Upward triangle with apex (cx, cy − r) and base y = cy + r from cx − r to cx + r.
  if (y < cy - r || y > cy + r) return false;
  const half = (r * (y - (cy - r))) / (2 * r);
  return Math.abs(x - cx) <= half;
}

/**
 * A generated set of coloured circles, squares and triangles on noisy, smoothly varying backgrounds,
 * with per-pixel masks (for {@link FCN}) and boxes (for {@link YoloV1}). Deterministic per seed. Colours
 * are random per object, so the class must be recognised by shape, not colour.
 *
 * @example
 * ```ts
 * import { makeShapes } from '@dl/cnn';
 * const { images, masks, objects } = makeShapes(100, { size: 64, seed: 1 });
 * ```
 */
export function makeShapes(n: number, options: ShapesOptions = {}): ShapesSet {
  checkInt('makeShapes', 'n', n);
  checkKeys('makeShapes', options, KEYS);
  const size = checkInt('makeShapes', 'size', options.size ?? 64);
  const noise = checkNumber('makeShapes', 'noise', options.noise ?? 0.15, 0);
  const maxObjects = checkInt('makeShapes', 'maxObjects', options.maxObjects ?? 3);
  const rng = new Rng(options.seed ?? 0);
  const images = new Float32Array(n * size * size * 3);
  const masks = new Int32Array(n * size * size);
  const objects: GroundTruthBox[][] = [];
  for (let i = 0; i < n; i++) {
    // Background: a random colour gradient.
    const base = [rng.uniform(), rng.uniform(), rng.uniform()].map((v) => 0.2 + 0.5 * v);
    const grad = [rng.uniform() - 0.5, rng.uniform() - 0.5].map((v) => v * 0.4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const at = ((i * size + y) * size + x) * 3;
        for (let c = 0; c < 3; c++) images[at + c] = base[c] + grad[0] * (x / size - 0.5) + grad[1] * (y / size - 0.5);
      }
    }
    const count = 1 + Math.floor(rng.uniform() * maxObjects);
    const list: GroundTruthBox[] = [];
    const placed: [number, number, number][] = [];
    for (let k = 0; k < count; k++) {
      // Keep objects apart (centres at least r1 + r2 away) so every object stays visible.
      let tries = 0;
      let cx = 0;
      let cy = 0;
      let r = 0;
      do {
        r = size * (0.1 + 0.12 * rng.uniform());
        cx = r + rng.uniform() * (size - 2 * r);
        cy = r + rng.uniform() * (size - 2 * r);
        tries++;
      } while (tries < 50 && placed.some(([px, py, pr]) => Math.hypot(px - cx, py - cy) < pr + r + 1));
      if (tries >= 50) break;
      placed.push([cx, cy, r]);
      const kind = Math.floor(rng.uniform() * 3);
      const bgMean = base.reduce((a, b) => a + b, 0) / 3;
      // A colour that contrasts with the background.
      const colour = [0, 1, 2].map(() => (bgMean > 0.45 ? 0.05 + 0.3 * rng.uniform() : 0.7 + 0.3 * rng.uniform()));
      for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(size - 1, Math.ceil(cy + r)); y++) {
        for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(size - 1, Math.ceil(cx + r)); x++) {
          if (!inside(kind, x + 0.5, y + 0.5, cx, cy, r)) continue;
          const at = ((i * size + y) * size + x) * 3;
          images.set(colour, at);
          masks[(i * size + y) * size + x] = kind + 1;
        }
      }
      list.push({ box: [Math.max(0, (cx - r) / size), Math.max(0, (cy - r) / size), Math.min(1, (cx + r) / size), Math.min(1, (cy + r) / size)], classId: kind });
    }
    objects.push(list);
    for (let j = i * size * size * 3; j < (i + 1) * size * size * 3; j++) images[j] = Math.min(1, Math.max(0, images[j] + noise * rng.normal()));
  }
  return { images, masks, objects, n, size };
}
