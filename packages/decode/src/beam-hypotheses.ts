import type { FinishReason } from './types.js';

/** HF's `early_stopping`: `true`, `false` (the heuristic) or `'never'` (the canonical bound). */
export type EarlyStopping = boolean | 'never';

/** A finished hypothesis as {@link BeamHypotheses} keeps it. */
export interface ScoredHypothesis {
  /** Generated tokens (EOS included when it ended on one). */
  tokens: number[];
  /** Per-token processed log-probabilities. */
  tokenLogprobs: number[];
  /** Σ log-probabilities (the beam score when it finished). */
  sumLogprob: number;
  /** sumLogprob / generatedLength ^ lengthPenalty. */
  score: number;
  /** Why it ended. */
  finishReason: FinishReason;
}

/**
 * The n-best list of finished hypotheses of one input, exactly HF's `BeamHypotheses`:
 *
 * - a hypothesis scores `sumLogprob / generatedLength ** lengthPenalty`, where `generatedLength` counts
 *   generated tokens including the EOS and excluding the prompt (HF ≥ 4.36, `generated_len`; older HF
 *   counted the decoder prompt too). lengthPenalty > 0 favours longer sequences (log-probs are negative),
 *   < 0 shorter ones, 0 compares raw sums.
 * - it keeps at most `numBeams`; adding to a full list replaces the worst if the new one scores higher.
 * - {@link BeamHypotheses.isDone} is HF's `is_done`.
 *
 * @example
 * ```ts
 * import { BeamHypotheses } from '@dl/decode';
 * const h = new BeamHypotheses(2, 1.0, false, 10);
 * h.add([5, 2], [-0.5, -0.7], -1.2, 2); // score -0.6
 * h.isDone(-3, 3); // false: fewer than 2 hypotheses
 * ```
 */
export class BeamHypotheses {
  /** Kept hypotheses (unordered). */
  readonly beams: ScoredHypothesis[] = [];
  /** The lowest kept score (1e9 while empty, as HF). */
  worstScore = 1e9;

  /**
   * @param numBeams how many hypotheses to keep.
   * @param lengthPenalty α of score = Σ log p / length^α.
   * @param earlyStopping HF's `early_stopping`.
   * @param maxNewTokens the generation limit (the bound of `'never'` with α > 0).
   */
  constructor(
    readonly numBeams: number,
    readonly lengthPenalty: number,
    readonly earlyStopping: EarlyStopping,
    readonly maxNewTokens: number,
  ) {}

  /** Number of kept hypotheses. */
  get size(): number {
    return this.beams.length;
  }

  /** Scores a finished hypothesis and keeps it if it is among the best `numBeams` (HF `add`). */
  add(tokens: number[], tokenLogprobs: number[], sumLogprob: number, generatedLength: number, finishReason: FinishReason = 'eos'): void {
    const score = sumLogprob / generatedLength ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ tokens, tokenLogprobs, sumLogprob, score, finishReason });
      if (this.beams.length > this.numBeams) {
        // Drop the worst (the first of equal worst, as Python's stable sort of (score, idx)).
        const order = this.beams.map((b, i) => [b.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(order[0][1], 1);
        this.worstScore = order[1][0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  /**
   * HF `is_done`: never before `numBeams` hypotheses are kept; then with `earlyStopping === true` at once;
   * with `false`, when the worst kept score ≥ `bestSumLogprob / curLength^α` (the best running beam scored
   * at the current length: a heuristic, since with α > 0 longer continuations could still score higher);
   * with `'never'`, the same but with α > 0 the bound uses `maxNewTokens` (the highest score reachable).
   *
   * @param bestSumLogprob the best candidate's summed log-probability at this step.
   * @param curLength generated tokens including this step's.
   */
  isDone(bestSumLogprob: number, curLength: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    const length = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNewTokens : curLength;
    const highest = bestSumLogprob / length ** this.lengthPenalty;
    return this.worstScore >= highest;
  }

  /** The kept hypotheses, best first (stable on ties, as Python's `sorted` + `pop`). */
  sorted(): ScoredHypothesis[] {
    return this.beams
      .map((b, i) => [b, i] as const)
      .sort((a, b) => b[0].score - a[0].score || b[1] - a[1])
      .map(([b]) => b);
  }
}
