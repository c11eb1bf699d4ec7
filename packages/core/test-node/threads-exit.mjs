// Plain Node ESM through the *built* package: multi-threaded wasm, a matmul, then the script simply ends
// (no process.exit). The test runs it with a timeout: XNNPACK's pthread workers must not keep Node alive.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';

const report = await useBackend('wasm', { threads: Number(process.argv[2] ?? 2) });
const a = tf.ones([64, 64]);
const sum = (await tf.sum(tf.matMul(a, a)).data())[0];
console.log(JSON.stringify({ backend: report.name, threads: report.threads, kernelThreads: report.kernelThreads, sum }));
