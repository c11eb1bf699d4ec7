// Charts a person reads (axes, labels, legends) from vega-lite specs, rendered to PNG without a browser:
// vega-lite → vega → SVG → resvg.

/** Renders a vega-lite spec to PNG bytes (2× zoom, white background). */
export async function vegaLitePng(spec) {
  const [vega, vl, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
}

// Axis labels are '<index>. <label>' (unique even when labels repeat); show what follows the index.
const LABEL = "substring(datum.label, indexof(datum.label, ' ') + 1)";

/**
 * An attention matrix as a labelled heatmap: rows are queries (`rowLabels`, top to bottom), columns keys
 * (`colLabels`), colour the weight with a legend.
 * @param {ArrayLike<number>} values row-major `rows × cols` weights.
 */
export function attentionHeatmapPng(values, rowLabels, colLabels, { title, rowTitle = 'query', colTitle = 'key' } = {}) {
  const data = [];
  // Labels may repeat (letters in a word): index them so every cell is its own.
  const rows = rowLabels.map((l, i) => `${i + 1}. ${l}`);
  const cols = colLabels.map((l, j) => `${j + 1}. ${l}`);
  rows.forEach((r, i) => cols.forEach((c, j) => data.push({ row: r, col: c, weight: values[i * cols.length + j] })));
  return vegaLitePng({
    title,
    data: { values: data },
    width: Math.max(160, 28 * cols.length),
    height: Math.max(120, 22 * rows.length),
    mark: 'rect',
    encoding: {
      x: { field: 'col', type: 'ordinal', sort: cols, title: colTitle, axis: { labelAngle: 0, labelExpr: LABEL } },
      y: { field: 'row', type: 'ordinal', sort: rows, title: rowTitle, axis: { labelExpr: LABEL } },
      color: { field: 'weight', type: 'quantitative', title: 'attention', scale: { scheme: 'viridis', domain: [0, 1] } },
    },
  });
}

/**
 * Attention of every layer and head as a grid of heatmaps (rows: layers, columns: heads), one colour scale.
 * @param {ArrayLike<number>[]} layers per layer, row-major `[heads, rows, cols]` weights.
 * @param {number} heads heads per layer.
 */
export function attentionGridPng(layers, heads, rowLabels, colLabels, { title, rowTitle = 'query', colTitle = 'key', layerName = 'layer' } = {}) {
  const rows = rowLabels.map((l, i) => `${i + 1}. ${l}`);
  const cols = colLabels.map((l, j) => `${j + 1}. ${l}`);
  const panels = [];
  const data = [];
  layers.forEach((values, l) => {
    for (let h = 0; h < heads; h++) {
      const panel = `${layerName} ${l + 1}, head ${h + 1}`;
      panels.push(panel);
      rows.forEach((r, i) => cols.forEach((c, j) => data.push({ panel, row: r, col: c, weight: values[(h * rows.length + i) * cols.length + j] })));
    }
  });
  return vegaLitePng({
    title: { text: title, subtitle: `rows: ${rowTitle}; columns: ${colTitle}` },
    data: { values: data },
    facet: { field: 'panel', type: 'ordinal', sort: panels, title: null },
    columns: heads,
    spec: {
      width: Math.max(90, 14 * cols.length),
      height: Math.max(70, 14 * rows.length),
      mark: 'rect',
      encoding: {
        x: { field: 'col', type: 'ordinal', sort: cols, title: null, axis: { labelAngle: 0, labelExpr: LABEL } },
        y: { field: 'row', type: 'ordinal', sort: rows, title: null, axis: { labelExpr: LABEL } },
        color: { field: 'weight', type: 'quantitative', title: 'attention', scale: { scheme: 'viridis', domain: [0, 1] } },
      },
    },
  });
}

/** Training loss against step (and an optional second series), as a line chart. */
export function lossCurvePng(series, { title, yTitle = 'loss', xTitle = 'step' } = {}) {
  const values = Object.entries(series).flatMap(([name, points]) => points.map(([x, y]) => ({ x, y, series: name })));
  return vegaLitePng({
    title,
    width: 560,
    height: 300,
    data: { values },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: xTitle },
      y: { field: 'y', type: 'quantitative', title: yTitle, scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
    },
  });
}
