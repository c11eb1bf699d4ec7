#!/usr/bin/env node
// `pnpm bench:torch`: @dl against PyTorch (CPU) on this machine, in the same run: fp32 matmul, an MLP and
// LeNet-5 training step (Adam), attention forward and forward+backward, multi-head attention, a GPT
// training step (nanoGPT's CPU configuration), ResNet-18 forward, and depthwise, grouped and transposed
// convolution layers forward+backward. PyTorch's column comes from one
// Python process (scripts/bench_torch.py); @dl runs here on each backend asked for. Every figure is the
// median of --repeats timed runs after --warmup untimed ones, PyTorch's and @dl's calls alternating so a
// busy machine slows both alike; ratios are @dl ÷ PyTorch (time, or GFLOP/s for matmul). Nothing is asserted about times; the @dl side must not leak tensors (the live
// tensor count is checked after every run, and the script exits 1 when it grows).
//
//   pnpm bench:torch                              # wasm, 5 repeats
//   pnpm bench:torch -- --backends=wasm,cpu --repeats=7 --torch-threads=2
//   node scripts/bench-torch.mjs --quick --no-torch   # smoke run: reduced shapes, 1 repeat
//
// Options: --backends=wasm[,cpu,webgpu] --repeats=N (5) --warmup=N (2) --quick --no-torch
// --tfjs-kernels (@dl/core's wasm SIMD kernels off: tfjs's own, for before/after comparisons)
// --threads=N[/M] (wasm: `useBackend('wasm', { threads: N, tfjsThreads: M })`; compare with --torch-threads=N)
// --torch-threads=N (PyTorch's threads; default its own) --python=PATH (/usr/bin/python3)
// --only=ID[,ID…] (workload ids or prefixes, e.g. attn-fwd) --out=FILE (out/bench-torch.json).
// Needs the built packages (`pnpm build`). Python with torch is optional: without it PyTorch's column
// is skipped with a message.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const VALID = ['backends', 'repeats', 'warmup', 'quick', 'no-torch', 'tfjs-kernels', 'threads', 'torch-threads', 'python', 'only', 'out', 'help'];

function parseArgs(argv) {
  const o = {};
  for (const a of argv) {
    if (a === '--') continue; // pnpm passes it through
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m || !VALID.includes(m[1])) throw new Error(`bench-torch: unknown argument '${a}'; valid: ${VALID.map((v) => `--${v}`).join(', ')}`);
    o[m[1]] = m[2] ?? true;
  }
  return o;
}

function intArg(args, name, fallback, min) {
  if (args[name] === undefined) return fallback;
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) throw new Error(`bench-torch: --${name} must be an integer ≥ ${min}, got '${args[name]}'`);
  return n;
}

const args = parseArgs(process.argv.slice(2));
if (args.help) {
  console.log(readHeader());
  process.exit(0);
}
const quick = !!args.quick;
const repeats = intArg(args, 'repeats', quick ? 1 : 5, 1);
const warmup = intArg(args, 'warmup', quick ? 1 : 2, 1); // ≥ 1: optimizer state and kernels exist before the leak baseline
const torchThreads = intArg(args, 'torch-threads', 0, 1) || null;
const backends = String(args.backends ?? 'wasm').split(',').map((s) => s.trim()).filter(Boolean);
const outFile = path.resolve(root, args.out ?? 'out/bench-torch.json');
const python = args.python ?? '/usr/bin/python3';
const wasmThreads = (() => {
  if (args.threads === undefined) return {};
  const m = /^(\d+)(?:\/(\d+))?$/.exec(String(args.threads));
  if (!m) throw new Error(`bench-torch: --threads must be N or N/M (threads, tfjsThreads), got '${args.threads}'`);
  return m[2] ? { threads: Number(m[1]), tfjsThreads: Number(m[2]) } : { threads: Number(m[1]) };
})();

/** The comment at the top of this file (the usage). */
function readHeader() {
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  return lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The workloads, shared with PyTorch through the spec (quick: reduced shapes, figures not comparable
// with the full run's).
const GPT_CFG = quick ? { vocabSize: 65, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 32 } : { vocabSize: 65, blockSize: 64, nLayer: 4, nHead: 4, nEmbd: 128 };
const GPT_BATCH = quick ? 2 : 12;
const ATTN_FWD_N = quick ? [64] : [256, 1024, 2048];
const ATTN_BWD_N = quick ? [64] : [256, 1024];
const MM_N = quick ? 128 : 1024;
const MHA = quick ? { embed: 64, heads: 8, n: 32, batch: 1 } : { embed: 512, heads: 8, n: 256, batch: 1 };
const RESNET = { size: quick ? 32 : 224, batch: 1 };
const TRAIN_BATCH = quick ? 8 : 64;
const CONV_N = quick ? 2 : 16;

const workloads = [
  { id: 'matmul', kind: 'matmul', n: MM_N, label: `fp32 matmul ${MM_N}×${MM_N}`, unit: 'GFLOP/s', target: { min: 0.25 } },
  { id: 'mlp', kind: 'mlp', sizes: [784, 256, 128, 10], batch: TRAIN_BATCH, label: `MLP 784-256-128-10 train step, batch ${TRAIN_BATCH}, Adam`, target: { max: 3 } },
  { id: 'lenet', kind: 'lenet', batch: TRAIN_BATCH, label: `LeNet-5 train step, batch ${TRAIN_BATCH}, Adam`, target: { max: 2 } },
  ...ATTN_FWD_N.map((n) => ({ id: `attn-fwd-${n}`, kind: 'attention', batch: 1, heads: 8, n, dim: 64, label: `attention forward 1×8×${n}×64`, target: { max: 3 } })),
  ...ATTN_BWD_N.map((n) => ({ id: `attn-bwd-${n}`, kind: 'attention', batch: 1, heads: 8, n, dim: 64, backward: true, label: `attention forward+backward 1×8×${n}×64` })),
  { id: 'mha', kind: 'mha', ...MHA, label: `multi-head attention d=${MHA.embed}, ${MHA.heads} heads, N=${MHA.n}, fwd+bwd` },
  { id: 'gpt', kind: 'gpt', config: GPT_CFG, batch: GPT_BATCH, label: `GPT train step (${GPT_CFG.nLayer} layers, ${GPT_CFG.nHead} heads, width ${GPT_CFG.nEmbd}, context ${GPT_CFG.blockSize}, batch ${GPT_BATCH}, AdamW, clip 1)`, target: { max: 3 } },
  { id: 'resnet18', kind: 'resnet18', ...RESNET, label: `ResNet-18 forward, batch 1, ${RESNET.size}×${RESNET.size}` },
  // Convolutions besides the plain one: a layer's forward and backward (input gradient included).
  ...[
    { id: 'conv-depthwise', name: 'depthwise Conv2d 64 ch, 3×3', layer: { cin: 64, cout: 64, k: 3, stride: 1, padding: 1, groups: 64, transposed: false }, input: [CONV_N, 28, 28] },
    { id: 'conv-grouped', name: 'grouped Conv2d 64→64, 4 groups, 3×3', layer: { cin: 64, cout: 64, k: 3, stride: 1, padding: 1, groups: 4, transposed: false }, input: [CONV_N, 28, 28] },
    { id: 'conv-transposed', name: 'ConvTranspose2d 32→16, 4×4, stride 2', layer: { cin: 32, cout: 16, k: 4, stride: 2, padding: 1, groups: 1, transposed: true }, input: [CONV_N, 14, 14] },
  ].map(({ name, input, ...c }) => ({ ...c, kind: 'conv', input, label: `${name} fwd+bwd, ${input[0]}×${input[1]}×${input[2]}` })),
];
const only = args.only ? String(args.only).split(',').filter(Boolean) : null;
const chosen = only ? workloads.filter((w) => only.some((p) => w.id === p || w.id.startsWith(p))) : workloads;
if (chosen.length === 0) throw new Error(`bench-torch: --only=${args.only} matches no workload; ids: ${workloads.map((w) => w.id).join(', ')}`);

const gflops = (w, ms) => (2 * w.n ** 3) / (ms * 1e6);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// ---------------------------------------------------------------------------------------------------
// PyTorch's column: one Python process (scripts/bench_torch.py) answering one workload at a time.
async function startTorch() {
  if (args['no-torch']) return { skipped: '--no-torch' };
  if (!existsSync(python)) return { skipped: `no ${python}` };
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `PyTorch not importable by ${python} (${(probe.stderr || '').trim().split('\n').at(-1)})` };
  const env = { ...process.env };
  if (torchThreads) {
    env.OMP_NUM_THREADS ??= String(torchThreads);
    env.OPENBLAS_NUM_THREADS ??= String(torchThreads);
  }
  const child = spawn(python, [path.join(root, 'scripts/bench_torch.py')], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (message) => {
    child.stdin.write(`${JSON.stringify(message)}\n`);
    const { value, done } = await replies.next();
    if (done) throw new Error(`bench-torch: scripts/bench_torch.py ended without answering ${JSON.stringify(message)} (exit ${child.exitCode})`);
    return JSON.parse(value);
  };
  const info = await ask({ warmup, threads: torchThreads });
  return {
    info,
    prepare: async ({ label, unit, target, ...w }) => ask({ op: 'prepare', workload: w }),
    run: async () => (await ask({ op: 'run' })).ms,
    close: () => child.stdin.end(),
  };
}

// ---------------------------------------------------------------------------------------------------
// @dl's column: each builder returns { run, dispose }; run() finishes only when the device is done.
async function loadDl() {
  const imp = async (p) => {
    const file = path.join(root, 'packages', p, 'dist/index.js');
    if (!existsSync(file)) throw new Error(`bench-torch: ${path.relative(root, file)} is missing: run \`pnpm build\` first`);
    return import(pathToFileURL(file).href);
  };
  const [tf, core, optim, attention, cnn, transformer] = await Promise.all([
    import('@tensorflow/tfjs-core'),
    imp('core'),
    imp('optim'),
    imp('attention'),
    imp('cnn'),
    imp('transformer'),
  ]);
  return { tf, core, optim, attention, cnn, transformer };
}

function builders({ tf, core, optim, attention, cnn, transformer }) {
  const trainStep = (model, forward, x, y) => {
    const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
    return {
      run: async () => {
        const loss = await opt.minimize(() => core.crossEntropy(forward(x), y));
        await loss.data();
        loss.dispose();
      },
      dispose: () => {
        opt.dispose();
        model.dispose();
        tf.dispose([x, y]);
      },
    };
  };
  const labels = (n, classes) => tf.tensor1d(Array.from({ length: n }, (_, i) => i % classes), 'int32');
  return {
    matmul: (w) => {
      const a = tf.randomNormal([w.n, w.n], 0, 1, 'float32', 1);
      const b = tf.randomNormal([w.n, w.n], 0, 1, 'float32', 2);
      return {
        run: async () => {
          const y = core.matMul(a, b);
          await y.data();
          y.dispose();
        },
        dispose: () => tf.dispose([a, b]),
      };
    },
    mlp: (w) => {
      core.manualSeed(0);
      const layers = [];
      for (let i = 0; i < w.sizes.length - 1; i++) {
        layers.push(new core.Linear(w.sizes[i], w.sizes[i + 1]));
        if (i < w.sizes.length - 2) layers.push(new core.ReLU());
      }
      const model = new core.Sequential(...layers);
      return trainStep(model, (x) => model.forward(x), tf.randomUniform([w.batch, w.sizes[0]], 0, 1, 'float32', 1), labels(w.batch, w.sizes.at(-1)));
    },
    lenet: (w) => {
      core.manualSeed(0);
      const model = new cnn.LeNet5();
      return trainStep(model, (x) => model.forward(x), tf.randomUniform([w.batch, 28, 28, 1], 0, 1, 'float32', 1), labels(w.batch, 10));
    },
    attention: (w) => {
      const shape = [w.batch, w.heads, w.n, w.dim];
      const [q, k, v, dy] = [1, 2, 3, 4].map((s) => tf.randomNormal(shape, 0, 1, 'float32', s));
      const attend = (a, b, c) => attention.scaledDotProductAttention(a, b, c).output;
      const grads = tf.grads(attend);
      return {
        run: async () => {
          if (!w.backward) {
            const y = attend(q, k, v);
            await y.data();
            y.dispose();
            return;
          }
          const g = grads([q, k, v], dy);
          await Promise.all(g.map((t) => t.data()));
          tf.dispose(g);
        },
        dispose: () => tf.dispose([q, k, v, dy]),
      };
    },
    mha: (w) => {
      core.manualSeed(0);
      const m = new attention.MultiHeadAttention(w.embed, w.heads);
      const x = tf.randomNormal([w.batch, w.n, w.embed], 0, 1, 'float32', 1);
      const dy = tf.randomNormal([w.batch, w.n, w.embed], 0, 1, 'float32', 2);
      const params = m.parameters(true);
      return {
        run: async () => {
          // The gradient of Σ out·dy is out's backward pass with upstream gradient dy (PyTorch's out.backward(dy)).
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(m.forward(x, x, x).output, dy)), params);
          await Promise.all(Object.values(grads).map((t) => t.data()));
          tf.dispose([value, ...Object.values(grads)]);
        },
        dispose: () => {
          m.dispose();
          tf.dispose([x, dy]);
        },
      };
    },
    gpt: (w) => {
      const cfg = w.config;
      const gpt = new transformer.GPT({ ...cfg, dropout: 0, seed: 0 });
      let s = 1;
      const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) % cfg.vocabSize;
      const batch = () => Array.from({ length: w.batch }, () => Array.from({ length: cfg.blockSize + 1 }, rnd));
      const trainer = new transformer.Trainer({
        model: gpt,
        batch,
        loss: (b) => gpt.loss(b.map((r) => r.slice(0, -1)), b.map((r) => r.slice(1))),
        optimizer: { lr: 1e-3, weightDecay: 0.1, betas: [0.9, 0.99] },
        clipGradNorm: 1,
      });
      return {
        run: async () => {
          await trainer.fit(trainer.step + 1); // one optimizer step (fit's argument is the total)
        },
        dispose: () => {
          trainer.dispose();
          gpt.dispose();
        },
      };
    },
    conv: (w) => {
      core.manualSeed(0);
      const { cin, cout, k, stride, padding, groups, transposed } = w.layer;
      const layer = transposed ? new cnn.ConvTranspose2d(cin, cout, k, { stride, padding, groups }) : new cnn.Conv2d(cin, cout, k, { stride, padding, groups });
      const x = tf.tidy(() => tf.variable(tf.randomNormal([w.input[0], w.input[1], w.input[2], cin], 0, 1, 'float32', 1))); // NHWC
      const dy = tf.tidy(() => tf.randomNormal(layer.forward(x).shape, 0, 1, 'float32', 2));
      const vars = [...layer.parameters(true), x];
      return {
        run: async () => {
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.forward(x), dy)), vars);
          await Promise.all(Object.values(grads).map((t) => t.data()));
          tf.dispose([value, ...Object.values(grads)]);
        },
        dispose: () => {
          layer.dispose();
          tf.dispose([x, dy]);
        },
      };
    },
    resnet18: (w) => {
      core.manualSeed(0);
      const net = cnn.resnet18().eval();
      const x = tf.randomUniform([w.batch, w.size, w.size, 3], 0, 1, 'float32', 1);
      return {
        run: async () => {
          const y = net.forward(x);
          await y.data();
          y.dispose();
        },
        dispose: () => {
          net.dispose();
          x.dispose();
        },
      };
    },
  };
}

/**
 * Times workload `w` on the current backend: warm-up calls, then `repeats` timed calls, each right after
 * one PyTorch call (`torchRun`, when PyTorch runs) so both see the same load. Returns both lists (ms).
 * Throws when a call leaves tensors behind or the job does not free what it made.
 */
async function timePair(tf, make, w, torchRun) {
  const before = tf.memory().numTensors;
  const job = make(w);
  for (let i = 0; i < warmup; i++) await job.run();
  const base = tf.memory().numTensors; // after warm-up: optimizer slots and caches exist by now
  const ours = [];
  const theirs = [];
  for (let i = 0; i < repeats; i++) {
    if (torchRun) theirs.push(await torchRun());
    const t0 = performance.now();
    await job.run();
    ours.push(performance.now() - t0);
    const now = tf.memory().numTensors;
    if (now !== base) throw new Error(`bench-torch: ${w.id} leaked ${now - base} tensors in timed run ${i + 1} (${base} → ${now} live tensors)`);
  }
  job.dispose();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`bench-torch: ${w.id} left ${after - before} tensors after dispose (${before} → ${after})`);
  return { ours, theirs };
}

// ---------------------------------------------------------------------------------------------------
const fmtNum = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const fmtVal = (w, ms) => (ms == null ? '—' : w.unit === 'GFLOP/s' ? `${fmtNum(gflops(w, ms))} GFLOP/s` : `${fmtNum(ms)} ms`);
/** @dl ÷ PyTorch: GFLOP/s for matmul (higher is better), time otherwise (lower is better). */
const ratioOf = (w, dlMs, torchMs) => (dlMs == null || torchMs == null ? null : w.unit === 'GFLOP/s' ? torchMs / dlMs : dlMs / torchMs);
const fmtTarget = (t) => (!t ? '—' : t.min !== undefined ? `≥ ${t.min}×` : `≤ ${t.max}×`);
const metOf = (t, r) => (!t || r == null ? null : t.min !== undefined ? r >= t.min : r <= t.max);

const started = new Date();
const command = `node scripts/bench-torch.mjs ${process.argv.slice(2).join(' ')}`.trim();
const dl = await loadDl(); // first: a missing build fails before PyTorch starts
if (args['tfjs-kernels']) dl.core.useWasmKernels(false); // tfjs's own wasm kernels: the "before" column
const make = builders(dl);
const available = [];
for (const name of backends) {
  if (name === 'webgpu') {
    process.env.VK_ICD_FILENAMES ??= '/usr/lib/chromium/vk_swiftshader_icd.json';
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
  }
  const report = await dl.core.useBackend(name, name === 'wasm' ? wasmThreads : {});
  if (report.name === name) available.push(name);
  else console.log(`${name}: unavailable (${report.summary})`);
  if (report.name === 'wasm' && args.threads !== undefined) console.log(`@dl: ${report.summary.replace(/ \((?!tfjs).*\)$/, '')}`);
}
const loadStart = os.loadavg()[0];
const torch = await startTorch();
const tinfo = torch.info;
const torchLine = torch.skipped
  ? `PyTorch: skipped (${torch.skipped})`
  : `PyTorch ${tinfo.torch} CPU: ${tinfo.threads} intra-op thread(s)${torchThreads ? ' (--torch-threads)' : ' (its default)'}, BLAS ${tinfo.blas}${tinfo.blasThreads ? ` (${tinfo.blasThreads} threads)` : ''}, build ${tinfo.blasInfo}`;
const warnings = [];
if (tinfo && tinfo.blas !== 'OpenBLAS' && tinfo.blas !== 'MKL') {
  warnings.push(`WARNING: PyTorch is using ${tinfo.blas}: its matmul figures are far below an optimised BLAS (install libopenblas0-pthread on Debian)`);
}

// Workload by workload and backend by backend, one PyTorch call then one @dl call, so that load from
// other processes hits both columns alike. PyTorch's figure is the median of all its calls.
const torchMs = {};
const results = Object.fromEntries(available.map((name) => [name, {}]));
for (const w of chosen) {
  if (torch.prepare) await torch.prepare(w);
  const theirs = [];
  for (const name of available) {
    await dl.core.useBackend(name);
    let pair;
    try {
      pair = await timePair(dl.tf, make[w.kind], w, torch.run);
    } catch (e) {
      console.error(`bench-torch: ${w.id} on ${name} failed: ${e.stack ?? e}`);
      process.exit(1);
    }
    theirs.push(...pair.theirs);
    results[name][w.id] = { ms: median(pair.ours) };
    console.error(`${w.id}: @dl ${name} ${median(pair.ours).toFixed(2)} ms${pair.theirs.length ? `, PyTorch ${median(pair.theirs).toFixed(2)} ms` : ''}`);
  }
  if (theirs.length) torchMs[w.id] = median(theirs);
}
torch.close?.();

const cpus = os.cpus();
const lines = [
  `@dl vs PyTorch — ${started.toISOString().replace(/\.\d+Z$/, 'Z')}; command: ${command}`,
  `machine: ${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, load average ${loadStart.toFixed(2)} at the start, ${os.loadavg()[0].toFixed(2)} at the end; Node ${process.version}, TensorFlow.js ${dl.tf.version_core}`,
  torchLine,
  ...warnings,
  `median of ${repeats} timed run(s) after ${warmup} warm-up run(s), PyTorch's and @dl's alternating; ratio = @dl ÷ PyTorch (time; GFLOP/s for matmul)${quick ? '; QUICK MODE: reduced shapes, not comparable with the full run' : ''}${args['tfjs-kernels'] ? "; @dl\'s wasm SIMD kernels OFF (--tfjs-kernels)" : ''}`,
];
for (const name of Object.keys(results)) {
  lines.push('', `| workload | PyTorch | @dl (${name}) | ratio | target | met? |`, '| --- | ---: | ---: | ---: | ---: | :---: |');
  for (const w of chosen) {
    const dlMs = results[name][w.id].ms;
    const tMs = torchMs[w.id] ?? null;
    const r = ratioOf(w, dlMs, tMs);
    const met = metOf(w.target, r);
    results[name][w.id].ratio = r;
    results[name][w.id].met = met;
    lines.push(`| ${w.label} | ${fmtVal(w, tMs)} | ${fmtVal(w, dlMs)} | ${r == null ? '—' : `${r < 0.1 ? r.toPrecision(2) : r.toFixed(2)}×`} | ${fmtTarget(w.target)} | ${met == null ? '—' : met ? 'yes' : 'no'} |`);
  }
}
console.log(lines.join('\n'));

mkdirSync(path.dirname(outFile), { recursive: true });
const json = {
  date: started.toISOString(),
  command,
  quick,
  repeats,
  warmup,
  machine: { cpus: cpus.length, model: cpus[0]?.model, loadavg: os.loadavg(), node: process.version, tfjs: dl.tf.version_core },
  torch: torch.skipped ? { skipped: torch.skipped } : { ...tinfo, ms: torchMs },
  workloads: chosen.map(({ id, label, unit, target }) => ({ id, label, unit: unit ?? 'ms', target: target ?? null })),
  results,
};
writeFileSync(outFile, `${JSON.stringify(json, null, 2)}\n`);
console.log(`\nJSON: ${path.relative(process.cwd(), outFile) || outFile}`);
process.exit(0);
