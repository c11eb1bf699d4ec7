/**
 * Page 1, optimizers: the optimizers of @dl/optim race from one start point on a 2-D loss surface
 * (trained in a worker), the Hessian at the points they reach says what kind of point each found, and
 * every learning-rate schedule is plotted with editable options.
 */
import type { Mount } from '../registry';
import { h, numberField } from '../../ui/dom';
import { backendPicker } from '../../ui/backend-picker';
import { runControls } from '../../ui/run-controls';
import { TrainerClient } from '../../ui/trainer-client';
import { chartIn, lossChart, perFrame } from '../../ui/charts';
import { SURFACES, surfaceById } from './surfaces';
import { RACERS } from './racers';
import { contourSeries } from './contour';
import { scheduleSection } from './schedule-section';
import type { PointReport, RaceConfig, RaceProgress } from './worker';

const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#9a6324', '#000075', '#808000', '#469990', '#800000', '#a9a9a9'];
const DEFAULT_RACERS = new Set(['sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', 'adamw']);

export const mount: Mount = (root, params) => {
  const picker = backendPicker(params.get('backend'));
  const surfaceSelect = h('select', { 'aria-label': 'surface' }, ...SURFACES.map((s) => h('option', { value: s.id }, s.title)));
  surfaceSelect.value = surfaceById(params.get('surface') ?? '').id;
  const sx = numberField('start x', 0);
  const sy = numberField('y', 0);
  const stepsField = numberField('steps', Number(params.get('steps') ?? 300), { min: 1, step: 1 });
  const about = h('p', { class: 'muted' });

  const racerRows = RACERS.map((r, i) => {
    const check = h('input', { type: 'checkbox', checked: DEFAULT_RACERS.has(r.id), 'data-racer': r.id });
    const lr = h('input', { type: 'number', step: 'any', min: 0, style: 'width:6em' });
    return { racer: r, color: COLORS[i % COLORS.length], check, lr, row: h('tr', {}, h('td', {}, check), h('td', {}, h('span', { style: `color:${COLORS[i % COLORS.length]}` }, '■ '), r.label), h('td', {}, lr)) };
  });
  const racerTable = h('table', { class: 'racers' }, h('tr', {}, h('th', {}), h('th', {}, 'optimizer'), h('th', {}, 'lr')), ...racerRows.map((r) => r.row));

  const contourEl = h('div', { class: 'chart tall', id: 'surface-chart' });
  const lossEl = h('div', { class: 'chart tall', id: 'loss-chart' });
  const hessianEl = h('div', { class: 'hessian' }, h('p', { class: 'muted' }, 'Stop the race or let it finish to see the Hessian at each end point.'));

  const controls = runControls({ start: 'race' }, { start, pause: () => client.pause(), resume: () => client.resume() });
  root.append(
    h('h1', {}, 'Optimizers on 2-D loss surfaces'),
    h('p', { class: 'lead' }, 'Each optimizer of @dl/optim starts from the same point (click the plot to move it) and races downhill, in a Web Worker. The right plot is the gap to the global minimum, f − f*, on a log scale. At the end the Hessian ∇²f at each optimizer\'s point tells a minimum (both eigenvalues > 0), a maximum (both < 0) and a saddle (one of each; the eigenvector of the negative one is the escape direction).'),
    h('div', { class: 'toolbar' }, picker.el, h('label', {}, 'surface ', surfaceSelect), sx.el, sy.el, stepsField.el, controls.el),
    about,
    h('div', { class: 'grid2' }, h('div', {}, contourEl), h('div', {}, lossEl)),
    h('div', { class: 'grid2' }, h('div', {}, h('h2', {}, 'Optimizers'), racerTable), h('div', {}, h('h2', {}, 'Hessian at the points reached'), hessianEl)),
  );
  const schedules = scheduleSection();
  root.append(schedules.el);

  const surfaceChart = chartIn(contourEl);
  const loss = lossChart(lossEl, { title: 'f − f*', log: true });
  let paths = new Map<string, [number, number][]>();

  const drawSurface = () => {
    const s = surfaceById(surfaceSelect.value);
    const start: [number, number] = [Number(sx.input.value), Number(sy.input.value)];
    const racing = racerRows.filter((r) => paths.has(r.racer.id));
    surfaceChart.setOption(
      {
        animation: false,
        title: { text: `${s.title}: trajectories`, textStyle: { fontSize: 13 } },
        grid: { left: 45, right: 15, top: 35, bottom: 30 },
        tooltip: { trigger: 'item' },
        xAxis: { type: 'value', min: s.x[0], max: s.x[1] },
        yAxis: { type: 'value', min: s.y[0], max: s.y[1] },
        series: [
          ...contourSeries(s),
          { type: 'scatter', name: 'start', data: [start], symbol: 'pin', symbolSize: 18, itemStyle: { color: '#222' }, z: 5 },
          ...racing.map((r) => ({
            type: 'line',
            name: r.racer.label,
            data: paths.get(r.racer.id),
            showSymbol: false,
            lineStyle: { width: 2, color: r.color },
            itemStyle: { color: r.color },
            endLabel: { show: false },
            z: 4,
          })),
          {
            type: 'scatter',
            name: 'now',
            data: racing.map((r) => ({ value: paths.get(r.racer.id)!.at(-1), itemStyle: { color: r.color }, name: r.racer.label })),
            symbolSize: 9,
            z: 6,
          },
        ],
      },
      { notMerge: true },
    );
  };
  const redraw = perFrame(drawSurface);

  const setSurface = () => {
    const s = surfaceById(surfaceSelect.value);
    sx.input.value = String(s.start[0]);
    sy.input.value = String(s.start[1]);
    for (const r of racerRows) r.lr.value = String(s.lr[r.racer.id]);
    about.textContent = s.about;
    paths = new Map();
    drawSurface();
  };
  surfaceSelect.addEventListener('change', () => {
    client.stop();
    controls.setState('idle');
    setSurface();
  });
  for (const f of [sx.input, sy.input]) f.addEventListener('change', redraw);
  surfaceChart.getZr().on('click', (e: { offsetX: number; offsetY: number }) => {
    const p = surfaceChart.convertFromPixel({ gridIndex: 0 }, [e.offsetX, e.offsetY]) as number[];
    if (!p || controls.el.dataset.state === 'running') return;
    sx.input.value = p[0].toFixed(3);
    sy.input.value = p[1].toFixed(3);
    redraw();
  });

  const client = new TrainerClient<RaceProgress>(() => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }), {
    onBackend: (report, threads) => picker.show(report, threads),
    onState: (state) => {
      controls.setState(state);
      if (state === 'paused' || state === 'done') analyze();
    },
    onError: (m) => controls.error(m),
    onProgress: (p) => {
      for (const [id, point] of Object.entries(p.points)) {
        if (!p.diverged.includes(id) || paths.get(id)!.length < 2) paths.get(id)?.push(point);
        const label = RACERS.find((r) => r.id === id)!.label;
        loss.push(label, p.step, p.gaps[id]);
      }
      root.dataset.step = String(p.step);
      redraw();
    },
  });

  function start() {
    const chosen = racerRows.filter((r) => r.check.checked);
    if (chosen.length === 0) return controls.error('pick at least one optimizer');
    const startPoint: [number, number] = [Number(sx.input.value), Number(sy.input.value)];
    const config: RaceConfig = { surface: surfaceSelect.value, start: startPoint, steps: Math.max(1, Math.round(Number(stepsField.input.value))), racers: chosen.map((r) => ({ id: r.racer.id, lr: Number(r.lr.value) })) };
    paths = new Map(chosen.map((r) => [r.racer.id, [startPoint]]));
    loss.reset();
    hessianEl.replaceChildren(h('p', { class: 'muted' }, 'racing…'));
    picker.pending();
    client.start(picker.value(), config);
    redraw();
  }

  async function analyze() {
    try {
      const reports = await client.request<PointReport[]>({ type: 'analyze' });
      hessianEl.replaceChildren(hessianTable(reports));
    } catch (e) {
      hessianEl.replaceChildren(h('p', { class: 'error' }, String((e as Error).message)));
    }
  }

  setSurface();
  return () => {
    client.stop();
    surfaceChart.dispose();
    loss.chart.dispose();
    schedules.dispose();
  };
};

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(3));

function describe(r: PointReport): string {
  const [a, b] = r.eigenvalues;
  if (r.kind === 'saddle point') return `saddle point: escape along ±(${r.escapeDirection!.map(fmt).join(', ')})`;
  if (r.kind !== 'not critical') return r.kind;
  const shape = a > 0 ? 'curving up both ways (bowl)' : b < 0 ? 'curving down both ways' : `a saddle-shaped region (negative curvature along the eigenvector of λ = ${fmt(a)})`;
  return `not at a critical point yet (‖∇f‖ = ${fmt(r.gradNorm)}); ${shape}`;
}

function hessianTable(reports: PointReport[]): HTMLElement {
  return h(
    'table',
    { class: 'hessian-table' },
    h('tr', {}, h('th', {}, 'optimizer'), h('th', {}, '(x, y)'), h('th', {}, 'f'), h('th', {}, 'λ₁, λ₂'), h('th', {}, 'kind')),
    ...reports.map((r) =>
      h(
        'tr',
        { 'data-kind': r.kind },
        h('td', {}, RACERS.find((x) => x.id === r.id)!.label),
        h('td', { class: 'num' }, `(${r.point.map(fmt).join(', ')})`),
        h('td', { class: 'num' }, fmt(r.value)),
        h('td', { class: 'num' }, r.eigenvalues.map(fmt).join(', ')),
        h('td', {}, describe(r)),
      ),
    ),
  );
}
