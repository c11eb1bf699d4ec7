// Plain Node ESM: selects the cpu backend through @dl/core and runs one op. Prints the result as one JSON
// line; the test checks that tfjs-backend-cpu's "install tfjs-node" banner is not printed: the user chose
// cpu, and useBackend's report already says why tfjs-node is not used.
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '@dl/core';

const backend = await useBackend('cpu');
const sum = tf.sum(tf.tensor1d([1, 2, 3]));
console.log(JSON.stringify({ backend: backend.name, sum: (await sum.data())[0] }));
process.exit(0);
