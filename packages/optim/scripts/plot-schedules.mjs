#!/usr/bin/env node
// Plots every schedule of @dl/optim as a hand-written SVG (no dependencies) into docs/schedules/ at the
// repository root, with docs/schedules/README.md listing them. Run after `pnpm build`:
//   node packages/optim/scripts/plot-schedules.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as o from '../dist/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../../docs/schedules');
mkdirSync(out, { recursive: true });

const plateau = o.reduceOnPlateau({ init: 0.1, patience: 3, factor: 0.5, cooldown: 2 });
const plateauValues = [];
for (let t = 0; t < 100; t++) {
  plateauValues.push(plateau(t));
  plateau.report(t < 20 ? 1 - t / 40 : 0.5 + 0.001 * Math.sin(t)); // improves, then stalls
}

const N = 100;
const plots = [
  ['constant', 'constant(0.1)', o.constant(0.1)],
  ['step-decay', 'stepDecay({ init: 0.1, stepSize: 25, gamma: 0.5 })', o.stepDecay({ init: 0.1, stepSize: 25, gamma: 0.5 })],
  ['multi-step', 'multiStep({ init: 0.1, milestones: [30, 60, 80] })', o.multiStep({ init: 0.1, milestones: [30, 60, 80] })],
  ['exponential', 'exponential({ init: 0.1, gamma: 0.97 })', o.exponential({ init: 0.1, gamma: 0.97 })],
  ['linear', 'linear({ init: 0.1, end: 0.01, steps: 70 })', o.linear({ init: 0.1, end: 0.01, steps: 70 })],
  ['polynomial', 'polynomial({ init: 0.1, steps: 100, power: 2 })', o.polynomial({ init: 0.1, steps: 100, power: 2 })],
  ['cosine', 'cosine({ init: 0.1, steps: 100, end: 0.005 })', o.cosine({ init: 0.1, steps: 100, end: 0.005 })],
  ['cosine-warm-restarts', 'cosineWarmRestarts({ init: 0.1, period: 10, periodMult: 2 })', o.cosineWarmRestarts({ init: 0.1, period: 10, periodMult: 2 })],
  ['linear-warmup', 'linearWarmup({ peak: 0.1, steps: 20 })', o.linearWarmup({ peak: 0.1, steps: 20 })],
  ['warmup-cosine', 'warmupCosine({ peak: 0.1, warmupSteps: 10, totalSteps: 100 })', o.warmupCosine({ peak: 0.1, warmupSteps: 10, totalSteps: 100 })],
  ['noam', 'noam({ dModel: 512, warmupSteps: 20 })', o.noam({ dModel: 512, warmupSteps: 20 })],
  ['one-cycle', 'oneCycle({ maxValue: 0.1, totalSteps: 100 })', o.oneCycle({ maxValue: 0.1, totalSteps: 100 })],
  ['one-cycle-three-phase', 'oneCycle({ maxValue: 0.1, totalSteps: 100, threePhase: true, anneal: "linear" })', o.oneCycle({ maxValue: 0.1, totalSteps: 100, threePhase: true, anneal: 'linear' })],
  ['one-cycle-momentum', 'oneCycleMomentum({ totalSteps: 100 })', o.oneCycleMomentum({ totalSteps: 100 })],
  ['cyclic-triangular', 'cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10 })', o.cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10 })],
  ['cyclic-triangular2', 'cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10, mode: "triangular2" })', o.cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10, mode: 'triangular2' })],
  ['cyclic-exp-range', 'cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10, mode: "exp_range", gamma: 0.98 })', o.cyclic({ base: 0.01, max: 0.1, stepSizeUp: 10, mode: 'exp_range', gamma: 0.98 })],
  ['reduce-on-plateau', 'reduceOnPlateau({ init: 0.1, patience: 3, factor: 0.5, cooldown: 2 }), metric stalls at step 20', (t) => plateauValues[t]],
  ['join', 'join([linearWarmup({ peak: 0.1, steps: 20 }), exponential({ init: 0.1, gamma: 0.96 })], [20])', o.join([o.linearWarmup({ peak: 0.1, steps: 20 }), o.exponential({ init: 0.1, gamma: 0.96 })], [20])],
  ['sequence', 'sequence([[constant(0.05), 30], [cosine({ init: 0.1, steps: 70 }), 70]])', o.sequence([[o.constant(0.05), 30], [o.cosine({ init: 0.1, steps: 70 }), 70]])],
  ['multiply', 'multiply(cosineWarmRestarts({ init: 0.1, period: 25 }), exponential({ init: 1, gamma: 0.98 }))', o.multiply(o.cosineWarmRestarts({ init: 0.1, period: 25 }), o.exponential({ init: 1, gamma: 0.98 }))],
];

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
function svg(title, f) {
  const W = 480, H = 240, L = 56, R = 12, T = 30, B = 32;
  const ys = Array.from({ length: N }, (_, t) => f(t));
  const hi = Math.max(...ys), lo = Math.min(0, ...ys);
  const y0 = lo, y1 = hi === lo ? lo + 1 : hi * 1.05;
  const X = (t) => L + ((W - L - R) * t) / (N - 1);
  const Y = (v) => T + (H - T - B) * (1 - (v - y0) / (y1 - y0));
  const pts = ys.map((v, t) => `${X(t).toFixed(1)},${Y(v).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((k) => y0 + k * (y1 - y0));
  const fmt = (v) => (v === 0 ? '0' : Math.abs(v) < 0.01 ? v.toExponential(1) : v.toPrecision(2));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="10">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${L}" y="16" font-size="11" font-weight="bold">${esc(title)}</text>
${ticks.map((v) => `<line x1="${L}" x2="${W - R}" y1="${Y(v).toFixed(1)}" y2="${Y(v).toFixed(1)}" stroke="#eee"/><text x="${L - 4}" y="${(Y(v) + 3).toFixed(1)}" text-anchor="end">${fmt(v)}</text>`).join('\n')}
${[0, 25, 50, 75, 99].map((t) => `<text x="${X(t).toFixed(1)}" y="${H - B + 14}" text-anchor="middle">${t}</text>`).join('\n')}
<text x="${(L + W - R) / 2}" y="${H - 4}" text-anchor="middle">step</text>
<line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.8" points="${pts}"/>
</svg>
`;
}

// The front matter names the page in the documentation site (docs/schedules/README.md is one of its documents).
const lines = ['---', 'title: Learning rate schedules', '---', '', '# Schedules of @dl/optim', '', 'Generated by `node packages/optim/scripts/plot-schedules.mjs` (after `pnpm build` in packages/optim): each schedule over 100 steps.', ''];
for (const [file, title, f] of plots) {
  writeFileSync(path.join(out, `${file}.svg`), svg(title, f));
  lines.push(`## ${file}`, '', `\`${title}\``, '', `![${file}](${file}.svg)`, '');
}
writeFileSync(path.join(out, 'README.md'), lines.join('\n'));
console.log(`wrote ${plots.length} SVGs to ${out}`);
