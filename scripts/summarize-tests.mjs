#!/usr/bin/env node
// Prints every package's test counts per backend (from the JSON reports the test tasks leave in
// test-results/, also when turbo replays them from cache) and one closing line for the whole run.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const rows = [];
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(group)) {
    const results = path.join(group, dir, 'test-results');
    if (!existsSync(results)) continue;
    const name = JSON.parse(readFileSync(path.join(group, dir, 'package.json'), 'utf8')).name;
    for (const file of readdirSync(results).filter((f) => f.endsWith('.json')).sort()) {
      const j = JSON.parse(readFileSync(path.join(results, file), 'utf8'));
      rows.push({ name, backend: path.basename(file, '.json'), passed: j.numPassedTests, failed: j.numFailedTests, skipped: (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0) });
    }
  }
}
console.log('\npackage              backend   passed  failed  skipped');
for (const r of rows) console.log(`${r.name.padEnd(20)} ${r.backend.padEnd(8)} ${String(r.passed).padStart(7)} ${String(r.failed).padStart(7)} ${String(r.skipped).padStart(8)}`);
const backends = [...new Set(rows.map((r) => r.backend))];
console.log(`backends that ran: ${backends.join(', ')}`);
const total = rows.reduce((a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed }), { passed: 0, failed: 0 });
console.log(`${total.passed} passed, ${total.failed} failed`);
process.exit(total.failed > 0 || rows.length === 0 ? 1 : 0);
