/** The schedules section of the optimizers page: one small chart per schedule with its options as editable JSON. */
import { h, numberField } from '../../ui/dom';
import { chartIn, type Chart } from '../../ui/charts';
import { SCHEDULES, evaluate } from './schedules';

export function scheduleSection(): { el: HTMLElement; dispose(): void } {
  const steps = numberField('steps shown', 120, { min: 2, step: 1 });
  const grid = h('div', { class: 'schedules' });
  const el = h(
    'section',
    {},
    h('h2', {}, 'Learning-rate schedules'),
    h('p', { class: 'muted' }, 'Every schedule of @dl/optim, evaluated on the page. Edit the options (JSON) to redraw; invalid options show @dl/optim\'s error. Each is a plain step → value function, usable for any hyperparameter.'),
    h('div', { class: 'toolbar' }, steps.el),
    grid,
  );
  const charts: Chart[] = [];
  const redraws: (() => void)[] = [];
  for (const demo of SCHEDULES) {
    const text = h('textarea', { spellcheck: false, 'aria-label': `${demo.name} options` });
    text.value = JSON.stringify(demo.options);
    const plot = h('div', { class: 'chart small' });
    const err = h('div', { class: 'error' });
    grid.append(h('div', { class: 'schedule', 'data-schedule': demo.name }, h('strong', {}, demo.name), ' ', h('span', { class: 'muted' }, demo.about), plot, text, err));
    const chart = chartIn(plot);
    charts.push(chart);
    const redraw = () => {
      try {
        const options = JSON.parse(text.value) as Record<string, unknown>;
        const n = Math.max(2, Math.round(Number(steps.input.value)));
        const values = evaluate(demo, options, n);
        const series: object[] = [{ type: 'line', name: demo.name, data: values, showSymbol: false, lineStyle: { width: 2 } }];
        if (demo.metric) series.push({ type: 'line', name: 'metric', yAxisIndex: 1, data: values.map(([t]) => [t, demo.metric!(t)]), showSymbol: false, lineStyle: { type: 'dashed', width: 1 } });
        chart.setOption(
          {
            animation: false,
            grid: { left: 48, right: demo.metric ? 40 : 10, top: 10, bottom: 22 },
            tooltip: { trigger: 'axis' },
            xAxis: { type: 'value', max: n - 1 },
            yAxis: demo.metric ? [{ type: 'value', scale: true }, { type: 'value', scale: true, splitLine: { show: false } }] : { type: 'value', scale: true },
            series,
          },
          { notMerge: true },
        );
        err.textContent = '';
      } catch (e) {
        err.textContent = (e as Error).message;
      }
    };
    text.addEventListener('input', redraw);
    redraws.push(redraw);
    redraw();
  }
  steps.input.addEventListener('change', () => redraws.forEach((r) => r()));
  return { el, dispose: () => charts.forEach((c) => c.dispose()) };
}
