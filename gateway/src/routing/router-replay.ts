// Replaying rows whose answers are known as a stream of requests, to compare the static router with the
// learning router under bandit feedback: for each row, both decide; the learning router is then told the
// outcome of the backend it chose — only that one, and only for a `feedbackRate` share of the rows (users
// do not score every answer). The figures are read over the second half of the stream, after the learner
// has had the first half to learn. Regret is measured in the route's currency at equal quality: the weak
// share the oracle (which knows every answer) reaches while keeping the quality a router kept, less the
// weak share that router reached — the traffic it sent to the strong backend needlessly.
// Pure: randomness is seeded.
import type { RouterRow } from './router-data.js';
import { LearningRouter, type CellView, type LearnerOptions } from './router-learner.js';
import { bandEdgesOf, thresholdFor, weakSuffices, type RouterModel } from './router-model.js';
import { seededRandom } from './seeded-random.js';

export interface ReplayOptions extends Partial<LearnerOptions> {
  /** Bands of p(weak) per cluster, at quantiles of the model's scores (unless bandEdges says). */
  bands?: number;
  targetQuality: number;
  feedbackRate: number;
  seed: number;
  /** The prompt's cluster (its domain). */
  clusterOf: (prompt: string) => string;
}

export interface RouterFigures {
  weakShare: number;
  qualityKept: number;
  regret: number;
}

export interface ReplayReport {
  rows: number;
  feedback: number;
  static: RouterFigures;
  /**
   * The best a static threshold could do on the second half, chosen in hindsight: the weak share at which
   * the static router's scores keep the target quality there (no deployable router knows it in advance).
   */
  hindsightStaticWeakShare: number;
  learning: RouterFigures & { explored: number };
  /** The learner's cells at the end of the stream. */
  cells: readonly CellView[];
}

function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

class Tally {
  private n = 0;
  private weak = 0;
  private correct = 0;
  private strongCorrect = 0;

  add(row: RouterRow, weak: boolean): void {
    this.n++;
    this.weak += weak ? 1 : 0;
    this.correct += (weak ? row.weak_correct : row.strong_correct) ? 1 : 0;
    this.strongCorrect += row.strong_correct ? 1 : 0;
  }

  /** The figures; `oracleAt` gives the oracle's weak share at a quality. */
  figures(oracleAt: (quality: number) => number): RouterFigures {
    const weakShare = this.weak / Math.max(1, this.n);
    const qualityKept = this.strongCorrect === 0 ? 1 : this.correct / this.strongCorrect;
    return { weakShare, qualityKept, regret: Math.max(0, oracleAt(qualityKept) - weakShare) };
  }
}

/** The largest share of `scored` sent weak, highest p first, that keeps `quality` of strong's. */
function weakShareAtQuality(scored: readonly { row: RouterRow; p: number }[], quality: number): number {
  const order = [...scored].sort(
    (a, b) => b.p - a.p || (a.row.strong_correct ? 1 : 0) - (b.row.strong_correct ? 1 : 0),
  );
  const strong = order.filter((s) => s.row.strong_correct).length;
  let correct = strong;
  let best = 0;
  order.forEach(({ row }, k) => {
    correct += (row.weak_correct ? 1 : 0) - (row.strong_correct ? 1 : 0);
    if (strong === 0 || correct / strong >= quality) best = (k + 1) / order.length;
  });
  return best;
}

/** Replays `rows` (shuffled) through the static router and the learning router side by side. */
export function replayRows(rows: readonly RouterRow[], model: RouterModel, o: ReplayOptions): ReplayReport {
  const random = seededRandom(o.seed);
  const stream = shuffled(rows, random);
  const threshold = thresholdFor(model, o.targetQuality);
  const learner = new LearningRouter({ bandEdges: bandEdgesOf(model, o.bands ?? 4, o.targetQuality), ...o });
  const half = Math.floor(stream.length / 2);
  const staticTally = new Tally();
  const secondHalf: { row: RouterRow; p: number }[] = [];
  const learningTally = new Tally();
  let feedback = 0;
  let explored = 0;
  stream.forEach((row, i) => {
    const p = weakSuffices(model, row.prompt);
    const staticWeak = p >= threshold;
    const d = learner.decide(o.clusterOf(row.prompt), p, staticWeak, random);
    if (i >= half) {
      staticTally.add(row, staticWeak);
      secondHalf.push({ row, p });
      learningTally.add(row, d.weak);
      explored += d.via === 'explore' ? 1 : 0;
    }
    if (random() < o.feedbackRate) {
      feedback++;
      learner.observe(d.cell, d.weak ? 'weak' : 'strong', d.weak ? row.weak_correct : row.strong_correct);
    }
  });
  // The oracle sends weak first where weak is right and strong wrong, then where both agree.
  const oracle = secondHalf.map(({ row }) => ({
    row,
    p: (row.weak_correct ? 1 : 0) - (row.strong_correct ? 1 : 0),
  }));
  const oracleAt = (quality: number) => weakShareAtQuality(oracle, quality);
  return {
    rows: stream.length,
    feedback,
    static: staticTally.figures(oracleAt),
    hindsightStaticWeakShare: weakShareAtQuality(secondHalf, o.targetQuality),
    learning: { ...learningTally.figures(oracleAt), explored: explored / Math.max(1, stream.length - half) },
    cells: learner.cells(),
  };
}
