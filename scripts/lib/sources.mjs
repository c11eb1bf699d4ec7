// The TypeScript sources of a package's src/ (without the generated gradient bundle), shared by
// check-examples.mjs and run-examples.mjs.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every .ts file below `dir`, skipping `generated/` folders. */
export const tsSources = (dir) => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f);
  return statSync(p).isDirectory() ? (f === 'generated' ? [] : tsSources(p)) : p.endsWith('.ts') ? [p] : [];
});
