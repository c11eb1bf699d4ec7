// @dl/transformer demos: grapheme-to-phoneme on CMUdict with the Transformer encoder-decoder (beam search)
// and with the LSTM + additive-attention baseline, and a character-level GPT on Moby Dick (against
// PyTorch, samples with temperature and top-p), and the copy task with a pointer-generator.
// `--only=g2p,g2p-lstm,g2p-ensemble,copy,charlm` picks sub-runs. Full runs
// take hours on a CPU: they checkpoint to apps/node-demo/.runs/ and resume where they stopped.
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { runG2P } from '../lib/g2p.mjs';

const OUT = fileURLToPath(new URL('../../out/transformer', import.meta.url));
const RUNS = fileURLToPath(new URL('../../.runs/', import.meta.url));

/** @param {{ quick?: boolean, only?: string[], epochs?: number, save?: string, initFrom?: string, members?: string[], weights?: number[], seed?: number, cell?: 'lstm' | 'gru', storedMemberScores?: boolean }} options */
export async function run({ quick = false, only, epochs, save, initFrom, members, weights, seed = 1, cell = 'lstm', storedMemberScores = false } = {}) {
  const want = (name) => !only || only.includes(name);
  // Another seed trains another model (an ensemble member) in a run directory of its own.
  const seeded = seed === 1 ? '' : `-seed${seed}`;
  if (want('g2p')) {
    console.log('\ngrapheme-to-phoneme (CMUdict), encoder-decoder Transformer');
    // A continued run (--init-from) keeps its own checkpoints, apart from a run from scratch.
    const runDir = `${RUNS}g2p${initFrom ? '-continued' : ''}${seeded}${quick ? '-quick' : ''}`;
    await runG2P({ quick, epochs, save, initFrom, seed, runDir, outDir: OUT });
  }
  if (want('g2p-lstm')) {
    console.log(`\ngrapheme-to-phoneme (CMUdict), ${cell.toUpperCase()} encoder-decoder with additive attention (the RNN baseline)`);
    const { runG2PLSTM } = await import('../lib/g2p-lstm.mjs');
    const runDir = `${RUNS}g2p-${cell}${initFrom ? '-continued' : ''}${seeded}${quick ? '-quick' : ''}`;
    await runG2PLSTM({ quick, epochs, save, seed, cell, initFrom, runDir, outDir: OUT });
  }
  if (want('g2p-ensemble')) {
    console.log('\ngrapheme-to-phoneme (CMUdict), the Transformer and the LSTM decoding together (ensemble beam search)');
    const { defaultMembers, runG2PEnsemble } = await import('../lib/g2p-ensemble.mjs');
    await runG2PEnsemble({ quick, members: members ?? defaultMembers(quick, RUNS), weights, storedMemberScores });
  }
  if (want('copy')) {
    console.log('\ncopying with unseen names: pointer-generator vs a plain encoder-decoder');
    const { runCopyTask } = await import('../lib/copy-task.mjs');
    await runCopyTask({ quick, outDir: OUT });
  }
  if (want('charlm')) {
    const lib = new URL('../lib/charlm.mjs', import.meta.url);
    if (existsSync(lib)) {
      console.log('\ncharacter-level GPT (Moby Dick)');
      const { runCharLM } = await import(lib.href);
      await runCharLM({ quick, save });
    }
  }
}
