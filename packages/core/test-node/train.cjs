// Plain Node CommonJS: the same check as train.mjs through require().
const tf = require('@tensorflow/tfjs-core');
const { useBackend, hasGradient, manualSeed, Sequential, Linear, ReLU, crossEntropy } = require('@dl/core');

(async () => {
  const backend = await useBackend(process.argv[2] || 'cpu');
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
  const ok = hasGradient('BatchMatMul') && losses[losses.length - 1] < losses[0] * 0.2;
  console.log(JSON.stringify({ module: 'cjs', backend: backend.name, first: losses[0], last: losses[losses.length - 1], ok }));
  process.exit(ok ? 0 : 1);
})();
