/**
 * Page 2, CNN: draw a digit and LeNet-5 (@dl/cnn), trained on MNIST in a worker or loaded from a
 * safetensors checkpoint, classifies it live and shows the feature maps of its two convolutions.
 */
import type { Mount } from '../registry';
import { h, numberField } from '../../ui/dom';
import { backendPicker } from '../../ui/backend-picker';
import { runControls } from '../../ui/run-controls';
import { TrainerClient } from '../../ui/trainer-client';
import { chartIn, lossChart } from '../../ui/charts';
import { drawingPad, paintChannel, toMnist } from './drawing';
import type { Classification, CnnConfig, CnnProgress } from './worker';

export const mount: Mount = (root, params) => {
  const picker = backendPicker(params.get('backend'));
  const steps = numberField('steps', Number(params.get('steps') ?? 400), { min: 1, step: 1 });
  const batch = numberField('batch', Number(params.get('batch') ?? 64), { min: 1, step: 1 });
  const lr = numberField('lr', Number(params.get('lr') ?? 0.002), { min: 0 });
  const fileInput = h('input', { type: 'file', accept: '.safetensors', class: 'checkpoint-file', 'aria-label': 'checkpoint file' });
  const saveButton = h('button', { class: 'save', disabled: true }, 'save checkpoint');
  const controls = runControls({ start: 'train' }, { start: () => start('train'), pause: () => client.pause(), resume: () => client.resume() });

  const prediction = h('div', { class: 'prediction' }, 'draw a digit');
  const pad = drawingPad(() => void classify());
  const clear = h('button', { class: 'clear', onclick: () => (pad.clear(), (prediction.textContent = 'draw a digit')) }, 'clear');
  const probsEl = h('div', { class: 'chart', style: 'height:220px' });
  const lossEl = h('div', { class: 'chart', id: 'loss-chart' });
  const maps1 = h('div', { class: 'maps conv1' });
  const maps2 = h('div', { class: 'maps conv2' });

  root.append(
    h('h1', {}, 'A CNN reads your handwriting'),
    h('p', { class: 'lead' }, 'LeNet-5 (LeCun et al. 1998) from @dl/cnn learns the MNIST digits in a Web Worker (4,000 training digits, accuracy measured on 500 held-out ones). Draw a digit in the black square: the network classifies it after every stroke, also while it trains, and shows what its two convolutions see. Or load a checkpoint: a safetensors file of LeNet5\'s state dict, as @dl/core\'s saveCheckpoint writes in Node or the "save checkpoint" button here.'),
    h('div', { class: 'toolbar' }, picker.el, steps.el, batch.el, lr.el, controls.el),
    h('div', { class: 'toolbar' }, h('label', {}, 'load checkpoint ', fileInput), saveButton),
    h(
      'div',
      { class: 'grid2' },
      h('div', {}, h('div', { class: 'pad-row' }, pad.canvas, h('div', {}, prediction, clear)), probsEl),
      h('div', {}, lossEl, h('h2', {}, 'conv1: 6 filters 5×5 (28×28)'), maps1, h('h2', {}, 'conv2: 16 filters 5×5 (10×10)'), maps2),
    ),
  );
  const style = h('style', {}, '.pad{width:280px;height:280px;touch-action:none;cursor:crosshair;border:1px solid #ccc}.pad-row{display:flex;gap:1em;align-items:flex-start}.prediction{font-size:1.6em;margin-bottom:.4em}.maps{display:flex;flex-wrap:wrap;gap:4px}.maps canvas{width:56px;height:56px;image-rendering:pixelated;border:1px solid #ddd}');
  root.append(style);

  const loss = lossChart(lossEl, { title: 'training loss and held-out accuracy' });
  const probs = chartIn(probsEl);
  probs.setOption({
    animation: false,
    title: { text: 'P(digit)', textStyle: { fontSize: 13 } },
    grid: { left: 40, right: 10, top: 30, bottom: 25 },
    xAxis: { type: 'category', data: [...'0123456789'] },
    yAxis: { type: 'value', min: 0, max: 1 },
    series: [{ type: 'bar', data: Array(10).fill(0) }],
  });

  const client = new TrainerClient<CnnProgress>(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), {
    onBackend: (report, threads) => picker.show(report, threads),
    onState: (state) => {
      controls.setState(state);
      saveButton.disabled = !(state === 'running' || state === 'paused' || state === 'done');
      if (state === 'running' || state === 'done') void classify();
    },
    onError: (m) => controls.error(m),
    onProgress: (p) => {
      if (p.loss !== undefined) loss.push('loss', p.step, p.loss);
      if (p.accuracy !== undefined) {
        loss.push('held-out accuracy', p.step, p.accuracy);
        root.dataset.accuracy = String(p.accuracy);
      }
      root.dataset.step = String(p.step);
      if (p.step % 25 === 0) void classify();
    },
  });

  function start(mode: CnnConfig['mode'], checkpoint?: ArrayBuffer) {
    loss.reset();
    picker.pending();
    const config: CnnConfig = {
      mode,
      checkpoint,
      dataUrl: new URL('generated/mnist.bin', document.baseURI).href,
      steps: Math.max(1, Math.round(Number(steps.input.value))),
      batch: Math.max(1, Math.round(Number(batch.input.value))),
      lr: Number(lr.input.value),
    };
    client.start(picker.value(), config);
  }

  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (file) start('load', await file.arrayBuffer());
  });
  saveButton.addEventListener('click', async () => {
    const bytes = await client.request<Uint8Array>({ type: 'save' });
    const a = h('a', { href: URL.createObjectURL(new Blob([bytes as BlobPart])), download: 'lenet5-mnist.safetensors' });
    a.click();
    URL.revokeObjectURL(a.href);
  });

  let busy = false;
  async function classify() {
    const pixels = toMnist(pad.canvas);
    if (!pixels || busy || client.state === 'idle' || client.state === 'starting') return;
    busy = true;
    try {
      const r = await client.request<Classification>({ type: 'classify', pixels });
      const best = r.probs.indexOf(Math.max(...r.probs));
      prediction.textContent = `it's a ${best} (${(100 * r.probs[best]).toFixed(0)} %)`;
      prediction.dataset.class = String(best);
      probs.setOption({ series: [{ type: 'bar', data: r.probs }] });
      showMaps(maps1, r.conv1);
      showMaps(maps2, r.conv2);
    } catch (e) {
      if ((e as Error).message !== 'the run was stopped') controls.error((e as Error).message);
    } finally {
      busy = false;
    }
  }

  return () => {
    client.stop();
    loss.chart.dispose();
    probs.dispose();
  };
};

function showMaps(el: HTMLElement, map: Classification['conv1']) {
  while (el.children.length < map.c) el.append(h('canvas', { title: `channel ${el.children.length}` }));
  for (let c = 0; c < map.c; c++) paintChannel(el.children[c] as HTMLCanvasElement, map, c);
}
