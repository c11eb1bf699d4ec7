/**
 * Page 5, Decoding: a grapheme-to-phoneme Transformer (an encoder-decoder, Vaswani et al. 2017, trained
 * on CMUdict by apps/node-demo and shipped as a safetensors file) spells a typed word as phonemes with
 * greedy search, beam search (n-best with scores and the beam tree, recorded from the search) and
 * sampling, all from @dl/decode, in a worker; the model can be fine-tuned in the page with a live loss.
 */
import './style.css';
import type { Mount } from '../registry';
import { h, numberField } from '../../ui/dom';
import { backendPicker } from '../../ui/backend-picker';
import { runControls } from '../../ui/run-controls';
import { TrainerClient } from '../../ui/trainer-client';
import { chartIn, lossChart, type Chart } from '../../ui/charts';
import { drawBeamTree } from './beam-tree';
import type { DecodeRequest, DecodeResult, DecodingProgress, DecodingRunConfig, Hyp, ModelDescription } from './worker';

const MODEL_URL = () => new URL('models/g2p-transformer.safetensors', document.baseURI).href;
const DATA_URL = () => new URL('generated/g2p-train.json', document.baseURI).href;

export const mount: Mount = (root, params) => {
  const picker = backendPicker(params.get('backend'));
  const num = (k: string, d: number) => Number(params.get(k) ?? d);
  const steps = numberField('fine-tune steps', num('steps', 200), { min: 1, step: 1 });
  const lr = numberField('lr', num('lr', 3e-4), { min: 0, step: 'any' });
  const modelInfo = h('p', { class: 'muted model-info' }, 'loading the model…');

  const word = h('input', { type: 'text', value: params.get('word') ?? 'PYTHON', 'aria-label': 'word', class: 'word', autocapitalize: 'characters', spellcheck: false });
  const beams = numberField('beams', 4, { min: 1, max: 16, step: 1 });
  const nReturn = numberField('n-best', 4, { min: 1, max: 16, step: 1 });
  const samples = numberField('samples', 5, { min: 1, max: 20, step: 1 });
  const temperature = numberField('temperature', 1, { min: 0.05, step: 0.05 });
  const seed = numberField('seed', 1, { step: 1 });
  const decodeBtn = h('button', { class: 'decode', type: 'submit', disabled: true }, 'decode');
  const form = h('form', { class: 'toolbar decode-form' }, h('label', {}, 'word ', word), beams.el, nReturn.el, samples.el, temperature.el, seed.el, decodeBtn);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void decode();
  });

  const results = h('div', { class: 'decode-results' }, h('p', { class: 'muted' }, 'Type a word and press decode.'));
  const treeBox = h('div', { class: 'beam-tree-box' });
  const treeNote = h('p', { class: 'muted' });
  const attentionEl = h('div', { class: 'chart', id: 'g2p-attention' });
  let attentionChart: Chart | null = null;
  // Shown once fine-tuning starts (an empty chart would only raise questions).
  const lossEl = h('div', { class: 'chart small', id: 'g2p-loss', style: 'display:none' });
  const loss = lossChart(lossEl, { title: 'fine-tuning loss (label-smoothed cross-entropy)' });

  const controls = runControls({ start: 'fine-tune' }, { start: () => load(Math.max(1, Math.round(Number(steps.input.value)))), pause: () => client.pause(), resume: () => client.resume() });
  root.append(
    h('h1', {}, 'Decoding: greedy, beam search and sampling'),
    h(
      'p',
      { class: 'lead' },
      'A grapheme-to-phoneme Transformer (encoder-decoder, Vaswani et al. 2017) trained on CMUdict spells a word as ARPAbet phonemes. Greedy search takes the likeliest phoneme at every step; beam search (Sutskever et al. 2014; Hugging Face generate semantics) keeps the K likeliest prefixes and returns an n-best list scored by Σ log p / length; sampling draws each phoneme from the softmax at a temperature. All three come from @dl/decode and run in a Web Worker on the model\'s KV-cached step function.',
    ),
    h('div', { class: 'toolbar' }, picker.el, steps.el, lr.el, controls.el),
    modelInfo,
    form,
    h('div', { class: 'grid2' }, results, h('div', {}, h('h2', {}, 'Cross-attention of the best beam'), attentionEl, lossEl)),
    h('h2', {}, 'The beam search tree'),
    treeNote,
    treeBox,
  );

  const client = new TrainerClient<DecodingProgress>(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), {
    onBackend: (report, threads) => picker.show(report, threads),
    onState: (state) => {
      controls.setState(state);
      const ready = state === 'running' || state === 'paused' || state === 'done';
      decodeBtn.disabled = !ready;
      if (ready && !root.dataset.model) void describe();
    },
    onError: (m) => {
      controls.error(m);
      modelInfo.textContent = m;
    },
    onProgress: (p) => {
      if (p.loss === undefined) return;
      loss.push('fine-tuning', p.step, p.loss);
      root.dataset.step = String(p.step);
      lossEl.dataset.first ??= String(p.loss);
      lossEl.dataset.last = String(p.loss);
    },
  });

  /** Starts a worker that loads the model and fine-tunes it for `n` steps (0: only loads it). */
  function load(n: number) {
    const config: DecodingRunConfig = { modelUrl: MODEL_URL(), dataUrl: DATA_URL(), steps: n, batchSize: 32, lr: Number(lr.input.value) };
    delete root.dataset.model;
    modelInfo.textContent = 'loading the model…';
    decodeBtn.disabled = true;
    if (n > 0) {
      lossEl.style.display = '';
      loss.chart.resize();
      loss.reset();
      delete lossEl.dataset.first;
      delete lossEl.dataset.last;
    }
    picker.pending();
    client.start(picker.value(), config);
  }
  picker.el.querySelector('select')!.addEventListener('change', () => load(0));

  async function describe() {
    root.dataset.model = 'loading';
    try {
      const info = await client.request<ModelDescription>({ type: 'info' });
      const c = info.config as Record<string, number>;
      const held = info.heldOut?.per !== undefined ? `; on held-out CMUdict words (beam ${info.heldOut.beams ?? 4}) it scores PER ${(100 * info.heldOut.per).toFixed(1)} %, WER ${(100 * (info.heldOut.wer ?? NaN)).toFixed(1)} %` : '';
      modelInfo.textContent = `models/g2p-transformer.safetensors (${(info.bytes / 1e6).toFixed(2)} MB): ${info.parameters.toLocaleString('en')} parameters, d = ${c.dModel}, ${c.numEncoderLayers} + ${c.numDecoderLayers} layers, ${c.nHeads} heads, ${info.letters.length} letters → ${info.phones.length} phonemes (specials included)${held}. Configuration and vocabularies are read from the file's metadata.`;
      root.dataset.model = 'ready';
      if (!root.dataset.decoded) void decode();
    } catch (e) {
      modelInfo.textContent = (e as Error).message;
    }
  }

  let request = 0;
  async function decode() {
    const mine = ++request;
    const req: DecodeRequest = {
      type: 'decode',
      word: word.value,
      numBeams: Math.max(1, Math.round(Number(beams.input.value))),
      numReturn: Math.max(1, Math.round(Number(nReturn.input.value))),
      samples: Math.max(1, Math.round(Number(samples.input.value))),
      temperature: Number(temperature.input.value),
      seed: Math.round(Number(seed.input.value)),
    };
    if (req.numReturn > req.numBeams) return void results.replaceChildren(h('p', { class: 'error' }, `n-best (${req.numReturn}) must not exceed beams (${req.numBeams})`));
    decodeBtn.disabled = true;
    root.dataset.decoded = 'pending';
    try {
      const r = await client.request<DecodeResult>(req);
      if (mine !== request) return;
      showResults(r, req);
      root.dataset.decoded = r.word;
    } catch (e) {
      results.replaceChildren(h('p', { class: 'error' }, (e as Error).message));
      root.dataset.decoded = 'failed';
    } finally {
      const s = client.state;
      decodeBtn.disabled = !(s === 'running' || s === 'paused' || s === 'done');
    }
  }

  function showResults(r: DecodeResult, req: DecodeRequest) {
    const row = (kind: string, k: string, x: Hyp) =>
      h(
        'tr',
        { 'data-kind': kind },
        h('td', {}, k),
        h('td', { class: 'phones' }, x.phones.join(' ') || '∅'),
        h('td', { class: 'num score' }, x.score.toFixed(3)),
        h('td', { class: 'num' }, x.sumLogprob.toFixed(3)),
        h('td', { class: 'num' }, String(x.phones.length)),
        h('td', { class: 'muted' }, x.finishReason),
      );
    results.replaceChildren(
      h('h2', {}, `${r.word} → /${r.beams[0]?.phones.join(' ') ?? ''}/`),
      h(
        'table',
        { class: 'hyps' },
        h('tr', {}, h('th', {}, ''), h('th', {}, 'phonemes'), h('th', {}, 'score'), h('th', {}, 'Σ log p'), h('th', {}, 'length'), h('th', {}, 'ended by')),
        h('tr', {}, h('th', { colspan: 6, class: 'group' }, 'greedy')),
        row('greedy', 'greedy', r.greedy),
        h('tr', {}, h('th', { colspan: 6, class: 'group' }, `beam search: ${req.numBeams} beams, ${r.beams.length}-best (score = Σ log p / length, EOS counted)`)),
        ...r.beams.map((b, i) => row('beam', `#${i + 1}`, b)),
        h('tr', {}, h('th', { colspan: 6, class: 'group' }, `sampling at temperature ${req.temperature} (seed ${req.seed})`)),
        ...r.samples.map((s, i) => row('sample', `sample ${i + 1}`, s)),
      ),
    );
    const tree = drawBeamTree(r.tree, (t) => r.tokenLabels[t] ?? String(t));
    treeBox.replaceChildren(tree);
    treeNote.textContent = `Every candidate beam search ranked among the top ${2 * req.numBeams} at each step (x: step; the number under a phoneme is Σ log p of its prefix). Blue: the ${req.numBeams} beams kept; green: hypotheses ended by </s> (the returned n-best marked with rank and score); grey dashed: pruned. @dl/decode's beamSearch has no trace option, so the tree is recorded by a pass-through logits processor, which sees every live beam and its log-probabilities at every step, and the search's selection rule replayed on them${r.tree.mismatches ? ` (the replay disagreed with the kept beams at ${r.tree.mismatches} steps)` : ' (the replay matched the beams the search kept at every step)'}.`;
    attentionChart ??= chartIn(attentionEl);
    const { rows, cols, values } = r.attention;
    attentionChart.setOption(
      {
        animation: false,
        tooltip: { formatter: (p: { value: [number, number, number] }) => `${rows[p.value[1]]} ← ${cols[p.value[0]]}: ${p.value[2].toFixed(3)}` },
        grid: { left: 50, right: 90, top: 24, bottom: 40 },
        xAxis: { type: 'category', data: cols, name: 'letter', nameLocation: 'middle', nameGap: 24, splitArea: { show: false } },
        yAxis: { type: 'category', data: rows, inverse: true, name: 'phoneme', nameLocation: 'start', splitArea: { show: false } },
        visualMap: { min: 0, max: 1, calculable: true, orient: 'vertical', right: 10, top: 'middle', itemHeight: 160, text: ['weight 1', '0'], inRange: { color: ['#f7fbff', '#6baed6', '#08306b'] } },
        series: [{ type: 'heatmap', data: values.map((v, i) => [i % cols.length, Math.floor(i / cols.length), v]), emphasis: { disabled: true } }],
      },
      { notMerge: true },
    );
  }

  load(0);
  return () => {
    client.stop();
    loss.chart.dispose();
    attentionChart?.dispose();
  };
};
