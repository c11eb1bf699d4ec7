/**
 * Contour lines of a 2-D function as ECharts line series: d3-contour traces the iso-lines on a grid,
 * each level becomes one series whose rings are separated by gaps ('-').
 */
import { contours } from 'd3-contour';
import type { Surface } from './surfaces';

const GRID = 140;

/** Viridis-like ramp from dark blue (low) to yellow (high). */
function ramp(t: number): string {
  const stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const u = Math.min(0.9999, Math.max(0, t)) * (stops.length - 1);
  const i = Math.floor(u);
  const f = u - i;
  const c = stops[i].map((a, k) => Math.round(a + f * (stops[i + 1][k] - a)));
  return `rgb(${c.join(',')})`;
}

const cache = new Map<string, object[]>();

/** The contour series of `s`, computed once per surface (the trajectories redraw every frame; the contours never change). */
export function contourSeries(s: Surface, levels = 22): object[] {
  const key = `${s.id}/${levels}`;
  if (!cache.has(key)) cache.set(key, traceContours(s, levels));
  return cache.get(key)!;
}

function traceContours(s: Surface, levels: number): object[] {
  const values = new Float64Array(GRID * GRID);
  const [x0, x1] = s.x;
  const [y0, y1] = s.y;
  // Log of the gap to the minimum: these surfaces span several decades.
  const z = (x: number, y: number) => Math.log(s.f(x, y) - s.min + s.shift);
  let lo = Infinity;
  let hi = -Infinity;
  for (let j = 0; j < GRID; j++) {
    for (let i = 0; i < GRID; i++) {
      const v = z(x0 + ((i + 0.5) / GRID) * (x1 - x0), y0 + ((j + 0.5) / GRID) * (y1 - y0));
      values[j * GRID + i] = v;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  const thresholds = Array.from({ length: levels }, (_, k) => lo + ((k + 0.5) / levels) * (hi - lo));
  const toX = (gx: number) => x0 + (gx / GRID) * (x1 - x0);
  const toY = (gy: number) => y0 + (gy / GRID) * (y1 - y0);
  return contours()
    .size([GRID, GRID])
    .thresholds(thresholds)(Array.from(values))
    .map((c, k) => {
      const data: (number[] | string)[] = [];
      for (const polygon of c.coordinates) for (const ring of polygon) {
        for (const [gx, gy] of ring) data.push([toX(gx), toY(gy)]);
        data.push('-');
      }
      return {
        type: 'line',
        name: `level ${k}`,
        data,
        showSymbol: false,
        silent: true,
        animation: false,
        connectNulls: false,
        lineStyle: { width: 1, color: ramp(k / (levels - 1)), opacity: 0.75 },
        z: 1,
      };
    });
}
