// The built package bundles for the browser: no Node built-in is imported, whatever is imported from it
// (saveState's file writing goes through @dl/core, which loads node:fs only at run time, in Node).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';

const pkgRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

async function bundle(code: string): Promise<string[]> {
  const result = await esbuild.build({
    stdin: { contents: code, resolveDir: pkgRoot, loader: 'js' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
    alias: { '@dl/optim': pkgRoot },
  });
  return Object.keys(result.metafile.inputs);
}

describe('browser bundle', () => {
  it('the built files name no Node built-in', () => {
    for (const file of ['dist/index.js', 'dist/index.cjs']) {
      const src = readFileSync(path.join(pkgRoot, file), 'utf8');
      expect(src, file).not.toMatch(/["'](node:)?(fs|fs\/promises|path|os|url|module|child_process)["']/);
    }
  });

  it('esbuild --platform=browser bundles one schedule, and the whole package', async () => {
    expect((await bundle("import { warmupCosine } from '@dl/optim'; console.log(warmupCosine);")).some((f) => f.includes('dist/index.js'))).toBe(true);
    const all = await bundle("import * as optim from '@dl/optim'; console.log(optim);");
    expect(all.filter((f) => /^(node:)?(fs|fs\/promises|path|os)$/.test(f))).toEqual([]);
  });
});
