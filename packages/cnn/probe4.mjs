import * as tf from '@tensorflow/tfjs-core';
import { useBackend, crossEntropy } from '@dl/core';
import { LeNet5 } from './dist/index.js';
await useBackend(process.argv[2] ?? 'cpu');
const net = new LeNet5();
const x = tf.randomNormal([64, 28, 28, 1]); const y = tf.tensor1d(Array.from({length:64},(_, i)=>i%10),'int32');
const opt = tf.train.adam(1e-3);
for (let i = 0; i < 6; i++) { const t0 = performance.now(); const l = opt.minimize(() => crossEntropy(net.forward(x), y), true, net.parameters(true)); await l.data(); l.dispose(); console.log(i, (performance.now() - t0).toFixed(0), 'ms'); }
let t0 = performance.now(); for (let i=0;i<5;i++){ const o = net.forward(x); await o.data(); o.dispose(); } console.log('fwd', ((performance.now()-t0)/5).toFixed(0));
