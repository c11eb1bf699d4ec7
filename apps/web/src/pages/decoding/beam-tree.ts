/**
 * The beam search tree, recorded from the search itself. @dl/decode's `beamSearch` has no trace option,
 * but it runs every logits processor on the log-softmax scores of every live beam at every step, so a
 * processor that returns its input unchanged sees exactly what the search sees: each beam's prefix and
 * the log-probability of every next token. From those, HF's selection rule (the one `beamSearch`
 * implements) is replayed: per step the top 2·K candidates over all beams by cumulative log-probability;
 * an EOS candidate ranked below K finishes a hypothesis, the first K others continue, the rest are pruned.
 * The replay is checked against the next step's beams, which the processor also sees.
 */
import type { LogitsProcessor } from '@dl/decode';

interface StepRecord {
  /** Distinct live beams at this step: prefix (prompt included) and the 2·K best next tokens with log-probs. */
  beams: { prefix: number[]; candidates: [token: number, logprob: number][] }[];
}

/** A node of the tree: a prefix; `token` is its last token. */
export interface TreeNode {
  id: number;
  parent: number | null;
  token: number;
  /** Steps from the root (the decoder start token). */
  depth: number;
  /** Log-probability of `token` given the parent's prefix. */
  logprob: number;
  /** Σ log-probabilities from the root. */
  cumulative: number;
  /** `kept`: a beam of the next step; `finished`: ended with EOS among the top K; `pruned`: ranked out. */
  status: 'root' | 'kept' | 'finished' | 'pruned' | 'final';
  /** Rank (1 = best) among the returned hypotheses, when this node ends one. */
  rank?: number;
  /** The returned hypothesis' length-normalised score, when this node ends one. */
  score?: number;
}

export interface BeamTree {
  nodes: TreeNode[];
  numBeams: number;
  /** Steps where the replayed selection disagreed with the beams the search actually kept (expected 0). */
  mismatches: number;
}

/** A processor that records what beam search sees; pass it in `processors` and read `steps` after. */
export function beamRecorder(numBeams: number): { processor: LogitsProcessor; steps: StepRecord[] } {
  const steps: StepRecord[] = [];
  const processor: LogitsProcessor = (ids, scores) => {
    const seen = new Set<string>();
    const beams: StepRecord['beams'] = [];
    for (let r = 0; r < scores.rows; r++) {
      // On the first step every beam is a copy of the prompt (only the first one counts): record it once.
      const key = ids[r].join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      const row = scores.data.subarray(r * scores.vocab, (r + 1) * scores.vocab);
      const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 2 * numBeams);
      beams.push({ prefix: [...ids[r]], candidates: order.map((t) => [t, row[t]]) });
    }
    steps.push({ beams });
    return scores;
  };
  return { processor, steps };
}

/**
 * Builds the tree from the recorded steps and the returned hypotheses (generated tokens, EOS included,
 * with their scores, best first).
 */
export function buildBeamTree(steps: StepRecord[], numBeams: number, eos: number, hypotheses: { tokens: number[]; score: number }[]): BeamTree {
  const nodes: TreeNode[] = [];
  const byPrefix = new Map<string, TreeNode>();
  const add = (prefix: number[], parent: TreeNode | null, logprob: number, status: TreeNode['status']): TreeNode => {
    const key = prefix.join(',');
    const old = byPrefix.get(key);
    if (old) return old;
    const node: TreeNode = { id: nodes.length, parent: parent?.id ?? null, token: prefix.at(-1)!, depth: parent ? parent.depth + 1 : 0, logprob, cumulative: (parent?.cumulative ?? 0) + logprob, status };
    nodes.push(node);
    byPrefix.set(key, node);
    return node;
  };
  let mismatches = 0;
  steps.forEach((step, t) => {
    if (t === 0) for (const b of step.beams) add(b.prefix, null, 0, 'root');
    const ranked = step.beams
      .flatMap((b) => {
        const parent = byPrefix.get(b.prefix.join(','));
        return parent ? b.candidates.map(([token, lp]) => ({ parent, prefix: [...b.prefix, token], token, lp, total: parent.cumulative + lp })) : [];
      })
      .sort((a, b) => b.total - a.total)
      .slice(0, 2 * numBeams);
    let kept = 0;
    const keptKeys: string[] = [];
    ranked.forEach((c, rank) => {
      let status: TreeNode['status'];
      if (c.token === eos) status = rank < numBeams ? 'finished' : 'pruned';
      else if (kept < numBeams) {
        status = 'kept';
        kept++;
        keptKeys.push(c.prefix.join(','));
      } else status = 'pruned';
      add(c.prefix, c.parent, c.lp, status);
    });
    const next = steps[t + 1];
    if (next) {
      const actual = new Set(next.beams.map((b) => b.prefix.join(',')));
      if (keptKeys.some((k) => !actual.has(k))) mismatches++;
    }
  });
  // The returned hypotheses: mark where each ends (a live beam at the length limit ends as 'final').
  const rootPrefix = steps[0]?.beams[0]?.prefix ?? [];
  hypotheses.forEach((hyp, i) => {
    const node = byPrefix.get([...rootPrefix, ...hyp.tokens].join(','));
    if (!node) return;
    node.rank = i + 1;
    node.score = hyp.score;
    if (node.status === 'kept') node.status = 'final';
  });
  return { nodes, numBeams, mismatches };
}

const SVG = 'http://www.w3.org/2000/svg';
const svg = <K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] => {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
};

const COLORS: Record<TreeNode['status'], string> = { root: '#1d232b', kept: '#2171b5', finished: '#2a9d3c', final: '#2a9d3c', pruned: '#b7bfc9' };

/**
 * Draws the tree left to right: one column per step, each node labelled with its token and the
 * cumulative log-probability; kept beams blue, finished hypotheses green (the returned ones with their
 * rank and score), pruned candidates grey.
 */
export function drawBeamTree(tree: BeamTree, label: (token: number) => string): SVGSVGElement {
  const children = new Map<number, TreeNode[]>();
  for (const n of tree.nodes) if (n.parent !== null) children.set(n.parent, [...(children.get(n.parent) ?? []), n]);
  for (const list of children.values()) list.sort((a, b) => b.cumulative - a.cumulative);
  const COL = 92;
  const ROW = 23;
  const PAD = 14;
  const y = new Map<number, number>();
  let leaf = 0;
  const place = (n: TreeNode): number => {
    const kids = children.get(n.id) ?? [];
    const v = kids.length ? kids.map(place).reduce((a, b) => a + b, 0) / kids.length : PAD + 10 + leaf++ * ROW;
    y.set(n.id, v);
    return v;
  };
  for (const r of tree.nodes.filter((n) => n.parent === null)) place(r);
  const depth = Math.max(0, ...tree.nodes.map((n) => n.depth));
  const width = PAD * 2 + (depth + 1) * COL + 120;
  const height = PAD * 2 + Math.max(1, leaf) * ROW + 10;
  const root = svg('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'beam-tree', role: 'img', 'aria-label': 'beam search tree' });
  const x = (n: TreeNode) => PAD + n.depth * COL;
  const edges = svg('g', { fill: 'none' });
  const labels = svg('g', { 'font-size': 11, 'font-family': 'ui-monospace, monospace' });
  for (const n of tree.nodes) {
    const yn = y.get(n.id)!;
    if (n.parent !== null) {
      const p = tree.nodes[n.parent];
      const xp = x(p) + 34;
      const yp = y.get(p.id)!;
      edges.append(svg('path', { d: `M${xp},${yp} C${xp + 24},${yp} ${x(n) - 24},${yn} ${x(n) - 4},${yn}`, stroke: COLORS[n.status], 'stroke-width': n.status === 'pruned' ? 1 : 1.8, 'stroke-dasharray': n.status === 'pruned' ? '3 3' : '' }));
    }
    const g = svg('g', { 'data-status': n.status });
    const title = svg('title', {}, `${label(n.token)}: log p = ${n.logprob.toFixed(3)}, Σ log p = ${n.cumulative.toFixed(3)} (${n.status})${n.rank ? `, hypothesis #${n.rank}, score ${n.score!.toFixed(3)}` : ''}`);
    g.append(title);
    g.append(svg('circle', { cx: x(n), cy: yn, r: 3.5, fill: COLORS[n.status] }));
    g.append(svg('text', { x: x(n) + 6, y: yn + 4, fill: n.status === 'pruned' ? '#8a94a3' : '#1d232b', 'font-weight': n.rank ? 'bold' : 'normal' }, label(n.token)));
    if (n.parent !== null) g.append(svg('text', { x: x(n) + 6, y: yn + 14, fill: '#8a94a3', 'font-size': 8.5 }, n.cumulative.toFixed(2)));
    if (n.rank) g.append(svg('text', { x: x(n) + 42, y: yn + 4, fill: '#2a9d3c', 'font-weight': 'bold' }, `#${n.rank} ${n.score!.toFixed(3)}`));
    labels.append(g);
  }
  root.append(edges, labels);
  return root;
}
