// Plain Node ESM: trains a small MLP through the *built* package with only tfjs-core and a backend
// installed (no @tensorflow/tfjs, no test runner). Prints one JSON line; exits 1 if the loss did not fall.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend, hasGradient, manualSeed, Sequential, Linear, ReLU, crossEntropy } from '@dl/core';

const backend = await useBackend(process.argv[2] ?? 'cpu');
manualSeed(0);
const model = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 2));
const x = tf.tensor2d([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]]);
const y = tf.tensor1d([0, 1, 0, 1], 'int32');
const opt = tf.train.adam(0.05);
const losses = [];
for (let i = 0; i < 40; i++) {
  const loss = opt.minimize(() => crossEntropy(model.forward(x), y), true, model.parameters());
  losses.push((await loss.data())[0]);
  loss.dispose();
}
const ok = hasGradient('BatchMatMul') && losses.at(-1) < losses[0] * 0.2;
console.log(JSON.stringify({ module: 'esm', backend: backend.name, first: losses[0], last: losses.at(-1), ok }));
process.exit(ok ? 0 : 1);
