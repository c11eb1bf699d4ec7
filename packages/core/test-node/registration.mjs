// Plain Node ESM through the *built* package: importing @dl/core registers no gradients (the package is
// side-effect free); constructing a Module, calling a loss, useBackend or ensureGradients does. Prints one JSON line.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { hasGradient, Linear, ensureGradients } from '@dl/core';

await tf.setBackend('cpu');
const afterImport = hasGradient('BatchMatMul');
const layer = new Linear(2, 1);
const afterModule = hasGradient('BatchMatMul');
const again = ensureGradients(); // 0: already registered
const x = tf.tensor2d([[1, 2]]);
const g = tf.grad((xx) => tf.sum(layer.forward(xx)))(x);
const weight = await layer.parameters()[0].data();
const grad = Array.from(await g.data());
console.log(JSON.stringify({ afterImport, afterModule, again, grad, weight: Array.from(weight) }));
