// @dl/optim in the Node demo: an MLP learns a synthetic two-spiral classification with AdamW and a
// linear-warmup + cosine learning-rate schedule, printing the step, the learning rate and the loss.
import * as tf from '@tensorflow/tfjs-core';
import { Linear, Rng, crossEntropy } from '@dl/core';
import { AdamW, decayGroups, warmupCosine } from '@dl/optim';

/** Two interleaved spirals: n points per class, coordinates in about [-1, 1]. */
function spirals(n, rng) {
  const xs = [];
  const ys = [];
  for (let c = 0; c < 2; c++) {
    for (let i = 0; i < n; i++) {
      const r = (i / n) * 0.9 + 0.1;
      const a = (i / n) * 3 * Math.PI + c * Math.PI;
      xs.push(r * Math.cos(a) + 0.03 * rng.normal(), r * Math.sin(a) + 0.03 * rng.normal());
      ys.push(c);
    }
  }
  return { x: tf.tensor2d(xs, [2 * n, 2]), y: tf.tensor1d(ys, 'int32') };
}

/**
 * Trains and prints a table of step, lr and loss. `quick` runs fewer steps (for CI).
 * @param {{ quick?: boolean }} options
 */
export async function run({ quick = false } = {}) {
  const rng = new Rng(3);
  const steps = quick ? 150 : 600;
  const { x, y } = spirals(quick ? 64 : 200, rng);
  const layers = [new Linear(2, 64, { rng }), new Linear(64, 64, { rng }), new Linear(64, 2, { rng })];
  const forward = (inp) => tf.tidy(() => layers[2].forward(tf.relu(layers[1].forward(tf.relu(layers[0].forward(inp)))))); // [n, 2]
  // No weight decay on biases: one group per kind, AdamW's decoupled decay on the weights only.
  const groups = layers.flatMap((l) => decayGroups(l, 1e-2));
  const lr = warmupCosine({ peak: 1e-2, warmupSteps: Math.round(steps / 10), totalSteps: steps, end: 1e-4 });
  const opt = new AdamW([{ params: groups.filter((g) => g.weightDecay > 0).flatMap((g) => g.params), weightDecay: 1e-2 }, { params: groups.filter((g) => g.weightDecay === 0).flatMap((g) => g.params), weightDecay: 0 }], { lr, clipGradNorm: 5 });
  console.log('optim: AdamW + warmup-cosine on two spirals');
  console.log('  step        lr      loss');
  const every = Math.max(1, Math.round(steps / 10));
  let last = NaN;
  for (let step = 0; step < steps; step++) {
    const usedLr = opt.currentLr(0);
    const loss = await opt.minimize(() => crossEntropy(forward(x), y));
    if (step % every === 0 || step === steps - 1) {
      last = (await loss.data())[0];
      console.log(`  ${String(step).padStart(4)}  ${usedLr.toExponential(2)}  ${last.toFixed(4)}`);
    }
    loss.dispose();
  }
  const acc = tf.tidy(() => tf.mean(tf.cast(tf.equal(tf.argMax(forward(x), -1), y), 'float32')));
  const accuracy = (await acc.data())[0];
  console.log(`  train accuracy ${(accuracy * 100).toFixed(1)}%`);
  tf.dispose([x, y, acc]);
  opt.dispose();
  layers.forEach((l) => l.dispose());
  return { loss: last, accuracy };
}
