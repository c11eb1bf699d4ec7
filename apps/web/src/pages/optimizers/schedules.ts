/**
 * Every learning-rate schedule of @dl/optim with example options that the page lets the reader edit
 * (as JSON). Schedules are plain `step → value` functions, so they are evaluated on the page.
 */
import {
  constant, cosine, cosineWarmRestarts, cyclic, exponential, linear, linearWarmup, multiStep, noam, oneCycle, oneCycleMomentum, polynomial, reduceOnPlateau,
  sequence, stepDecay, warmupCosine, type Schedule,
} from '@dl/optim';

export interface ScheduleDemo {
  name: string;
  /** What it is (PyTorch name or paper). */
  about: string;
  options: Record<string, unknown>;
  /** Builds the schedule from the (edited) options; @dl/optim rejects bad options with a message. */
  build(options: Record<string, unknown>): Schedule;
  /** Feeds `reduceOnPlateau` a metric before each step. */
  metric?: (step: number) => number;
}

const obj = <T>(o: Record<string, unknown>) => o as unknown as T;

export const SCHEDULES: ScheduleDemo[] = [
  { name: 'constant', about: 'PyTorch ConstantLR(factor 1)', options: { value: 0.1 }, build: (o) => constant(o.value as number) },
  { name: 'stepDecay', about: 'StepLR', options: { init: 0.1, stepSize: 30, gamma: 0.5 }, build: (o) => stepDecay(obj(o)) },
  { name: 'multiStep', about: 'MultiStepLR', options: { init: 0.1, milestones: [30, 60, 90], gamma: 0.3 }, build: (o) => multiStep(obj(o)) },
  { name: 'exponential', about: 'ExponentialLR', options: { init: 0.1, gamma: 0.97 }, build: (o) => exponential(obj(o)) },
  { name: 'linear', about: 'LinearLR', options: { init: 0.1, end: 0.01, steps: 80 }, build: (o) => linear(obj(o)) },
  { name: 'linearWarmup', about: 'linear warm-up (Goyal et al. 2017)', options: { peak: 0.1, steps: 20 }, build: (o) => linearWarmup(obj(o)) },
  { name: 'polynomial', about: 'PolynomialLR', options: { init: 0.1, steps: 100, power: 2 }, build: (o) => polynomial(obj(o)) },
  { name: 'cosine', about: 'CosineAnnealingLR (Loshchilov & Hutter 2017)', options: { init: 0.1, steps: 100, end: 0.001 }, build: (o) => cosine(obj(o)) },
  { name: 'cosineWarmRestarts', about: 'SGDR, CosineAnnealingWarmRestarts', options: { init: 0.1, period: 15, periodMult: 2 }, build: (o) => cosineWarmRestarts(obj(o)) },
  { name: 'warmupCosine', about: 'linear warm-up then cosine decay', options: { peak: 0.1, warmupSteps: 10, totalSteps: 120, end: 0.001 }, build: (o) => warmupCosine(obj(o)) },
  { name: 'noam', about: 'the Transformer schedule (Vaswani et al. 2017)', options: { dModel: 512, warmupSteps: 20 }, build: (o) => noam(obj(o)) },
  { name: 'oneCycle', about: 'OneCycleLR (Smith & Topin 2019)', options: { maxValue: 0.1, totalSteps: 120, pctStart: 0.3 }, build: (o) => oneCycle(obj(o)) },
  { name: 'oneCycleMomentum', about: "OneCycleLR's momentum cycle", options: { totalSteps: 120, baseMomentum: 0.85, maxMomentum: 0.95 }, build: (o) => oneCycleMomentum(obj(o)) },
  { name: 'cyclic', about: 'CyclicLR (Smith 2017)', options: { base: 0.01, max: 0.1, stepSizeUp: 15, mode: 'triangular2' }, build: (o) => cyclic(obj(o)) },
  {
    name: 'reduceOnPlateau',
    about: 'ReduceLROnPlateau, fed a validation loss that stalls at 0.5 (shown as the metric)',
    options: { init: 0.1, factor: 0.5, patience: 8 },
    build: (o) => reduceOnPlateau(obj(o)),
    metric: (t) => Math.max(0.5, 1 - t / 40),
  },
  {
    name: 'sequence',
    about: 'composition: sequence([[linearWarmup, w], [cosine, total − w]])',
    options: { peak: 0.1, warmup: 15, total: 120 },
    build: (o) => {
      const peak = o.peak as number;
      const w = o.warmup as number;
      const total = o.total as number;
      return sequence([[linearWarmup({ peak, steps: w }), w], [cosine({ init: peak, steps: total - w }), total - w]]);
    },
  },
];

/** The schedule's values at steps 0 … n − 1. */
export function evaluate(demo: ScheduleDemo, options: Record<string, unknown>, n: number): [number, number][] {
  const s = demo.build(options);
  const out: [number, number][] = [];
  for (let t = 0; t < n; t++) {
    if (demo.metric) (s as ReturnType<typeof reduceOnPlateau>).report(demo.metric(t));
    out.push([t, s(t)]);
  }
  return out;
}
