/**
 * The optimizer race, in a worker: every chosen optimizer from @dl/optim moves its own copy of the
 * point (x, y) on the surface; each `step` runs a few iterations of all of them and reports where they
 * are. On request, @dl/optim's `criticalPoint` classifies the point each one reached from the Hessian's
 * eigenvalues (minimum, maximum, saddle with its escape direction).
 */
import * as tf from '@tensorflow/tfjs-core';
import { criticalPoint, type Optimizer } from '@dl/optim';
import { serveTrainer } from '../../worker/serve';
import { surfaceById, type Surface } from './surfaces';
import { RACERS } from './racers';

export interface RaceConfig {
  surface: string;
  start: [number, number];
  racers: { id: string; lr: number }[];
  steps: number;
}

export interface RaceProgress {
  step: number;
  /** Position of each racer. */
  points: Record<string, [number, number]>;
  /** f − f* of each racer (the gap to the global minimum). */
  gaps: Record<string, number>;
  /** Racers that left the plot by a wide margin or hit NaN (stopped). */
  diverged: string[];
  done: boolean;
}

export interface PointReport {
  id: string;
  point: [number, number];
  value: number;
  gradNorm: number;
  kind: string;
  eigenvalues: number[];
  escapeDirection?: number[];
}

const ITERS_PER_STEP = 4;

let surface: Surface;
let steps = 0;
let total = 0;
const runners: { id: string; v: tf.Variable; opt: Optimizer<object>; diverged: boolean }[] = [];

async function position(v: tf.Variable): Promise<[number, number]> {
  const d = await v.data();
  return [d[0], d[1]];
}

serveTrainer({
  async init(raw) {
    const config = raw as RaceConfig;
    surface = surfaceById(config.surface);
    total = config.steps;
    for (const r of config.racers) {
      const racer = RACERS.find((x) => x.id === r.id);
      if (!racer) throw new Error(`unknown optimizer '${r.id}'`);
      const v = tf.variable(tf.tensor1d(config.start), true, `${r.id}/xy`);
      runners.push({ id: r.id, v, opt: racer.make([v], r.lr), diverged: false });
    }
  },
  async step() {
    const points: Record<string, [number, number]> = {};
    const gaps: Record<string, number> = {};
    const span = Math.max(surface.x[1] - surface.x[0], surface.y[1] - surface.y[0]);
    for (let i = 0; i < ITERS_PER_STEP && steps < total; i++, steps++) {
      for (const r of runners) {
        if (r.diverged) continue;
        const loss = await r.opt.minimize(() => surface.tf(r.v));
        loss?.dispose();
      }
    }
    for (const r of runners) {
      const p = await position(r.v);
      points[r.id] = p;
      gaps[r.id] = surface.f(p[0], p[1]) - surface.min;
      const far = Math.abs(p[0]) > 10 * span || Math.abs(p[1]) > 10 * span;
      if (!Number.isFinite(p[0] + p[1]) || far) r.diverged = true;
    }
    const progress: RaceProgress = { step: steps, points, gaps, diverged: runners.filter((r) => r.diverged).map((r) => r.id), done: steps >= total };
    return { ...progress };
  },
  async request(payload) {
    const { type } = payload as { type: 'analyze' };
    if (type !== 'analyze') throw new Error(`unknown request ${type}`);
    const reports: PointReport[] = [];
    for (const r of runners) {
      const point = await position(r.v);
      if (!Number.isFinite(point[0] + point[1])) continue;
      const x = tf.tensor1d(point);
      try {
        const c = await criticalPoint((t) => surface.tf(t), x, { gradTol: 1e-3 });
        reports.push({ id: r.id, point, value: c.value, gradNorm: c.gradNorm, kind: c.kind, eigenvalues: c.eigenvalues, escapeDirection: c.escapeDirection });
      } finally {
        x.dispose();
      }
    }
    return reports;
  },
});
