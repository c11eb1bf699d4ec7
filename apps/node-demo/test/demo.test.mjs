// Smoke test of every demo part in quick mode on wasm: each must exit 0, print its figures, learn
// something (accuracy well above chance where the quick run is long enough to show it) and write its
// images. The full-length figures are in the package READMEs; these runs take about a minute in all.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
// Generous limits: a part takes 10–80 s on a quiet 2-core machine, and CI may share the machine with
// other work (a smoke run once timed out on a loaded machine). The thresholds below keep wide margins.
const PART_LIMIT_MS = 600_000;
const main = new URL('../src/main.mjs', import.meta.url).pathname;
const out = new URL('../out/', import.meta.url);
const counts = { numPassedTests: 0, numFailedTests: 0, numPendingTests: 0, numTodoTests: 0 };

/** Runs one part with --quick on wasm; returns its stdout. */
async function part(name) {
  const { stdout } = await run(process.execPath, [main, name, '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  return stdout;
}
const number = (text, re, what) => {
  const m = re.exec(text);
  assert.ok(m, `no ${what} in the output`);
  return Number(m[1]);
};
const isPng = (file) => readFileSync(file).subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));

function check(name, fn) {
  test(name, { timeout: PART_LIMIT_MS + 60_000 }, async () => {
    try {
      await fn();
      counts.numPassedTests++;
    } catch (e) {
      counts.numFailedTests++;
      throw e;
    }
  });
}

check('mlp: the MNIST MLP learns (held-out accuracy > 50 % after the quick run; chance is 10 %)', async () => {
  const text = await part('mlp');
  const acc = number(text, /held-out accuracy: ([\d.]+)%/, 'held-out accuracy');
  assert.ok(acc > 50 && acc <= 100, `held-out accuracy ${acc}%`);
  assert.match(text, /training throughput: \d+ images\/s/);
});

check('optim: AdamW + warmup-cosine separates the spirals (train accuracy > 90 %)', async () => {
  const text = await part('optim');
  const acc = number(text, /train accuracy ([\d.]+)%/, 'train accuracy');
  assert.ok(acc > 90, `train accuracy ${acc}%`);
});

check('attention: the variant table has every row and the 12 heatmaps are PNGs', async () => {
  rmSync(new URL('attention/', out), { recursive: true, force: true });
  const text = await part('attention');
  for (const v of ['full', 'local', 'strided', 'global', 'LSH', 'k-means', 'linear elu+1', 'linear causal', 'FAVOR+', 'Linformer']) {
    assert.match(text, new RegExp(`^\\| ${v.replace('+', '\\+')}.*\\|`, 'm'), `no row for ${v}`);
  }
  const pngs = readdirSync(new URL('attention/', out)).filter((f) => f.endsWith('.png'));
  assert.equal(pngs.length, 12);
  for (const f of pngs) assert.ok(isPng(new URL(`attention/${f}`, out)), `${f} is not a PNG`);
});

check('cnn: LeNet learns (> 40 % held-out after one quick epoch), FCN and YOLO report finite figures, 3 PNGs', async () => {
  rmSync(new URL('cnn/', out), { recursive: true, force: true });
  const text = await part('cnn');
  const summary = JSON.parse(/^summary: (.*)$/m.exec(text)[1]);
  assert.ok(summary.lenet.accuracy > 0.4, `LeNet held-out accuracy ${summary.lenet.accuracy}`);
  for (const v of [summary.fcn.meanIoU, summary.yolo.mAP]) assert.ok(Number.isFinite(v) && v >= 0 && v <= 1, `figure ${v}`);
  assert.match(text, /confusion matrix/);
  for (const f of ['lenet-misclassified.png', 'fcn-predictions.png', 'yolo-detections.png']) assert.ok(isPng(new URL(`cnn/${f}`, out)), `${f} missing`);
});

check('decode: greedy, beam search and sampling produce sentences that end', async () => {
  const text = await part('decode');
  assert.match(text, /^greedy: .*<eos>/m);
  assert.match(text, /beam search, 5 beams/);
  const beams = text.split('\n').filter((l) => /^\s+-\d+\.\d+ {2}\S/.test(l));
  assert.ok(beams.length >= 5, `${beams.length} beam lines`);
  assert.match(text, /sample, top-k 3:/);
});

check('transformer: G2P learns (held-out PER < 80 % after the quick epoch; untrained ≈ 100 %), beams shown, heatmap and loss-curve PNGs', async () => {
  rmSync(new URL('transformer/', out), { recursive: true, force: true });
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=g2p', '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  const per = number(text, /beam 4: WER [\d.]+ %, PER ([\d.]+) %/, 'held-out PER');
  assert.ok(per < 80, `held-out PER ${per} %`);
  assert.match(text, /^ {2}PYTHON +\S.*\(-?\d+\.\d+\) {2}\| /m);
  for (const f of ['g2p-cross-attention.png', 'g2p-cross-attention-heads.png', 'g2p-loss.png']) assert.ok(isPng(new URL(`transformer/${f}`, out)), `${f} missing`);
});

check('transformer: the LSTM + additive-attention G2P baseline learns (held-out PER < 80 % after the quick epoch)', async () => {
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=g2p-lstm', '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  const per = number(text, /beam 4: WER [\d.]+ %, PER ([\d.]+) %/, 'held-out PER');
  assert.ok(per < 80, `held-out PER ${per} %`);
});

check('transformer: the quick G2P Transformer and LSTM decode as an ensemble (both members and the ensemble scored on the held-out words)', async () => {
  // node:test runs the checks of a file in order, so the two quick runs above have written their models.
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=g2p-ensemble', '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  const rows = [...text.matchAll(/^ {2}(member \d|ensemble of 2).* WER +([\d.]+) % +PER +([\d.]+) %/gm)];
  assert.deepEqual(rows.map((r) => r[1]), ['member 1', 'member 2', 'ensemble of 2'], text);
  const per = Number(rows[2][3]);
  assert.ok(per < 80, `ensemble held-out PER ${per} %`);
});

check('transformer: g2p-lstm --init-from continues the quick LSTM (it starts from a trained loss and ends below its held-out PER) and refuses a Transformer file or the other cell', async () => {
  // The quick LSTM run above wrote its model and its held-out figures.
  const base = JSON.parse(readFileSync(new URL('../.runs/g2p-lstm-quick/result.json', import.meta.url), 'utf8'));
  const file = new URL('../.runs/g2p-lstm-quick/g2p-lstm.safetensors', import.meta.url).pathname;
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=g2p-lstm', '--quick', '--backend=wasm', `--init-from=${file}`], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  assert.match(text, /initialised from .*g2p-lstm\.safetensors; continued training at peak learning rate 0\.005/);
  // A fresh model starts near ln 42 ≈ 3.7 nats per phoneme; the loaded one near where the base run ended.
  const firstLosses = number(text, /mean of the first 10 steps ([\d.]+)/, 'the first steps\' loss');
  assert.ok(firstLosses < 3, `continued run starts at loss ${firstLosses}`);
  const per = number(text, /beam 4: WER [\d.]+ %, PER ([\d.]+) %/, 'held-out PER');
  assert.ok(per < 100 * base.beam.per, `continued PER ${per} % against the base run's ${(100 * base.beam.per).toFixed(2)} %`);
  const transformerFile = new URL('../../web/public/models/g2p-transformer.safetensors', import.meta.url).pathname;
  const refusals = [
    [[`--init-from=${transformerFile}`], /--init-from: .* not a model file of this run .*got model 'EncoderDecoder'/],
    [[`--init-from=${file}`, '--cell=gru'], /--init-from: .* has cell lstm but --cell is gru; pass --cell=lstm/],
  ];
  for (const [flags, message] of refusals) {
    const failed = await run(process.execPath, [main, 'transformer', '--only=g2p-lstm', '--quick', '--backend=cpu', ...flags], { timeout: 60_000 }).then(
      () => null,
      (e) => e,
    );
    assert.ok(failed, `${flags.join(' ')} was accepted`);
    assert.match(failed.stderr, message);
  }
});

check('transformer: the shipped G2P models load as the default ensemble members (a Transformer and an LSTM, each with its beam-4 held-out figures for --stored-member-scores)', async () => {
  const lib = new URL('../src/lib/g2p-ensemble.mjs', import.meta.url).href;
  const script = `
    import { useBackend } from '@dl/core';
    const { defaultMembers, loadG2PModel } = await import(${JSON.stringify(lib)});
    await useBackend('cpu');
    for (const path of defaultMembers(false, '')) {
      const { model, kind, heldOut } = await loadG2PModel(path);
      console.log(JSON.stringify({ kind, heldOut, parameters: model.numParameters() }));
      model.dispose();
    }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000, cwd: new URL('..', import.meta.url).pathname });
  const members = stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  assert.deepEqual(members.map((m) => m.kind), ['Transformer', 'LSTM + attention'], stdout);
  for (const m of members) {
    assert.equal(m.heldOut?.beams, 4, `${m.kind}: no beam-4 held-out figures in its file`);
    assert.ok(m.heldOut.wer > 0 && m.heldOut.wer < 1 && m.heldOut.per > 0 && m.heldOut.per < 1, JSON.stringify(m.heldOut));
    assert.ok(m.parameters > 1e6, `${m.kind}: ${m.parameters} parameters`);
  }
});

check('transformer: the pointer-generator copies unseen names (> 80 % of names, plain model 0 %) and draws its copy attention', async () => {
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=copy', '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  const copied = number(text, /^\| pointer-generator \| beam 4 \| [\d.]+ % \| ([\d.]+) % \|$/m, 'names copied by the pointer-generator');
  const plain = number(text, /^\| plain encoder-decoder \| greedy \| [\d.]+ % \| ([\d.]+) % \|$/m, 'names copied by the plain model');
  assert.ok(copied > 80, `pointer-generator copied ${copied} % of unseen names`);
  assert.equal(plain, 0, 'a model without copying cannot write a name it has no id for');
  for (const f of ['copy-attention.png', 'copy-loss.png']) assert.ok(isPng(new URL(`transformer/${f}`, out)), `${f} missing`);
});

check('--help lists every part and option', async () => {
  const { stdout: text } = await run(process.execPath, [main, '--help'], { timeout: 60_000 });
  for (const p of ['mlp', 'optim', 'attention', 'cnn', 'decode', 'transformer', 'g2p-lstm', 'g2p-ensemble', 'charlm', '--backend', '--quick', '--only', '--members', '--weights', '--seed', '--cell', '--stored-member-scores', '--init-from']) assert.ok(text.includes(p), `--help does not mention ${p}`);
});

check('a bad --cell or --seed is refused before anything runs (exit code 2, the flag named)', async () => {
  for (const [flag, named] of [['--cell=rnn', '--cell must be lstm or gru'], ['--seed=-1', '--seed must be a non-negative integer']]) {
    const failed = await run(process.execPath, [main, 'transformer', '--only=g2p-lstm', '--quick', '--backend=cpu', flag], { timeout: 60_000 }).then(
      () => null,
      (e) => e,
    );
    assert.ok(failed, `${flag} was accepted`);
    assert.equal(failed.code, 2, `${flag}: exit code ${failed.code}`);
    assert.ok(failed.stderr.includes(named), `${flag}: stderr was ${failed.stderr}`);
  }
});

check('transformer: the character-level GPT learns Moby Dick (validation loss ≥ 0.5 below ln 89 after the quick run) and samples', async () => {
  const { stdout: text } = await run(process.execPath, [main, 'transformer', '--only=charlm', '--quick', '--backend=wasm'], { timeout: PART_LIMIT_MS, maxBuffer: 1 << 26 });
  const vals = [...text.matchAll(/val loss ([\d.]+)/g)].map((m) => Number(m[1]));
  assert.ok(vals.length >= 2, 'no validation losses printed');
  assert.ok(vals.at(-1) < Math.log(89) - 0.5, `final validation loss ${vals.at(-1)}`);
  assert.match(text, /^The whale/m);
});

after(() => {
  // Same shape as vitest's JSON report, for scripts/summarize-tests.mjs.
  const dir = new URL('../test-results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('node-wasm.json', dir), JSON.stringify(counts));
});
