#!/usr/bin/env node
// The @dl demos. `node src/main.mjs [part …] [--backend=auto|webgpu|wasm|cpu|tensorflow] [--quick] [--epochs=N]`
// Parts: mlp (default: MNIST MLP from @dl/core), optim, attention, cnn, decode, transformer, all.
import { existsSync } from 'node:fs';
import { useBackend } from '@dl/core';

const PARTS = ['mlp', 'optim', 'attention', 'cnn', 'decode', 'transformer'];
const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const a = args.find((s) => s.startsWith(`--${name}=`) || s === `--${name}`);
  if (!a) return fallback;
  return a.includes('=') ? a.split('=')[1] : true;
};
let parts = args.filter((a) => !a.startsWith('--'));
if (parts.length === 0) parts = ['mlp'];
if (parts.includes('all')) parts = PARTS;
for (const p of parts) {
  if (!PARTS.includes(p)) {
    console.error(`unknown part '${p}': expected one of ${PARTS.join(', ')}, all`);
    process.exit(2);
  }
}

const backend = await useBackend(flag('backend', 'auto'));
console.log(`backend: ${backend.summary}`);
if (backend.fallbackKernels.length) console.log(`  (${backend.fallbackKernels.length} kernels this backend lacks run on cpu: ${backend.fallbackKernels.slice(0, 4).join(', ')}…)`);

const options = {
  quick: Boolean(flag('quick', false)),
  epochs: flag('epochs') ? Number(flag('epochs')) : undefined,
  only: flag('only') ? String(flag('only')).split(',') : undefined,
};
for (const part of parts) {
  const file = new URL(`./parts/${part}.mjs`, import.meta.url);
  if (!existsSync(file)) {
    console.error(`part '${part}' is not available in this checkout`);
    process.exitCode = 1;
    continue;
  }
  console.log(`\n── ${part} ──`);
  const { run } = await import(file.href);
  await run(options);
}
// Dawn (webgpu) keeps the event loop alive; leave explicitly once the demos are done.
process.exit(process.exitCode ?? 0);
