// Plain Node ESM through the *built* package: @dl/core's wasm kernels on 2 threads (tfjs's threaded
// build) for a product large enough to be split, compared with 1 kernel thread, then the script simply
// ends (no process.exit). The test runs it with a timeout: the pool's workers must not keep Node alive.
import * as tf from '@tensorflow/tfjs-core';
import { matMul, useBackend, useWasmKernelThreads, wasmKernelThreads } from '@dl/core';

const report = await useBackend('wasm', { threads: 2 });
const a = tf.randomNormal([256, 128], 0, 1, 'float32', 1);
const b = tf.randomNormal([128, 192], 0, 1, 'float32', 2);
const threaded = await matMul(a, b).data(); // 6.3 M multiply-adds: above the threads' threshold
await useWasmKernelThreads(1);
const single = await matMul(a, b).data();
console.log(JSON.stringify({ threads: report.kernelThreads, after: wasmKernelThreads(), equal: single.every((v, i) => v === threaded[i]) }));
