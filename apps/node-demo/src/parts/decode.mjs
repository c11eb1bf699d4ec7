// @dl/decode demo: a tiny language model (embeddings of the last two tokens → MLP → next-token logits),
// trained for a few seconds on a toy corpus, decoded with every strategy: greedy, beam search (all
// beams shown with their scores), sampling (temperature, top-k, top-p, min-p, typical), streaming, and
// the copy mechanism (a pointer-generator that copies out-of-vocabulary names from a source sentence).
import * as tf from '@tensorflow/tfjs-core';
import { Embedding, Linear, Module, manualSeed, useBackend } from '@dl/core';
import { beamSearch, copyStep, extendSource, extendedToWords, greedy, sample, streamTokens } from '@dl/decode';

const CORPUS = [
  'the cat sat on the mat .',
  'the dog sat on the rug .',
  'a cat saw the dog .',
  'the dog saw a cat on the mat .',
  'a bird sat on the tree .',
  'the bird saw the cat .',
  'the cat ran to the tree .',
  'a dog ran to the mat .',
];
const WORDS = ['<eos>', '<unk>', '<bos>', ...new Set(CORPUS.join(' ').split(' '))];
const ID = new Map(WORDS.map((w, i) => [w, i]));
const V = WORDS.length;
const EOS = 0;
const BOS = 2;
const text = (ids) => ids.map((i) => WORDS[i] ?? `#${i}`).join(' ');

/** P(next | previous two tokens): two embeddings → tanh MLP → logits. */
class TinyLM extends Module {
  emb = this.registerModule('emb', new Embedding(V, 16));
  hidden = this.registerModule('hidden', new Linear(32, 64));
  out = this.registerModule('out', new Linear(64, V));
  /** @param context int32 [rows, 2] → logits [rows, V] */
  forward(context) {
    return tf.tidy(() => {
      const e = tf.reshape(this.emb.forward(context), [-1, 32]); // [rows, 32]
      return this.out.forward(tf.tanh(this.hidden.forward(e))); // [rows, V]
    });
  }
}

function trainingPairs() {
  const ctx = [];
  const next = [];
  for (const line of CORPUS) {
    const ids = [BOS, BOS, ...line.split(' ').map((w) => ID.get(w)), EOS];
    for (let i = 2; i < ids.length; i++) {
      ctx.push([ids[i - 2], ids[i - 1]]);
      next.push(ids[i]);
    }
  }
  return { ctx, next };
}

/** The decoders' view of the model: the last two tokens of each row → logits. Unknown ids read as <unk>. */
const stepOf = (model) => (tokens) => {
  const ctx = tokens.map((row) => [row.at(-2) ?? BOS, row.at(-1)].map((t) => (t < V ? t : ID.get('<unk>'))));
  return { logits: tf.tidy(() => model.forward(tf.tensor2d(ctx, [ctx.length, 2], 'int32'))), state: null };
};

export async function run({ quick = false } = {}) {
  const backend = await useBackend('auto', { order: ['wasm', 'cpu'] });
  console.log(`decode demo on ${backend.summary}; vocabulary of ${V} words`);
  manualSeed(3);
  const model = new TinyLM();
  const { ctx, next } = trainingPairs();
  const x = tf.tensor2d(ctx, [ctx.length, 2], 'int32');
  const y = tf.oneHot(tf.tensor1d(next, 'int32'), V);
  const optimizer = tf.train.adam(0.03);
  const epochs = quick ? 80 : 250;
  for (let e = 0; e < epochs; e++) {
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.forward(x)), true, model.parameters());
    if (e === epochs - 1) console.log(`trained ${epochs} epochs, loss ${(await loss.data())[0].toFixed(3)}`);
    loss.dispose();
  }
  tf.dispose([x, y]);
  optimizer.dispose();

  const step = stepOf(model);
  const prompt = [[BOS, BOS, ID.get('the')]];
  const common = { eosTokenId: EOS, maxNewTokens: 10 };

  const g = await greedy(step, prompt, common);
  console.log(`\ngreedy:  the ${text(g.sequences[0][0].tokens)}   (log p ${g.sequences[0][0].score.toFixed(3)})`);

  const beams = await beamSearch(step, prompt, { ...common, numBeams: 5, numReturnSequences: 5, lengthPenalty: 1 });
  console.log('beam search, 5 beams (score = Σ log p / length):');
  for (const h of beams.sequences[0]) console.log(`  ${h.score.toFixed(3)}  the ${text(h.tokens)}   [${h.tokenLogprobs.map((v) => v.toFixed(2)).join(' ')}]`);

  for (const [name, opts] of [
    ['temperature 1.2', { temperature: 1.2 }],
    ['top-k 3', { topK: 3 }],
    ['top-p 0.8', { topP: 0.8 }],
    ['min-p 0.1', { minP: 0.1 }],
    ['typical 0.9', { typicalP: 0.9 }],
  ]) {
    const s = await sample(step, prompt, { ...common, ...opts, seed: 11, numReturnSequences: 3 });
    console.log(`sample, ${name}:`);
    for (const h of s.sequences[0]) console.log(`  the ${text(h.tokens)}`);
  }

  process.stdout.write('streaming (greedy, repetition penalty 1.5): the');
  const stream = streamTokens((onToken, signal) => greedy(step, prompt, { ...common, repetitionPenalty: 1.5, onToken, signal }));
  for await (const e of stream) process.stdout.write(` ${WORDS[e.token]}`);
  process.stdout.write('\n');

  // Copy mechanism: a pointer-generator whose attention walks along the source sentence; p_gen = 0.35
  // mixes the language model with copying, so the names (not in the vocabulary) come out verbatim.
  const source = extendSource('the cat Zoë saw Mr. Brambleberry on the mat .'.split(' '), ID, V, ID.get('<unk>'));
  console.log(`copy mechanism, source OOV words: ${source.oovs.join(', ')}`);
  const S = source.extendedIds.length;
  const pointerGenerator = (tokens, state, info) => {
    const { logits } = step(tokens);
    const attention = tf.tidy(() => tf.add(tf.mul(tf.oneHot(tf.fill([tokens.length], Math.min(info.step + 1, S - 1), 'int32'), S), 0.95), 0.05 / S)); // [rows, S]
    return { logits, attention, pGen: tf.fill([tokens.length], 0.35), state };
  };
  const copying = copyStep(pointerGenerator, { sources: [source.extendedIds], vocabSize: V, unkTokenId: ID.get('<unk>') });
  const words = (ids) => extendedToWords(ids, (i) => WORDS[i], V, source.oovs).join(' ');
  const cg = await greedy(copying, prompt, { ...common, maxNewTokens: 9 });
  console.log(`  greedy + copy:  the ${words(cg.sequences[0][0].tokens)}`);
  const cb = await beamSearch(copying, prompt, { ...common, maxNewTokens: 9, numBeams: 3, numReturnSequences: 3 });
  for (const h of cb.sequences[0]) console.log(`  beam + copy ${h.score.toFixed(3)}:  the ${words(h.tokens)}`);
  const cs = await sample(copying, prompt, { ...common, maxNewTokens: 9, topP: 0.9, seed: 2 });
  console.log(`  sample + copy:  the ${words(cs.sequences[0][0].tokens)}`);
  model.dispose();
}

if (import.meta.url === `file://${process.argv[1]}`) await run({ quick: process.argv.includes('--quick') });
