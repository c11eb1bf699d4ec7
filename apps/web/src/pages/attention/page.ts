/**
 * Page 3, attention patterns: pick a variant of @dl/attention; a small model learns, in a worker, a task
 * whose solution is one diagonal per head, and the page shows each head's weights (or the mask, where
 * weights are non-zero) as heatmaps, the loss, and the variant's measured cost in N.
 */
import type { Mount } from '../registry';
import { h, numberField } from '../../ui/dom';
import { backendPicker } from '../../ui/backend-picker';
import { runControls } from '../../ui/run-controls';
import { TrainerClient } from '../../ui/trainer-client';
import { chartIn, lossChart, type Chart } from '../../ui/charts';
import { SHIFTS, VARIANTS } from './info';
import type { AttentionConfig, AttentionProgress, CostReply, WeightsReply } from './worker';

export const mount: Mount = (root, params) => {
  // The lengths the cost is measured at; `#/attention?costN=32,64` picks others (at most 6).
  const COST_NS = (params.get('costN') ?? '64,128,256,512').split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 8).slice(0, 6);
  const picker = backendPicker(params.get('backend'));
  const variantSelect = h('select', { 'aria-label': 'variant' }, ...VARIANTS.map((v) => h('option', { value: v.id }, v.label)));
  variantSelect.value = VARIANTS.some((v) => v.id === params.get('variant')) ? params.get('variant')! : 'full';
  const showSelect = h('select', { 'aria-label': 'show' }, h('option', { value: 'weights' }, 'weights'), h('option', { value: 'mask' }, 'mask (non-zero weights)'));
  const nField = numberField('N', Number(params.get('n') ?? 64), { min: 16, step: 16 });
  const steps = numberField('steps', Number(params.get('steps') ?? 300), { min: 1, step: 1 });
  const lr = numberField('lr', Number(params.get('lr') ?? 0.02), { min: 0 });
  const costButton = h('button', { class: 'measure', disabled: true }, `measure cost at N = ${COST_NS.join(', ')}`);
  const costText = h('div', { class: 'cost muted' });
  const about = h('p', { class: 'muted variant-about' });
  const memory = h('span', { class: 'memory muted' });
  const controls = runControls({ start: 'train' }, { start, pause: () => client.pause(), resume: () => client.resume() });

  const heatEls = SHIFTS.map(() => h('div', { class: 'chart heat', style: 'height:260px' }));
  const lossEl = h('div', { class: 'chart', id: 'loss-chart' });
  const costEl = h('div', { class: 'chart' });
  root.append(
    h('h1', {}, 'Attention patterns'),
    h('p', { class: 'lead' }, `Each head h of a small attention layer must output the value found s = ${SHIFTS.join(', ')} positions back (circularly). Its queries and keys come from learned position embeddings, so to solve the task a head must learn to attend to one diagonal, if its variant's pattern allows that. Training runs in a Web Worker; the heatmaps show each head's weights (query rows, key columns) for one sequence.`),
    h('div', { class: 'toolbar' }, picker.el, h('label', {}, 'variant ', variantSelect), nField.el, steps.el, lr.el, controls.el),
    about,
    h('div', { class: 'toolbar' }, h('label', {}, 'show ', showSelect), memory),
    h('div', { class: 'heads', style: 'display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:.5em' }, ...heatEls),
    h('div', { class: 'grid2' }, lossEl, h('div', {}, costEl, h('div', { class: 'toolbar' }, costButton), costText)),
  );

  const heats: Chart[] = heatEls.map((el) => chartIn(el));
  const loss = lossChart(lossEl, { title: 'loss (MSE)', log: true });
  const cost = chartIn(costEl);
  let lastWeights: WeightsReply | null = null;

  const describe = () => {
    const v = VARIANTS.find((x) => x.id === variantSelect.value)!;
    about.textContent = `${v.label} (${v.ref}): ${v.cost}.`;
  };
  variantSelect.addEventListener('change', describe);
  showSelect.addEventListener('change', () => lastWeights && drawHeads(lastWeights));
  describe();

  const client = new TrainerClient<AttentionProgress>(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), {
    onBackend: (report, threads) => picker.show(report, threads),
    onState: (state) => {
      controls.setState(state);
      costButton.disabled = !(state === 'paused' || state === 'done' || state === 'running');
      if (state === 'paused' || state === 'done' || state === 'running') void refreshWeights();
    },
    onError: (m) => controls.error(m),
    onProgress: (p) => {
      loss.push(variantSelect.value, p.step, p.loss);
      memory.textContent = `worker tf.memory(): ${p.numTensors} tensors, ${(p.numBytes / 1024).toFixed(0)} KiB`;
      root.dataset.step = String(p.step);
      if (p.step % 20 === 0) void refreshWeights();
    },
  });

  function start() {
    loss.reset();
    lastWeights = null;
    picker.pending();
    const config: AttentionConfig = { variant: variantSelect.value, n: Math.max(16, Math.round(Number(nField.input.value))), steps: Math.max(1, Math.round(Number(steps.input.value))), lr: Number(lr.input.value) };
    client.start(picker.value(), config);
  }

  let fetching = false;
  async function refreshWeights() {
    if (fetching) return;
    fetching = true;
    try {
      lastWeights = await client.request<WeightsReply>({ type: 'weights' });
      drawHeads(lastWeights);
    } catch (e) {
      if ((e as Error).message !== 'the run was stopped') controls.error((e as Error).message);
    } finally {
      fetching = false;
    }
  }

  function drawHeads(w: WeightsReply) {
    const mask = showSelect.value === 'mask';
    const { n, width } = w;
    for (let head = 0; head < w.heads; head++) {
      const cells: [number, number, number][] = [];
      let hi = 1e-9;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < width; j++) {
          const v = w.data[(head * n + i) * width + j];
          const shown = mask ? (v > 1e-7 ? 1 : 0) : v;
          hi = Math.max(hi, shown);
          cells.push([j, i, shown]);
        }
      }
      heats[head].setOption(
        {
          animation: false,
          title: { text: `head ${head + 1}: target shift ${SHIFTS[head]}`, textStyle: { fontSize: 12 } },
          grid: { left: 30, right: 8, top: 28, bottom: 22 },
          xAxis: { type: 'category', data: Array.from({ length: width }, (_, j) => j), name: width === n ? 'key' : 'projected key', nameLocation: 'middle', nameGap: 8, axisLabel: { show: false }, axisTick: { show: false } },
          yAxis: { type: 'category', data: Array.from({ length: n }, (_, i) => i), inverse: true, axisLabel: { show: false }, axisTick: { show: false } },
          visualMap: { show: false, min: 0, max: hi, inRange: { color: ['#ffffff', '#6cb4ff', '#08306b'] } },
          series: [{ type: 'heatmap', data: cells, progressive: 0 }],
        },
        { notMerge: true },
      );
    }
    root.dataset.heatmaps = String(w.heads);
  }

  costButton.addEventListener('click', async () => {
    costButton.disabled = true;
    costText.textContent = 'measuring (random q, k, v; peak tensor bytes from tf.profile)…';
    try {
      const r = await client.request<CostReply>({ type: 'cost', ns: COST_NS });
      const names = [...new Set(r.rows.map((x) => x.variant))];
      cost.setOption(
        {
          animation: false,
          title: { text: 'peak tensor memory of one call', textStyle: { fontSize: 13 } },
          legend: { top: 22 },
          tooltip: { trigger: 'axis' },
          grid: { left: 60, right: 15, top: 55, bottom: 30 },
          xAxis: { type: 'log', logBase: 2, name: 'N', nameLocation: 'middle', nameGap: 20 },
          yAxis: { type: 'log', name: 'bytes' },
          series: names.map((name) => ({ type: 'line', name, data: r.rows.filter((x) => x.variant === name && x.peakBytes > 0).map((x) => [x.n, x.peakBytes]) })),
        },
        { notMerge: true },
      );
      costText.textContent = names.map((name) => `${name}: memory ∝ N^${r.memoryExponent[name].toFixed(2)}, time ∝ N^${r.timeExponent[name].toFixed(2)} (noisy)`).join(' · ');
      root.dataset.cost = 'measured';
    } catch (e) {
      costText.textContent = (e as Error).message;
    } finally {
      costButton.disabled = false;
    }
  });

  return () => {
    client.stop();
    heats.forEach((c) => c.dispose());
    loss.chart.dispose();
    cost.dispose();
  };
};
