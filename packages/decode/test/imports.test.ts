// The runtime import graph of src/ has no cycles (a cycle makes the evaluation order of modules depend on
// which one a bundler or a user imports first, and breaks tree-shaking).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** Every .ts file under `dir`, relative to src/. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [path.relative(src, full)] : [];
  });
}

/** Relative modules a file imports or re-exports at runtime (`import type` / `export type` are erased). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(path.join(src, file), 'utf8');
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"](\.[^'"]+)['"]/gms;
  for (const m of text.matchAll(re)) {
    if (m[2]) continue; // import type { … } / export type { … }
    const names = m[3].replace(/^\{|\}$/g, '').split(',').map((s) => s.trim()).filter(Boolean);
    if (m[3].trim().startsWith('{') && names.length > 0 && names.every((n) => n.startsWith('type '))) continue; // only inline type imports
    out.push(path.normalize(path.join(path.dirname(file), m[4].replace(/\.js$/, '.ts'))));
  }
  return out;
}

/** One cycle of the graph, or null. */
function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    if (state.get(n) === 'done') return null;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const c = visit(m);
      if (c) return c;
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    const c = visit(n);
    if (c) return c;
  }
  return null;
}

describe('module graph', () => {
  it('the import parser sees runtime imports and skips type-only ones', () => {
    const graph = new Map(sources(src).map((f) => [f, runtimeImports(f)]));
    expect(graph.get('index.ts')).toContain('greedy.ts');
    expect(graph.get('greedy.ts')).toContain('autoregressive.ts');
    expect(graph.get('greedy.ts')).not.toContain('types.ts'); // import type
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
  });

  it('src/ has no import cycle', () => {
    const graph = new Map(sources(src).map((f) => [f, runtimeImports(f)]));
    expect(findCycle(graph)).toBeNull();
  });
});
