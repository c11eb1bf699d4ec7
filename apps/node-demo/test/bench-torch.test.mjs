// Keeps `pnpm bench:torch` (scripts/bench-torch.mjs) from rotting: its quick mode without PyTorch must
// run every workload on wasm without leaking tensors (the script exits 1 when one leaks), print the
// table and write its JSON. Lives here because this app depends on every package the bench imports.
// No time is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = new URL('../../../scripts/bench-torch.mjs', import.meta.url).pathname;

test('bench-torch --quick --no-torch runs every workload and writes its JSON', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-torch-'));
  try {
    const out = path.join(dir, 'bench.json');
    const { stdout } = await run(process.execPath, [script, '--quick', '--no-torch', `--out=${out}`], { timeout: 280_000, maxBuffer: 1 << 24 });
    assert.match(stdout, /PyTorch: skipped \(--no-torch\)/);
    assert.match(stdout, /\| workload \| PyTorch \| @dl \(wasm\) \| ratio \| target \| met\? \|/);
    const json = JSON.parse(readFileSync(out, 'utf8'));
    const ids = json.workloads.map((w) => w.id);
    for (const id of ['matmul', 'mlp', 'lenet', 'attn-fwd-64', 'attn-bwd-64', 'mha', 'gpt', 'resnet18']) assert.ok(ids.includes(id), `workload ${id} missing`);
    for (const id of ids) assert.ok(json.results.wasm[id].ms > 0, `no time for ${id}`);
    assert.equal(json.torch.skipped, '--no-torch');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
