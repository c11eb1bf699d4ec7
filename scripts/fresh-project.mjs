#!/usr/bin/env node
// The packages as a user gets them: `pnpm pack` every package, install the tarballs with npm into a new
// project outside the repository (in os.tmpdir()), then take each package README's first example (the
// block after `<!-- first-example -->`), unchanged, and
//   - (first) check that importing every package registers nothing in tfjs and adds no global, so their
//     `"sideEffects": false` holds;
//   - run it in Node as ESM (.mjs) and as CommonJS (.cjs: imports become requires, nothing else changes);
//   - type-check it strictly under `module: nodenext` and under `moduleResolution: bundler`;
//   - bundle it for the browser with esbuild (`platform: 'browser'`) and with Vite (an index.html per
//     package), and check that no bundle pulls in a Node built-in.
// Needs built packages (`pnpm build`) and the npm registry for tfjs-core and its cpu backend (npm's cache
// serves later runs). Prints one line per check and "N passed, N failed"; exits 1 if any check failed.
// DL_FRESH_KEEP=1 keeps the project directory for inspection.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstExample, toCommonJS } from './lib/readme-example.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['core', 'optim', 'cnn', 'attention', 'decode', 'transformer'];
const TFJS = '4.22.0';
// Generous limits: the check must pass on a loaded 2-core machine; none of them is an assertion on speed.
const LIMIT = { pack: 120, install: 420, example: 240, tsc: 300, bundle: 300 };
const NODE_BUILTIN = /^(node:)?(fs|fs\/promises|path|os|url|module|child_process|worker_threads|util|crypto|stream|buffer|http|https|net|zlib)$/;

const started = Date.now();
const work = mkdtempSync(path.join(tmpdir(), 'dl-fresh-'));
const tarballs = path.join(work, 'tarballs');
const project = path.join(work, 'project');
const results = [];

/** Runs a command with a time limit; resolves { code, out } (code null when it was killed). */
function run(cmd, args, { cwd, limit, env = cleanEnv() }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n(killed after ${limit} s)`;
      child.kill('SIGKILL');
    }, limit * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out: out + String(e) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The environment without pnpm's npm_* settings, so npm in the new project behaves as a user's would. */
function cleanEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_OPTIONS'));
}

async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    results.push({ name, ok: true });
    console.log(`ok    ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${detail ? ` ${detail}` : ''}`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL  ${name}\n${String(e.message ?? e).replace(/^/gm, '      ')}`);
  }
}

/** Runs `fns` with at most `n` at a time (the machine may have only 2 cores). */
async function pool(n, fns) {
  const queue = [...fns];
  await Promise.all(Array.from({ length: n }, async () => {
    while (queue.length) await queue.shift()();
  }));
}

const tail = (s, n = 30) => s.trim().split('\n').slice(-n).join('\n');

// 1. Tarballs and examples.
mkdirSync(tarballs, { recursive: true });
mkdirSync(path.join(project, 'src'), { recursive: true });
const examples = {};
const packed = {};
for (const pkg of PACKAGES) {
  const dir = path.join(root, 'packages', pkg);
  const name = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).name;
  await check(`${name}: README first example found, pnpm pack`, async () => {
    examples[pkg] = firstExample(readFileSync(path.join(dir, 'README.md'), 'utf8'), `packages/${pkg}/README.md`);
    if (!existsSync(path.join(dir, 'dist', 'index.js'))) throw new Error(`packages/${pkg}/dist is missing: run pnpm build first`);
    const before = new Set(readdirSync(tarballs));
    const r = await run('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dir, limit: LIMIT.pack, env: process.env });
    const made = readdirSync(tarballs).filter((f) => !before.has(f) && f.endsWith('.tgz'));
    if (r.code !== 0 || made.length !== 1) throw new Error(`pnpm pack failed:\n${tail(r.out)}`);
    packed[name] = path.join(tarballs, made[0]);
  });
}

// 2. A new npm project that depends on the tarballs, tfjs-core and the cpu backend.
const dependencies = { '@tensorflow/tfjs-core': TFJS, '@tensorflow/tfjs-backend-cpu': TFJS };
for (const [name, file] of Object.entries(packed)) dependencies[name] = `file:${file}`;
writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'dl-fresh-project', private: true, type: 'module', dependencies }, null, 2));
let installed = false;
await check('npm install of the tarballs in a new project', async () => {
  if (Object.keys(packed).length !== PACKAGES.length) throw new Error('not every package was packed');
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock'];
  let r = await run('npm', args, { cwd: project, limit: LIMIT.install });
  if (r.code !== 0) r = await run('npm', args, { cwd: project, limit: LIMIT.install }); // one retry: a registry hiccup
  if (r.code !== 0) throw new Error(tail(r.out));
  installed = true;
});

if (installed) {
  for (const pkg of PACKAGES) {
    writeFileSync(path.join(project, 'src', `${pkg}.mjs`), examples[pkg]);
    writeFileSync(path.join(project, 'src', `${pkg}.cjs`), toCommonJS(examples[pkg]));
    writeFileSync(path.join(project, 'src', `${pkg}.ts`), examples[pkg]);
  }

  // 3. `"sideEffects": false` is true: importing every package changes no tfjs registry and no global.
  writeFileSync(
    path.join(project, 'src', 'side-effects.mjs'),
    `import * as tf from '@tensorflow/tfjs-core';
const kernels = ['BatchMatMul', 'Conv2D', 'GatherV2', 'Max', 'Cumsum', 'Softmax'];
const snapshot = () => JSON.stringify({
  gradients: kernels.filter((k) => tf.getGradient(k) != null),
  backends: Object.keys(tf.engine().registryFactory),
  globals: Object.keys(globalThis).sort(),
});
const before = snapshot();
${PACKAGES.map((p) => `await import('@dl/${p}');`).join('\n')}
const after = snapshot();
if (after !== before) { console.error('before', before, '\\nafter ', after); process.exit(1); }
console.log('no side effects');
`,
  );
  await check('importing every package registers nothing and adds no global (sideEffects: false holds)', async () => {
    const r = await run(process.execPath, [path.join('src', 'side-effects.mjs')], { cwd: project, limit: LIMIT.example });
    if (r.code !== 0) throw new Error(tail(r.out));
  });

  // 4. Node, ESM and CommonJS.
  await pool(
    2,
    PACKAGES.flatMap((pkg) =>
      ['mjs', 'cjs'].map((ext) => () =>
        check(`@dl/${pkg}: README example runs in Node as ${ext === 'mjs' ? 'ESM' : 'CommonJS'} (.${ext})`, async () => {
          const r = await run(process.execPath, [path.join('src', `${pkg}.${ext}`)], { cwd: project, limit: LIMIT.example });
          if (r.code !== 0) throw new Error(tail(r.out));
          return `→ ${tail(r.out, 1).slice(0, 100)}`;
        }),
      ),
    ),
  );

  // 5. Strict type checks with the repository's TypeScript.
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // The first run also checks every .d.ts the packages ship (skipLibCheck: false); the second need not again.
  const tsconfigs = {
    'module nodenext': { module: 'nodenext', moduleResolution: 'nodenext', skipLibCheck: false },
    'moduleResolution bundler': { module: 'esnext', moduleResolution: 'bundler', skipLibCheck: true },
  };
  for (const [label, options] of Object.entries(tsconfigs)) {
    const file = `tsconfig.${label.split(' ')[1]}.json`;
    const compilerOptions = { target: 'es2022', lib: ['es2022', 'dom'], strict: true, noEmit: true, ...options };
    writeFileSync(path.join(project, file), JSON.stringify({ compilerOptions, files: PACKAGES.map((p) => `src/${p}.ts`) }, null, 2));
    await check(`README examples type-check strictly (${label}${options.skipLibCheck ? '' : ', with the packages\' .d.ts'})`, async () => {
      const r = await run(process.execPath, [tsc, '-p', file], { cwd: project, limit: LIMIT.tsc });
      if (r.code !== 0) throw new Error(tail(r.out, 40));
    });
  }

  // 6. Browser bundles with esbuild: a Node built-in that cannot be resolved fails the build.
  const esbuild = await import('esbuild');
  for (const pkg of PACKAGES) {
    await check(`@dl/${pkg}: README example bundles for the browser with esbuild`, async () => {
      const result = await esbuild.build({
        absWorkingDir: project,
        entryPoints: [`src/${pkg}.mjs`],
        bundle: true,
        platform: 'browser',
        format: 'esm',
        target: 'es2022',
        outfile: `dist-esbuild/${pkg}.js`,
        metafile: true,
        logLevel: 'silent',
      }).catch((e) => {
        throw new Error((e.errors ?? [e]).map((x) => x.text ?? String(x)).join('\n'));
      });
      const builtins = Object.keys(result.metafile.inputs).filter((f) => NODE_BUILTIN.test(f));
      if (builtins.length) throw new Error(`Node built-ins in the bundle: ${builtins.join(', ')}`);
      const kb = Object.values(result.metafile.outputs).reduce((a, o) => a + o.bytes, 0) / 1024;
      return `(${kb.toFixed(0)} KiB)`;
    });
  }

  // 7. One Vite build with a page per package; Vite swaps Node built-ins for an empty stub with a warning.
  await check('README examples bundle for the browser with Vite (a page per package)', async () => {
    const viteRoot = path.join(project, 'vite');
    mkdirSync(viteRoot, { recursive: true });
    const input = {};
    for (const pkg of PACKAGES) {
      writeFileSync(path.join(viteRoot, `${pkg}.ts`), examples[pkg]);
      writeFileSync(path.join(viteRoot, `${pkg}.html`), `<!doctype html>\n<html><body><script type="module" src="./${pkg}.ts"></script></body></html>\n`);
      input[pkg] = path.join(viteRoot, `${pkg}.html`);
    }
    const vite = await import('vite');
    const warnings = [];
    const logger = vite.createLogger('warn');
    const collect = (msg) => warnings.push(String(msg));
    Object.assign(logger, { warn: collect, warnOnce: collect, error: collect });
    await vite.build({
      root: viteRoot,
      configFile: false,
      logLevel: 'warn',
      customLogger: logger,
      build: {
        outDir: path.join(project, 'dist-vite'),
        emptyOutDir: true,
        target: 'es2022',
        chunkSizeWarningLimit: 1e6,
        rollupOptions: { input, onwarn: (w) => collect(w.message) },
      },
    });
    const external = warnings.filter((w) => /externalized for browser compatibility|__vite-browser-external/.test(w));
    const stubbed = readdirSync(path.join(project, 'dist-vite', 'assets')).filter((f) => f.includes('__vite-browser-external'));
    if (external.length || stubbed.length) throw new Error(`Node built-ins stubbed out by Vite:\n${[...external, ...stubbed].join('\n')}`);
  });
}

const failed = results.filter((r) => !r.ok).length;
console.log(`\nfresh npm project: ${((Date.now() - started) / 1000).toFixed(0)} s in ${work}${process.env.DL_FRESH_KEEP ? ' (kept)' : ''}`);
if (!process.env.DL_FRESH_KEEP) rmSync(work, { recursive: true, force: true });
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
