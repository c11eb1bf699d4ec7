// Optimizer.step with no gradient at all, or a disposed one; optimizer state loads that validate everything
// (missing tensors, corrupt step counts, mismatches) before touching the optimizer, so a failed load leaves it
// exactly as it was.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertNoLeaks } from '@dl/core/testing';
import { Adam, SGD, linear, type Optimizer, type OptimizerStateDict, type Schedule } from '../src/index.js';
import { snapshot } from './helpers.js';

const v = (values: number[]) => tf.tidy(() => tf.variable(tf.tensor1d(values)));
const values = async (t: tf.Tensor) => Array.from(await t.data());

describe('steps without gradients and disposed gradients', () => {
  it('step({}) and all-null gradients are not applied: no step counted, no schedule advanced, nothing accumulated', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, -2]);
      const lrs: number[] = [];
      const lr: Schedule = (t) => 0.1 / (t + 1);
      const opt = new Adam([w], { lr, accumulate: 2 });
      for (const empty of [{}, [null], [undefined]] as const) {
        const r = await opt.step(empty as never);
        expect(r).toMatchObject({ step: 0, applied: false, skipped: false, pending: 0 });
        lrs.push(opt.currentLr()!);
      }
      expect(opt.iterations).toBe(0);
      expect(await values(w)).toEqual([1, -2]);
      expect(lrs).toEqual([0.1, 0.1, 0.1]);
      const plain = new SGD([w], { lr: 0.1, momentum: 0.9 });
      expect(await plain.step({})).toMatchObject({ step: 0, applied: false });
      expect(plain.iterations).toBe(0);
      expect(plain.stateDict().metadata.numbers).toBe(new SGD([w], { lr: 0.1, momentum: 0.9 }).stateDict().metadata.numbers);
      plain.dispose();
      const g = tf.tensor1d([1, 1]);
      expect((await opt.step([g])).pending).toBe(1);
      expect((await opt.step({})).pending).toBe(1); // still one micro-batch waiting
      expect((await opt.step([g])).applied).toBe(true);
      expect(opt.iterations).toBe(1);
      g.dispose();
      opt.dispose();
      w.dispose();
    });
  });

  it('a disposed gradient is named, not "Cannot read properties of undefined"', async () => {
    await assertNoLeaks(async () => {
      const w = tf.tidy(() => tf.variable(tf.zeros([2]), true, 'weights'));
      const opt = new Adam([w]);
      const g = tf.ones([2]);
      g.dispose();
      await expect(opt.step([g])).rejects.toThrow(/^Adam\.step: gradient of 'weights' must be a live tensor, got a disposed tensor$/);
      await expect(opt.step({ weights: g })).rejects.toThrow(/^Adam\.step: gradient of 'weights' must be a live tensor, got a disposed tensor$/);
      expect(() => opt.applySync([g])).toThrow(/^Adam\.step: gradient of 'weights' must be a live tensor/);
      expect(opt.iterations).toBe(0);
      opt.dispose();
      w.dispose();
    });
  });
});

/** Removes (and disposes) one tensor of a state dict. */
function drop(s: OptimizerStateDict, key: string): void {
  s.tensors.get(key)!.dispose();
  s.tensors.delete(key);
}

/** A copy of a state dict (the caller disposes the tensors). */
function copyState(s: OptimizerStateDict): OptimizerStateDict {
  return { tensors: new Map([...s.tensors].map(([k, t]) => [k, tf.clone(t)])), metadata: { ...s.metadata } };
}

describe('optimizer state load validates everything before touching the optimizer', () => {
  type Corrupt = [string, (s: OptimizerStateDict) => void, RegExp];
  const corruptions: Corrupt[] = [
    ['missing state tensor', (s) => drop(s, 'state.0.0.exp_avg.1'), /^Adam\.loadState: 'state\.0\.0\.exp_avg\.1' must be present \(a tensor of shape \[3\]\), got nothing$/],
    ['step count "x"', (s) => void (s.metadata.step = 'x'), /^Adam\.loadState: metadata\.step must be an integer ≥ 0 \(a step count\), got "x"$/],
    ['negative step count', (s) => void (s.metadata.step = '-3'), /^Adam\.loadState: metadata\.step must be an integer ≥ 0 \(a step count\), got "-3"$/],
    ['step count 1e308', (s) => void (s.metadata.step = '1e308'), /^Adam\.loadState: metadata\.step must be an integer ≥ 0 \(a step count\), got "1e308"$/],
    ['fractional skipped count', (s) => void (s.metadata.skipped = '1.5'), /^Adam\.loadState: metadata\.skipped must be an integer ≥ 0/],
    ['per-parameter count "x"', (s) => void (s.metadata.numbers = s.metadata.numbers.replace(/"0\.0\.count":\[\d+/, '"0.0.count":["x"')), /^Adam\.loadState: numbers '0\.0\.count' must be 2 integers ≥ 0 \(step counts\), got \["x",\d+\]$/],
    ['per-parameter count 1e308', (s) => void (s.metadata.numbers = s.metadata.numbers.replace(/"0\.0\.count":\[\d+/, '"0.0.count":[1e308')), /^Adam\.loadState: numbers '0\.0\.count' must be 2 integers ≥ 0 \(step counts\)/],
    ['negative per-parameter count', (s) => void (s.metadata.numbers = s.metadata.numbers.replace(/"0\.0\.count":\[\d+/, '"0.0.count":[-1')), /^Adam\.loadState: numbers '0\.0\.count' must be 2 integers ≥ 0/],
    ['numbers not JSON', (s) => void (s.metadata.numbers = '{"0.0.count":'), /^Adam\.loadState: metadata\.numbers must be JSON numbers by name, got "\{\\"0\.0\.count\\":"$/],
    ['a schedule counter missing', (s) => void (s.metadata.numbers = s.metadata.numbers.replace(/,?"0\.1\.step":\[\d+\]/, '')), /^Adam\.loadState: numbers '0\.1\.step' must be 1 integer ≥ 0 \(step counts\), got undefined$/],
    ['pending micro-batches for an optimizer that does not accumulate', (s) => void (s.metadata.accumulated = '1'), /^Adam\.loadState: state must be no pending accumulated gradients \(this optimizer does not accumulate\), got "1 pending"$/],
    ['wrong shape', (s) => {
      const t = s.tensors.get('state.0.0.exp_avg_sq.0')!;
      s.tensors.set('state.0.0.exp_avg_sq.0', tf.zeros([3]));
      t.dispose();
    }, /^Adam\.loadState: 'state\.0\.0\.exp_avg_sq\.0' must be of shape \[2\], got Tensor float32 \[3\]$/],
    ['wrong dtype', (s) => {
      const t = s.tensors.get('state.0.0.exp_avg.0')!;
      s.tensors.set('state.0.0.exp_avg.0', tf.zeros([2], 'int32'));
      t.dispose();
    }, /^Adam\.loadState: 'state\.0\.0\.exp_avg\.0' must be of dtype float32, got Tensor int32 \[2\]$/],
    ['a disposed tensor', (s) => void s.tensors.get('state.0.0.exp_avg.0')!.dispose(), /^Adam\.loadState: 'state\.0\.0\.exp_avg\.0' must be a live tensor, got a disposed tensor$/],
    ['an unexpected tensor', (s) => void s.tensors.set('state.0.0.momentum_buffer.0', tf.zeros([2])), /^Adam\.loadState: state must be tensors this optimizer has, got unexpected state\.0\.0\.momentum_buffer\.0$/],
  ];

  for (const [name, corrupt, re] of corruptions) {
    it(`${name}: a clear error, and the optimizer is exactly as it was`, async () => {
      await assertNoLeaks(async () => {
        const a = v([1, -2]);
        const b = v([0.5, 0.25, -1]);
        const twinA = v([1, -2]);
        const twinB = v([0.5, 0.25, -1]);
        const loss = (x: tf.Variable, y: tf.Variable) => () => tf.add(tf.sum(tf.square(x)), tf.sum(tf.sin(y))) as tf.Scalar;
        const make = (x: tf.Variable, y: tf.Variable) => new Adam([x, y], { lr: linear({ init: 0.1, end: 0.01, steps: 10 }) });
        const opt = make(a, b);
        const twin = make(twinA, twinB);
        for (let i = 0; i < 3; i++) {
          (await opt.minimize(loss(a, b)))?.dispose();
          (await twin.minimize(loss(twinA, twinB)))?.dispose();
        }
        // Another state to load: the optimizer two steps further on.
        const other = copyState(opt.stateDict());
        const before = await snapshot(opt);
        const source = make(v([1, -2]), v([0.5, 0.25, -1]));
        for (let i = 0; i < 2; i++) (await source.minimize(loss(source.params[0], source.params[1])))?.dispose();
        const bad = copyState(source.stateDict());
        corrupt(bad);
        expect(() => opt.loadStateDict(bad.tensors, bad.metadata)).toThrow(re);
        expect(await snapshot(opt)).toEqual(before);
        // It goes on exactly like its twin that never saw the failed load.
        for (let i = 0; i < 2; i++) {
          (await opt.minimize(loss(a, b)))?.dispose();
          (await twin.minimize(loss(twinA, twinB)))?.dispose();
        }
        expect(await values(a)).toEqual(await values(twinA));
        expect(await values(b)).toEqual(await values(twinB));
        // And a valid state still loads.
        opt.loadStateDict(other.tensors, other.metadata);
        expect(opt.iterations).toBe(3);
        tf.dispose([...bad.tensors.values(), ...other.tensors.values(), a, b, twinA, twinB, ...source.params]);
        for (const o of [opt, twin, source]) o.dispose();
      }, name);
    });
  }

  it('an SGD momentum buffer may be missing before the first update, not after it', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const fresh = new SGD([w], { lr: 0.1, momentum: 0.9 });
      const state0 = copyState(fresh.stateDict());
      expect([...state0.tensors.keys()]).toEqual([]);
      const g = tf.ones([2]);
      await fresh.step([g]);
      const state1 = copyState(fresh.stateDict());
      const key = [...state1.tensors.keys()].find((k) => k.includes('momentum_buffer'))!;
      drop(state1, key);
      const target = new SGD([w], { lr: 0.1, momentum: 0.9 });
      expect(() => target.loadStateDict(state0.tensors, state0.metadata)).not.toThrow();
      expect(() => target.loadStateDict(state1.tensors, state1.metadata)).toThrow(new RegExp(`^SGD\\.loadState: '${key.replace(/\./g, '\\.')}' must be present \\(a tensor of shape \\[2\\]\\), got nothing$`));
      tf.dispose([g, w, ...state1.tensors.values()]);
      fresh.dispose();
      target.dispose();
    });
  });

  it('loadState (bytes) of a corrupt file leaves the optimizer as it was', async () => {
    await assertNoLeaks(async () => {
      const w = v([1, 2]);
      const opt = new Adam([w], { lr: 0.1 });
      const g = tf.ones([2]);
      await opt.step([g]);
      const good = await opt.saveState();
      const before = await snapshot(opt);
      // The header's metadata says "step":"1"; make it "x" (same length, the tensor bytes untouched).
      const corrupt = Uint8Array.from(good);
      const at = Buffer.from(good).toString('latin1').indexOf('"step":"1"');
      expect(at).toBeGreaterThan(0);
      corrupt[at + '"step":"'.length] = 'x'.charCodeAt(0);
      await expect(opt.loadState(corrupt)).rejects.toThrow(/^Adam\.loadState: metadata\.step must be an integer ≥ 0/);
      expect(await snapshot(opt)).toEqual(before);
      g.dispose();
      opt.dispose();
      w.dispose();
    });
  });
});

