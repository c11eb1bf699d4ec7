#!/usr/bin/env node
// Every function and class a package exports publicly (from src/index.ts or src/testing.ts) must carry a TSDoc `@example` (the brief: "every
// export has TSDoc with a runnable example"). Types and interfaces are described, not run. Exits 1 with the list.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { tsSources } from './lib/sources.mjs';

const missing = [];
/** Names a package exports publicly: what its entry files re-export (`export { a, b as c }`, `export class …`). */
function publicNames(pkg) {
  const names = new Set();
  for (const entry of ['index.ts', 'testing.ts']) {
    let src;
    try {
      src = readFileSync(path.join('packages', pkg, 'src', entry), 'utf8');
    } catch {
      continue;
    }
    for (const m of src.matchAll(/export\s*(?:type\s*)?\{([^}]*)\}/g)) {
      for (const part of m[1].split(',')) {
        const n = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0].trim();
        if (n) names.add(n);
      }
    }
    for (const m of src.matchAll(/export (?:abstract )?(?:async )?(?:function|class) (\w+)/g)) names.add(m[1]);
  }
  return names;
}

for (const pkg of readdirSync('packages')) {
  const exported = publicNames(pkg);
  for (const file of tsSources(path.join('packages', pkg, 'src'))) {
    const src = readFileSync(file, 'utf8');
    const re = /(\/\*\*[\s\S]*?\*\/\s*)?export (?:abstract )?(?:async )?(function|class) (\w+)/g;
    for (const m of src.matchAll(re)) {
      if (exported.has(m[3]) && (!m[1] || !m[1].includes('@example'))) missing.push(`${file}: ${m[2]} ${m[3]}`);
    }
  }
}
if (missing.length) {
  console.log(`${missing.length} exported functions/classes without an @example:\n${missing.join('\n')}`);
  process.exit(1);
}
console.log('check-examples: every exported function and class has an @example');
