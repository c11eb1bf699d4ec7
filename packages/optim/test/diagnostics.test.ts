// Hessian-vector products and the critical-point test on functions with known answers.
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { assertClose, assertNoLeaks, backendTolerance } from '@dl/core/testing';
import { criticalPoint, hessian, hvp, symmetricEigen } from '../src/index.js';

const coef = (values: number[]) => (v: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(tf.square(v), tf.tensor1d(values)))) as tf.Scalar;
const tol = () => ({ atol: Math.max(1e-4, backendTolerance().atol * 10), rtol: Math.max(1e-4, backendTolerance().rtol * 10) });

describe('Hessian-vector products', () => {
  it('matches the analytic H·v of f(x) = ½xᵀAx + Σ sin(x) over two tensors', async () => {
    await assertNoLeaks(async () => {
      // f(x, y) = ½xᵀAx + Σ sin x + Σ x₀·y² → H_xx = A − diag(sin x) (+ coupling), checked at known points.
      const A = tf.tensor2d([[3, 1, 0], [1, 2, 0.5], [0, 0.5, 1]]);
      const f = (x: tf.Tensor, y: tf.Tensor) =>
        tf.tidy(() => tf.addN([tf.mul(0.5, tf.sum(tf.mul(x, tf.squeeze(tf.matMul(A, tf.reshape(x, [3, 1]))))) ), tf.sum(tf.sin(x)), tf.sum(tf.mul(tf.gather(x, 0), tf.square(y)))])) as tf.Scalar;
      const x = tf.tensor1d([0.3, -0.7, 1.1]);
      const y = tf.tensor1d([2, -1]);
      const vx = tf.tensor1d([1, -2, 0.5]);
      const vy = tf.tensor1d([0.25, 3]);
      const [hx, hy] = hvp(f, [x, y], [vx, vy]);
      // H_xx v_x = A v_x − sin(x)⊙v_x + e₀·(2 yᵀ v_y);  H_yy v_y = 2 x₀ v_y + 2 y v_x[0]... by hand:
      const xs = [0.3, -0.7, 1.1];
      const Av = [3 * 1 + 1 * -2 + 0, 1 * 1 + 2 * -2 + 0.5 * 0.5, 0 + 0.5 * -2 + 1 * 0.5];
      const ex = Av.map((a, i) => a - Math.sin(xs[i]) * [1, -2, 0.5][i]);
      ex[0] += 2 * (2 * 0.25 + -1 * 3); // ∂²/∂x₀∂y · v_y = 2y·v_y
      const ey = [2 * 2 * 1 + 2 * 0.3 * 0.25, 2 * -1 * 1 + 2 * 0.3 * 3]; // 2y·v_x[0] + 2x₀·v_y
      await assertClose(hx, ex, tol(), 'H·v (x part)');
      await assertClose(hy, ey, tol(), 'H·v (y part)');
      tf.dispose([A, x, y, vx, vy, hx, hy]);
    });
  });

  it('assembles the Rosenbrock Hessian at (1, 1): [[802, −400], [−400, 200]]', async () => {
    await assertNoLeaks(async () => {
      const rosen = (v: tf.Tensor) =>
        tf.tidy(() => {
          const [a, b] = tf.unstack(v);
          return tf.add(tf.square(tf.sub(1, a)), tf.mul(100, tf.square(tf.sub(b, tf.square(a))))) as tf.Scalar;
        });
      const x = tf.tensor1d([1, 1]);
      const H = await hessian(rosen, x);
      await assertClose(H, [802, -400, -400, 200], { atol: 1e-2, rtol: 1e-4 }, 'Rosenbrock Hessian');
      const r = await criticalPoint(rosen, x);
      expect(r.kind).toBe('local minimum');
      expect(r.eigenvalues[0]).toBeGreaterThan(0);
      x.dispose();
    });
  });
});

describe('critical points', () => {
  it('tells a local minimum, a local maximum and a saddle point apart', async () => {
    await assertNoLeaks(async () => {
      const origin = tf.zeros([3]);
      const min = await criticalPoint(coef([1, 2, 3]), origin);
      expect(min.kind).toBe('local minimum');
      await assertClose(min.eigenvalues, [2, 4, 6], { atol: 1e-3, rtol: 1e-3 });
      const max = await criticalPoint(coef([-1, -0.5, -2]), origin);
      expect(max.kind).toBe('local maximum');
      await assertClose(max.eigenvalues, [-4, -2, -1], { atol: 1e-3, rtol: 1e-3 });
      const saddle = await criticalPoint(coef([1, -3, 2]), origin);
      expect(saddle.kind).toBe('saddle point');
      // Escape along ±e₁ (the most negative curvature, λ = −6); L drops along it.
      const d = saddle.escapeDirection!;
      expect(Math.abs(d[1])).toBeCloseTo(1, 5);
      expect(Math.abs(d[0]) + Math.abs(d[2])).toBeLessThan(1e-5);
      expect(saddle.eigenvalues[0]).toBeCloseTo(-6, 2);
      origin.dispose();
    });
  });

  it('reports a non-critical point and a degenerate one (monkey saddle x³ − 3xy²)', async () => {
    await assertNoLeaks(async () => {
      const p = tf.tensor1d([1, 0, 0]);
      expect((await criticalPoint(coef([1, 1, 1]), p)).kind).toBe('not critical');
      const monkey = (v: tf.Tensor) =>
        tf.tidy(() => {
          const [x, y] = tf.unstack(v);
          return tf.sub(tf.pow(x, 3), tf.mul(3, tf.mul(x, tf.square(y)))) as tf.Scalar;
        });
      const z = tf.zeros([2]);
      const r = await criticalPoint(monkey, z);
      expect(r.kind).toBe('degenerate');
      tf.dispose([p, z]);
    });
  });

  it('finds the saddle of a tiny two-layer linear network f(w₁, w₂) = (1 − w₁w₂)² at the origin', async () => {
    await assertNoLeaks(async () => {
      // A saddle: at w = 0 the gradient vanishes and H = [[0, −2], [−2, 0]] (eigenvalues ±2).
      const f = (v: tf.Tensor) =>
        tf.tidy(() => {
          const [w1, w2] = tf.unstack(v);
          return tf.square(tf.sub(1, tf.mul(w1, w2))) as tf.Scalar;
        });
      const z = tf.zeros([2]);
      const r = await criticalPoint(f, z);
      expect(r.kind).toBe('saddle point');
      expect(r.eigenvalues[0]).toBeCloseTo(-2, 3);
      expect(r.eigenvalues[1]).toBeCloseTo(2, 3);
      const [a, b] = r.escapeDirection!;
      expect(Math.abs(a)).toBeCloseTo(Math.SQRT1_2, 4);
      expect(a * b).toBeGreaterThan(0); // along w₁ = w₂: the loss falls
      z.dispose();
    });
  });

  it('symmetricEigen diagonalises a known matrix', () => {
    const { values, vectors } = symmetricEigen([2, 1, 0, 1, 2, 0, 0, 0, 5], 3);
    expect(values.map((v) => +v.toFixed(10))).toEqual([1, 3, 5]);
    expect(Math.abs(vectors[0][0] + vectors[0][1])).toBeLessThan(1e-10);
  });
});
