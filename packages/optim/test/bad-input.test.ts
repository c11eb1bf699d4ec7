// Table-driven: each bad argument is rejected up front and the message names it.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import {
  Adam, AdamW, SGD, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Lion, Lamb, chain, clipGradNorm, constant, cosine, cosineWarmRestarts, criticalPoint, cyclic,
  exponential, GradientAccumulator, hessian, hvp, join, linear, linearWarmup, multiStep, multiply, noam, oneCycle, polynomial, reduceOnPlateau, scaleByAdam,
  sequence, stepDecay, trace, warmupCosine,
} from '../src/index.js';

const w = tf.variable(tf.zeros([2]));
const cases: [string, () => unknown, RegExp][] = [
  ['SGD without lr', () => new SGD([w], {} as never), /sgd: lr must be given/],
  ['SGD negative lr', () => new SGD([w], { lr: -1 }), /sgd: lr must be a schedule or a number ≥ 0, got -1/],
  ['SGD nesterov without momentum', () => new SGD([w], { lr: 0.1, nesterov: true }), /^sgd: nesterov must be used with momentum > 0/],
  ['SGD nesterov with dampening', () => new SGD([w], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /nesterov must be used with momentum > 0 and dampening 0/],
  ['Adam betas', () => new Adam([w], { betas: [0.9, 1] }), /adam: betas must be a pair of numbers in \[0, 1\)/],
  ['Adam eps', () => new Adam([w], { eps: -1 }), /scaleByAdam: eps must be/],
  ['Adam unknown option', () => new Adam([w], { learningRate: 1 } as never), /adam: options.learningRate must be one of the known options/],
  ['AdamW weightDecay', () => new AdamW([w], { weightDecay: NaN }), /adamw: weightDecay must be a schedule or a number ≥ 0/],
  ['Adam amsgrad', () => new Adam([w], { amsgrad: 1 as never }), /adam: amsgrad must be a boolean/],
  ['RMSprop alpha', () => new RMSprop([w], { alpha: 2 }), /scaleByRms: alpha must be a number in \[0, 1\]/],
  ['Adagrad lrDecay', () => new Adagrad([w], { lrDecay: -1 }), /scaleByAdagrad: lrDecay must be/],
  ['Adadelta rho', () => new Adadelta([w], { rho: 1.5 }), /scaleByAdadelta: rho must be/],
  ['Adamax betas', () => new Adamax([w], { betas: [0.9] as never }), /adamax: betas must be a pair/],
  ['NAdam momentumDecay', () => new NAdam([w], { momentumDecay: -1 }), /scaleByNadam: momentumDecay must be/],
  ['RAdam maximize', () => new RAdam([w], { maximize: 'yes' as never }), /radam: maximize must be a boolean/],
  ['Lion lr', () => new Lion([w], { lr: Infinity }), /lion: lr must be/],
  ['Lamb groups', () => new Lamb([{ params: [w] }, { params: [w] }]), /Lamb: params\[0\] must be in one parameter group only/],
  ['non-variable param', () => new Adam([tf.zeros([1]) as never]), /Adam: params\[0\] must be a tf.Variable/],
  ['nonFinite mode', () => new Adam([w], { nonFinite: 'ignore' as never }), /Adam: nonFinite must be 'none', 'skip' or 'throw'/],
  ['accumulate', () => new Adam([w], { accumulate: 0 }), /Adam: accumulate must be a positive integer, got 0/],
  ['clipGradNorm', () => new Adam([w], { clipGradNorm: 0 }), /Adam: clipGradNorm must be a number in \(0, Infinity\]/],
  ['trace momentum', () => trace({ momentum: -0.5 }), /trace: momentum must be/],
  ['chain member', () => chain(scaleByAdam(), {} as never), /chain: transforms\[1\] must be a GradientTransformation/],
  ['clipGradNorm fn', () => clipGradNorm([], -1), /clipGradNorm: maxNorm must be/],
  ['accumulator k', () => new GradientAccumulator(1.5), /GradientAccumulator: k must be a positive integer/],
  ['constant', () => constant(NaN), /constant: value must be a finite number/],
  ['stepDecay stepSize', () => stepDecay({ init: 0.1, stepSize: 0 }), /stepDecay: stepSize must be a positive integer/],
  ['multiStep milestones', () => multiStep({ init: 0.1, milestones: [5, 3] }), /multiStep: milestones must be a non-decreasing list/],
  ['exponential gamma', () => exponential({ init: 0.1, gamma: -1 }), /exponential: gamma must be/],
  ['linear steps', () => linear({ init: 0, end: 1, steps: 2.5 }), /linear: steps must be a positive integer/],
  ['linearWarmup peak missing', () => linearWarmup({ steps: 10 } as never), /linearWarmup: peak must be given/],
  ['polynomial power', () => polynomial({ init: 1, steps: 10, power: -1 }), /polynomial: power must be/],
  ['cosine steps', () => cosine({ init: 1, steps: 0 }), /cosine: steps must be a positive integer/],
  ['warm restarts mult', () => cosineWarmRestarts({ init: 1, period: 5, periodMult: 1.5 }), /cosineWarmRestarts: periodMult must be a positive integer/],
  ['warmupCosine total', () => warmupCosine({ peak: 1, warmupSteps: 10, totalSteps: 10 }), /warmupCosine: totalSteps must be greater than warmupSteps/],
  ['noam dModel', () => noam({ dModel: 0, warmupSteps: 10 }), /noam: dModel must be a positive integer/],
  ['oneCycle pctStart', () => oneCycle({ maxValue: 1, totalSteps: 10, pctStart: 1 }), /oneCycle: pctStart must be a number in \(0, 1\)/],
  ['oneCycle anneal', () => oneCycle({ maxValue: 1, totalSteps: 10, anneal: 'exp' as never }), /oneCycle: anneal must be 'cos' or 'linear'/],
  ['cyclic mode', () => cyclic({ base: 0, max: 1, mode: 'saw' as never }), /cyclic: mode must be 'triangular', 'triangular2' or 'exp_range'/],
  ['plateau factor', () => reduceOnPlateau({ init: 1, factor: 1 }), /reduceOnPlateau: factor must be a number in \[0, 1\)/],
  ['plateau mode', () => reduceOnPlateau({ init: 1, mode: 'up' as never }), /reduceOnPlateau: mode must be 'min' or 'max'/],
  ['plateau metric', () => reduceOnPlateau({ init: 1 }).report(NaN), /reduceOnPlateau.report: metric must be a number/],
  ['schedule step', () => cosine({ init: 1, steps: 10 })(-1), /cosine: step must be a finite number ≥ 0/],
  ['join boundaries', () => join([constant(1), constant(2)], [3, 4]), /join: boundaries must be an array of 1 step/],
  ['join order', () => join([constant(1), constant(2), constant(3)], [4, 4]), /join: boundaries must be strictly increasing/],
  ['sequence steps', () => sequence([[constant(1), 0]]), /sequence: parts\[0\]\[1\] must be a positive integer/],
  ['multiply member', () => multiply(constant(1), 3 as never), /multiply: schedules\[1\] must be a schedule/],
  ['schedule options', () => cosine(undefined as never), /cosine: options must be an object/],
  ['hvp vs', () => hvp((x) => tf.sum(x) as tf.Scalar, [tf.zeros([2])], [tf.zeros([3])]), /hvp: vs\[0\] must be a tensor of shape \[2\]/],
];

describe('bad input is rejected with the argument named', () => {
  // tidy frees the tensors a case makes before it throws; assertNoLeaks checks nothing else stays behind.
  for (const [name, fn, re] of cases) it(name, () => assertNoLeaks(() => tf.tidy(() => void expect(fn).toThrow(re)), name));

  it('step rejects gradients of the wrong count, shape or name', () => assertNoLeaks(async () => {
    const opt = new Adam([w]);
    await expect(opt.step([])).rejects.toThrow(/Adam.step: grads must be an array of 1 gradients/);
    const g = tf.zeros([3]);
    await expect(opt.step([g])).rejects.toThrow(new RegExp(`Adam.step: gradient of '${w.name}' must be of shape \\[2\\]`));
    await expect(opt.step({ nope: g })).rejects.toThrow(/Adam.step: grads must be keyed by names of this optimizer/);
    await expect(opt.minimize(42 as never)).rejects.toThrow(/Adam.minimize: lossFn must be a function/);
    // A per-element loss (reduction 'none') is named as such, and nothing steps.
    const before = await w.data();
    await expect(opt.minimize(() => tf.square(w) as never)).rejects.toThrow(/^Adam\.minimize: lossFn\(\) must be a scalar \(rank-0\) tensor \(a loss with reduction 'mean' or 'sum'\), got .*\[2\]/);
    expect(Array.from(await w.data())).toEqual(Array.from(before));
    expect(opt.iterations).toBe(0);
    g.dispose();
    opt.dispose();
    expect(() => opt.freeze(w)).not.toThrow();
    await expect(opt.step([null])).rejects.toThrow(/used after dispose/);
  }));

  it('minimize and criticalPoint reject unknown option keys, naming the valid ones', () => assertNoLeaks(async () => {
    const opt = new Adam([w]);
    await expect(opt.minimize(() => tf.sum(w) as tf.Scalar, { returnCosts: false } as never)).rejects.toThrow(/^Adam\.minimize: options\.returnCosts must be one of the known options \(returnCost\), got "returnCosts"$/);
    expect(opt.iterations).toBe(0);
    opt.dispose();
    const x = tf.zeros([2]);
    await expect(criticalPoint((v) => tf.sum(v) as tf.Scalar, x, { gradTolerance: 1 } as never)).rejects.toThrow(/^criticalPoint: options\.gradTolerance must be one of the known options \(gradTol, eigTol, maxSize\)/);
    x.dispose();
  }));

  it('hessian and criticalPoint want a flat vector', () => assertNoLeaks(async () => {
    const x = tf.zeros([2, 2]);
    await expect(hessian((v) => tf.sum(v) as tf.Scalar, x)).rejects.toThrow(/hessian: x must be a rank-1 tensor/);
    await expect(criticalPoint((v) => tf.sum(v) as tf.Scalar, x)).rejects.toThrow(/criticalPoint: x must be a rank-1 tensor/);
    x.dispose();
  }));
});
