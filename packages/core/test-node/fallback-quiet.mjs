// Plain Node ESM: on wasm, runs a kernel wasm lacks (UnsortedSegmentSum, the gradient of gather), which
// @dl/core runs on the cpu backend. Prints the result as one JSON line; the test checks the values and
// that tfjs-backend-cpu's "install tfjs-node" banner is not printed for this internal use.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';

const backend = await useBackend('wasm');
const x = tf.tensor1d([1, 2, 3, 4]);
const ids = tf.tensor1d([0, 1, 0, 1], 'int32');
const sums = tf.unsortedSegmentSum(x, ids, 2); // [2]: [1 + 3, 2 + 4]
console.log(JSON.stringify({ backend: backend.name, fallbacks: backend.fallbackKernels.includes('UnsortedSegmentSum'), sums: Array.from(await sums.data()) }));
process.exit(0);
