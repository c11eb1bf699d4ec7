#!/usr/bin/env node
// Runs every TSDoc `@example` of every package (the brief: "every export has TSDoc with a runnable
// example"). Each ```ts block is stripped of its types by esbuild, given the cpu backend, and run as its
// own ES module by plain `node`, from a scratch directory (examples may write files), against the built
// packages (`pnpm build` first). Examples are written into `packages/<name>/.examples/`, so they resolve
// imports as the package does (its dependencies and devDependencies, and itself by name).
// A statement whose line comment starts with `throws` must throw, and with `throws "text …"` its
// message must contain the text before the `…`.
// The ```ts blocks of the guides (docs/guides/*.md) run the same way, from `docs/.examples/`, which links
// every @dl package (and tfjs-layers, which the interop guide uses); a block whose info string says
// `no-run` (```ts no-run) is shown, not run (e.g. one that needs a file from PyTorch).
// Exits 1 with the failing examples. Usage: node scripts/run-examples.mjs [package … | guides]
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { tsSources } from './lib/sources.mjs';
import { promisify } from 'node:util';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { transform } = createRequire(path.join(root, 'packages/core/package.json'))('esbuild');
const run = promisify(execFile);


/** The ```ts blocks of the `@example` sections of a source file, with their line numbers. */
function examplesOf(file) {
  const src = readFileSync(file, 'utf8');
  const found = [];
  for (const c of src.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const at = c.index;
    const body = c[0].split('\n').map((l) => l.replace(/^\s*\/?\*+\/?\s?/, '')).join('\n');
    const ex = body.indexOf('@example');
    if (ex < 0) continue;
    for (const b of body.slice(ex).matchAll(/```(?:ts|typescript|js)[^\n]*\n([\s\S]*?)```/g)) {
      found.push({ file: path.relative(root, file), line: src.slice(0, at).split('\n').length, code: b[1] });
    }
  }
  return found;
}

/** The runnable ```ts blocks of a markdown guide, with their line numbers. */
function guideBlocksOf(file) {
  const src = readFileSync(file, 'utf8');
  const found = [];
  for (const b of src.matchAll(/^```(ts|typescript|js)([^\n]*)\n([\s\S]*?)^```/gm)) {
    if (/\bno-run\b/.test(b[2])) continue;
    found.push({ file: path.relative(root, file), line: src.slice(0, b.index).split('\n').length + 1, code: b[3] });
  }
  return found;
}

/** `stmt; // throws "message …"` → a check that the statement throws (sync or async) that message. */
const expectThrows = (code) => code.split('\n').map((l) => {
  const m = /^(\s*)(.*?);?\s*\/\/\s*throws\b(.*)$/.exec(l);
  if (!m) return l;
  const quoted = /"([^"]*)"/.exec(m[3]);
  const text = quoted ? quoted[1].split('…')[0].trim() : '';
  return `${m[1]}await __expectThrow(async () => { ${m[2]}; }, ${JSON.stringify(m[2])}, ${JSON.stringify(text)});`;
}).join('\n');

const prelude = `import * as __tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
await __tf.setBackend('cpu');
async function __expectThrow(f, what, text) {
  try { await f(); } catch (e) {
    if (String(e?.message).includes(text)) return;
    throw new Error('expected ' + what + ' to throw a message containing ' + JSON.stringify(text) + ', got ' + JSON.stringify(String(e?.message)));
  }
  throw new Error('expected to throw: ' + what);
}
`;

const wanted = process.argv.slice(2);
const packages = readdirSync(path.join(root, 'packages')).filter((p) => !wanted.length || wanted.includes(p));
const guidesDir = path.join(root, 'docs', 'guides');
const withGuides = (!wanted.length || wanted.includes('guides')) && existsSync(guidesDir);
const GUIDES = 'guides';
const dirOf = (pkg) => (pkg === GUIDES ? path.join(root, 'docs', '.examples') : path.join(root, 'packages', pkg, '.examples'));
for (const pkg of packages) {
  rmSync(dirOf(pkg), { recursive: true, force: true });
  mkdirSync(dirOf(pkg));
}
const jobs = [];
for (const pkg of packages) {
  for (const file of tsSources(path.join(root, 'packages', pkg, 'src'))) {
    for (const ex of examplesOf(file)) jobs.push({ pkg, ...ex });
  }
}
if (withGuides) {
  // A guide imports any @dl package, as an app depending on all of them would: link each one (they resolve
  // tfjs-core from their own node_modules, the same pnpm copy as the root's, so there is one tfjs).
  const modules = path.join(dirOf(GUIDES), 'node_modules');
  rmSync(dirOf(GUIDES), { recursive: true, force: true });
  mkdirSync(path.join(modules, '@dl'), { recursive: true });
  mkdirSync(path.join(modules, '@tensorflow'), { recursive: true });
  for (const pkg of readdirSync(path.join(root, 'packages'))) symlinkSync(path.join(root, 'packages', pkg), path.join(modules, '@dl', pkg), 'dir');
  symlinkSync(path.join(root, 'packages/core/node_modules/@tensorflow/tfjs-layers'), path.join(modules, '@tensorflow', 'tfjs-layers'), 'dir');
  for (const file of readdirSync(guidesDir).filter((f) => f.endsWith('.md')).sort()) {
    for (const ex of guideBlocksOf(path.join(guidesDir, file))) jobs.push({ pkg: GUIDES, ...ex });
  }
}

const failures = [];
let next = 0;
async function worker() {
  while (next < jobs.length) {
    const job = jobs[next];
    const id = next++;
    const where = `${job.file}:${job.line}`;
    let js;
    try {
      js = (await transform(expectThrows(job.code), { loader: 'ts', format: 'esm', target: 'node20' })).code;
    } catch (e) {
      failures.push({ where, error: `does not compile: ${e.message.split('\n').slice(0, 3).join(' ')}` });
      continue;
    }
    const file = path.join(dirOf(job.pkg), `ex${id}.mjs`);
    writeFileSync(file, `${prelude}// ${where}\n${js}`);
    const cwd = mkdtempSync(path.join(os.tmpdir(), 'dl-example-'));
    try {
      await run(process.execPath, [file], { cwd, timeout: 120_000, maxBuffer: 1 << 24 });
    } catch (e) {
      const text = `${e.stderr ?? ''}${e.killed ? ' (timed out after 120 s)' : ''}`.split('\n').filter((l) => /Error|expected|timed out/.test(l)).slice(0, 3).join(' | ');
      failures.push({ where, error: text || String(e.message).slice(0, 300) });
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }
}
const t0 = Date.now();
await Promise.all(Array.from({ length: Number(process.env.EXAMPLE_JOBS ?? Math.min(4, os.availableParallelism?.() ?? 2)) }, worker));
for (const pkg of withGuides ? [...packages, GUIDES] : packages) rmSync(dirOf(pkg), { recursive: true, force: true });
const seconds = ((Date.now() - t0) / 1000).toFixed(0);
if (failures.length) {
  console.log(`run-examples: ${failures.length} of ${jobs.length} examples failed (${seconds} s):`);
  for (const f of failures) console.log(`  ${f.where}: ${f.error}`);
  process.exit(1);
}
console.log(`run-examples: all ${jobs.length} examples of ${[...packages, ...(withGuides ? ['the guides'] : [])].join(', ')} ran on the cpu backend (${seconds} s)`);
