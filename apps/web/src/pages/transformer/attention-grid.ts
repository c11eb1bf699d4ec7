/**
 * Attention weights of every layer (rows) and head (columns) as small heatmaps in one ECharts canvas:
 * queries down, keys across, both labelled with the characters, and one colour legend for all (the
 * weights of a row sum to 1; a causal model leaves the upper triangle empty).
 */
import type { Chart } from '../../ui/charts';

export interface AttentionGridData {
  /** Axis labels, one per position. */
  labels: string[];
  /** weights[layer][head]: T × T, row-major, row = query. */
  weights: number[][][];
}

/** Pixel height that gives every layer's row of heatmaps a readable size. */
export const gridHeight = (layers: number): number => TOP + layers * ROW + LEGEND;

const TOP = 40; // pixels above the first row (the chart's title)
const ROW = 230; // pixels per layer
const LEGEND = 50; // pixels below the last row

export function drawAttentionGrid(chart: Chart, { labels, weights }: AttentionGridData): void {
  const T = labels.length;
  const L = weights.length;
  const H = weights[0]?.length ?? 0;
  const left = 4; // percent
  const right = 2;
  const width = (100 - left - right) / H;
  const grids = [];
  const xAxes = [];
  const yAxes = [];
  const titles = [];
  const series = [];
  const small = T > 24;
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      const i = l * H + h;
      grids.push({ left: `${left + h * width + 2}%`, width: `${width - 3.5}%`, top: TOP + l * ROW + 18, height: ROW - 48 });
      const axis = { type: 'category', data: labels, gridIndex: i, axisTick: { show: false }, axisLabel: { fontSize: small ? 8 : 10, interval: small ? 'auto' : 0 }, splitArea: { show: false } };
      xAxes.push({ ...axis, position: 'bottom' });
      yAxes.push({ ...axis, inverse: true });
      titles.push({ text: `layer ${l + 1} · head ${h + 1}`, left: `${left + h * width + 2}%`, top: TOP + l * ROW, textStyle: { fontSize: 11, fontWeight: 'normal' } });
      const data: [number, number, number][] = [];
      const w = weights[l][h];
      for (let q = 0; q < T; q++) for (let k = 0; k < T; k++) data.push([k, q, w[q * T + k]]);
      series.push({ type: 'heatmap', name: `layer ${l + 1} head ${h + 1}`, xAxisIndex: i, yAxisIndex: i, data, emphasis: { disabled: true }, progressive: 0 });
    }
  }
  chart.setOption(
    {
      animation: false,
      title: [{ text: 'Attention weights of the generated text: query (row) attends to key (column)', textStyle: { fontSize: 13 } }, ...titles],
      tooltip: {
        formatter: (p: { seriesName: string; value: [number, number, number] }) => `${p.seriesName}<br>query ${p.value[1]} '${labels[p.value[1]]}' → key ${p.value[0]} '${labels[p.value[0]]}': ${p.value[2].toFixed(3)}`,
      },
      grid: grids,
      xAxis: xAxes,
      yAxis: yAxes,
      visualMap: {
        min: 0,
        max: 1,
        calculable: true,
        orient: 'horizontal',
        left: 'center',
        bottom: 4,
        itemHeight: 160,
        text: ['weight 1', '0'],
        inRange: { color: ['#f7fbff', '#c6dbef', '#6baed6', '#2171b5', '#08306b'] },
      },
      series,
    },
    { notMerge: true },
  );
}
