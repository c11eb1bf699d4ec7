// Every @dl package checks tensors with @dl/core's isTensor/isVariable, never a bare `instanceof tf.Tensor`
// (see src/tensor-check.ts for why), so a new check cannot slip in unnoticed.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packages = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('tensor checks', () => {
  it('no package source uses instanceof tf.Tensor or tf.Variable outside tensor-check.ts', () => {
    const offenders: string[] = [];
    for (const pkg of readdirSync(packages)) {
      let files: string[];
      try {
        files = sources(path.join(packages, pkg, 'src'));
      } catch {
        continue;
      }
      for (const file of files) {
        if (file.endsWith(`${path.sep}tensor-check.ts`)) continue;
        readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
          if (/instanceof\s+tf\.(Tensor|Variable)\b/.test(line) && !/^\s*(\*|\/\/)/.test(line)) offenders.push(`${path.relative(packages, file)}:${i + 1}`);
        });
      }
    }
    expect(offenders).toEqual([]);
  });
});
