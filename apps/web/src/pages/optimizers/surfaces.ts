/**
 * The 2-D loss surfaces of the optimizer race, each as a plain function (for the contour plot, drawn on
 * the page) and as a tfjs function of a length-2 tensor (for the optimizers and the Hessian, in the worker).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Surface {
  id: string;
  title: string;
  /** What it shows. */
  about: string;
  f(x: number, y: number): number;
  /** The same function on a `[2]` tensor. */
  tf(v: tf.Tensor): tf.Scalar;
  /** The plotted domain. */
  x: [number, number];
  y: [number, number];
  start: [number, number];
  /** The global minimum's value, so the loss chart can show f − f* on a log scale. */
  min: number;
  /** The learning rate each optimizer starts with on this surface (a stable, instructive one). */
  lr: Record<string, number>;
  /** Contour levels are spaced on log(f − f* + shift), since these functions span many decades. */
  shift: number;
}

const xy = (v: tf.Tensor) => tf.unstack(v) as [tf.Scalar, tf.Scalar];

const LR_DEFAULT = { sgd: 0.05, momentum: 0.02, nesterov: 0.02, adagrad: 0.5, rmsprop: 0.02, adadelta: 1, adam: 0.05, adamw: 0.05, adamax: 0.05, nadam: 0.05, radam: 0.05, lion: 0.01, lamb: 0.05 };

export const SURFACES: Surface[] = [
  {
    id: 'saddle',
    title: 'saddle',
    about:
      'f = ½x² + ¼y⁴ − ½y²: a saddle point at the origin (curving up along x, down along y) between two minima at (0, ±1). Started almost on the ridge y = 0, plain gradient descent crawls towards the saddle before it escapes; adaptive methods escape sooner.',
    f: (x, y) => 0.5 * x * x + 0.25 * y ** 4 - 0.5 * y * y,
    tf: (v) =>
      tf.tidy(() => {
        const [x, y] = xy(v);
        return tf.addN([tf.mul(0.5, tf.square(x)), tf.mul(0.25, tf.pow(y, 4)), tf.mul(-0.5, tf.square(y))]) as tf.Scalar;
      }),
    x: [-2, 2],
    y: [-1.6, 1.6],
    start: [1.8, 0.001],
    min: -0.25,
    lr: LR_DEFAULT,
    shift: 0.02,
  },
  {
    id: 'rosenbrock',
    title: 'Rosenbrock',
    about:
      'f = (1 − x)² + 100(y − x²)² (Rosenbrock 1960): a long curved valley with the minimum at (1, 1). The Hessian is badly conditioned (eigenvalues ≈ 0.4 and 1000 at the minimum), so a learning rate that is stable across the valley is tiny along it.',
    f: (x, y) => (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    tf: (v) =>
      tf.tidy(() => {
        const [x, y] = xy(v);
        return tf.add(tf.square(tf.sub(1, x)), tf.mul(100, tf.square(tf.sub(y, tf.square(x))))) as tf.Scalar;
      }),
    x: [-2, 2],
    y: [-1, 3],
    start: [-1.2, 1],
    min: 0,
    lr: { sgd: 0.001, momentum: 0.0002, nesterov: 0.0002, adagrad: 0.5, rmsprop: 0.01, adadelta: 1, adam: 0.05, adamw: 0.05, adamax: 0.1, nadam: 0.05, radam: 0.05, lion: 0.005, lamb: 0.02 },
    shift: 0.01,
  },
  {
    id: 'local-minima',
    title: 'local minima',
    about:
      'f = (x⁴ − 16x² + 5x + y⁴ − 16y² + 5y) / 20 (Styblinski–Tang): four minima of different depth, the deepest at (−2.90, −2.90), a local maximum near the origin and four saddles. Where an optimizer ends depends on its momentum and step size.',
    f: (x, y) => (x ** 4 - 16 * x * x + 5 * x + y ** 4 - 16 * y * y + 5 * y) / 20,
    tf: (v) =>
      tf.tidy(() => {
        const g = tf.add(tf.sub(tf.pow(v, 4), tf.mul(16, tf.square(v))), tf.mul(5, v));
        return tf.div(tf.sum(g), 20) as tf.Scalar;
      }),
    x: [-5, 5],
    y: [-5, 5],
    start: [0.6, 4.6],
    // 2·min over x of (x⁴ − 16x² + 5x), at x ≈ −2.903534, divided by 20.
    min: (2 * (2.903534 ** 4 - 16 * 2.903534 ** 2 - 5 * 2.903534)) / 20,
    lr: { ...LR_DEFAULT, sgd: 0.1, momentum: 0.05, nesterov: 0.05, adagrad: 1, rmsprop: 0.05, adam: 0.1, adamw: 0.1, adamax: 0.1, nadam: 0.1, radam: 0.1, lion: 0.03, lamb: 0.1 },
    shift: 0.05,
  },
];

export function surfaceById(id: string): Surface {
  return SURFACES.find((s) => s.id === id) ?? SURFACES[0];
}
