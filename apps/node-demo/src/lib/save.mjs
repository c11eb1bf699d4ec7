// `--save`: the demos write their trained models as safetensors files (weights under the modules'
// PyTorch-style names, the configuration and vocabularies as JSON strings in the header's metadata), so
// the web app (apps/web) or a user's own code loads them with @dl/core's `loadIntoModule`.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { saveCheckpoint } from '@dl/core';

/** Where `--save` without a path writes. */
export const DEFAULT_SAVE_DIR = fileURLToPath(new URL('../../out/checkpoints/', import.meta.url));

/**
 * Writes `module`'s weights to `<dir>/<name>.safetensors`; `metadata` values that are not strings are
 * stored as JSON. Returns the path.
 */
export async function saveModel(dir, name, module, metadata = {}) {
  mkdirSync(dir, { recursive: true });
  const path = `${dir.replace(/\/$/, '')}/${name}.safetensors`;
  const meta = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
  await saveCheckpoint(module, path, meta);
  console.log(`saved ${name} (${module.numParameters().toLocaleString('en')} parameters): ${path}`);
  return path;
}
