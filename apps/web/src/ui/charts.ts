/**
 * Charts: Apache ECharts, tree-shaken to the parts the pages use and loaded with the first page that
 * plots (never with the app shell). Canvas renderer, so the tests can read the pixels.
 */
import * as echarts from 'echarts/core';
import { BarChart, HeatmapChart, LineChart, ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, HeatmapChart, BarChart, ScatterChart, GridComponent, LegendComponent, TitleComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export { echarts };
export type Chart = echarts.ECharts;

/** An ECharts instance in `el` that follows the element's size and is disposed with `dispose()`. */
export function chartIn(el: HTMLElement): Chart {
  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  const ro = new ResizeObserver(() => chart.resize());
  ro.observe(el);
  const dispose = chart.dispose.bind(chart);
  chart.dispose = () => {
    ro.disconnect();
    dispose();
  };
  return chart;
}

/** Coalesces many updates per frame into one redraw. */
export function perFrame(fn: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}

export interface LossChart {
  chart: Chart;
  /** Appends a point to the named series. */
  push(series: string, step: number, loss: number): void;
  /** Removes every series. */
  reset(): void;
  /** The points of a series. */
  values(series: string): number[];
}

/** A live loss curve (one line per series, log-scale y when `log`). */
export function lossChart(el: HTMLElement, { title = 'loss', log = false, xName = 'step' } = {}): LossChart {
  const chart = chartIn(el);
  const data = new Map<string, [number, number][]>();
  const redraw = perFrame(() => {
    chart.setOption({
      series: [...data].map(([name, points]) => ({ name, type: 'line', data: points, showSymbol: false, animation: false })),
      legend: { data: [...data.keys()], type: 'scroll', top: 22 },
    });
    // First and latest value per series, for anyone reading the page without the canvas (and the tests).
    el.dataset.series = JSON.stringify(Object.fromEntries([...data].map(([name, p]) => [name, [p[0][1], p[p.length - 1][1]]])));
  });
  const base = {
    title: { text: title, textStyle: { fontSize: 13 } },
    legend: { top: 22 },
    tooltip: { trigger: 'axis' },
    grid: { left: 55, right: 15, top: 55, bottom: 30 },
    xAxis: { type: 'value', name: xName, nameLocation: 'middle', nameGap: 20, min: 'dataMin' },
    // A log axis fitted to whole decades of the data (ECharts' default log range spans far beyond it).
    yAxis: log
      ? { type: 'log', min: (v: { min: number }) => 10 ** Math.floor(Math.log10(v.min)), max: (v: { max: number }) => 10 ** Math.ceil(Math.log10(v.max)) }
      : { type: 'value', scale: true },
    animation: false,
  };
  chart.setOption(base);
  return {
    chart,
    push(series, step, loss) {
      if (!Number.isFinite(loss) || (log && loss <= 0)) return;
      if (!data.has(series)) data.set(series, []);
      data.get(series)!.push([step, loss]);
      redraw();
    },
    reset() {
      data.clear();
      delete el.dataset.series;
      chart.clear();
      chart.setOption(base);
    },
    values: (series) => (data.get(series) ?? []).map((p) => p[1]),
  };
}
