// Evaluating a router on rows whose answers are known: per benchmark, the share routed to the weak model,
// the quality kept (router accuracy / strong accuracy) and the cost saved at the model's own threshold, with
// bootstrap 95% intervals; the whole quality/cost curve; and, read off the curves, the weak share that keeps
// 95% quality for the router, for random routing and for the oracle on the same rows. Pure: randomness is
// seeded.
import type { RouterRow } from './router-data.js';
import { seededRandom } from './seeded-random.js';

/** RouteLLM's prices, USD per million tokens: GPT-4 ≈ 24.7, Mixtral-8x7B ≈ 0.24. */
export const DEFAULT_PRICE_RATIO = 24.7 / 0.24;

export interface Interval {
  low: number;
  high: number;
}

export interface BenchmarkReport {
  rows: number;
  weakAccuracy: number;
  strongAccuracy: number;
  weakShare: number;
  qualityKept: number;
  costSaved: number;
  intervals: { weakShare: Interval; qualityKept: Interval; costSaved: Interval };
  weakShareAtQuality95: number;
  randomWeakShareAtQuality95: number;
  oracleWeakShareAtQuality95: number;
  /** Weak share → quality kept and cost saved, every 5% of the rows. */
  curve: { weakShare: number; qualityKept: number; costSaved: number }[];
}

export interface EvalReport {
  priceRatio: number;
  benchmarks: Record<string, BenchmarkReport>;
}

/** One row as the router saw it: its probability that the weak model suffices, and the threshold used. */
export interface Scored {
  row: RouterRow;
  p: number;
  threshold: number;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** Weak share, quality kept and cost saved of a routing (true: weak) of rows. */
function figures(rows: readonly RouterRow[], weak: readonly boolean[], ratio: number) {
  let nWeak = 0;
  let correct = 0;
  let strong = 0;
  rows.forEach((r, i) => {
    const w = weak[i] === true;
    nWeak += w ? 1 : 0;
    correct += (w ? r.weak_correct : r.strong_correct) ? 1 : 0;
    strong += r.strong_correct ? 1 : 0;
  });
  const n = Math.max(1, rows.length);
  return {
    weakShare: nWeak / n,
    qualityKept: strong === 0 ? 1 : correct / strong,
    costSaved: 1 - (nWeak + (rows.length - nWeak) * ratio) / (n * ratio),
  };
}

/** Rows sent to the weak model in order of `score` (highest first): quality and cost at every prefix. */
function curveOf(rows: readonly RouterRow[], score: readonly number[], ratio: number) {
  const order = rows.map((_, i) => i).sort((a, b) => (score[b] ?? 0) - (score[a] ?? 0));
  const strongTotal = rows.filter((r) => r.strong_correct).length;
  let correct = strongTotal;
  const points: { weakShare: number; qualityKept: number; costSaved: number }[] = [];
  const at = (k: number) => ({
    weakShare: k / rows.length,
    qualityKept: strongTotal === 0 ? 1 : correct / strongTotal,
    costSaved: 1 - (k + (rows.length - k) * ratio) / (rows.length * ratio),
  });
  points.push(at(0));
  order.forEach((i, k) => {
    const r = rows[i] as RouterRow;
    correct += (r.weak_correct ? 1 : 0) - (r.strong_correct ? 1 : 0);
    points.push(at(k + 1));
  });
  return points;
}

const shareAtQuality = (points: readonly { weakShare: number; qualityKept: number }[], q: number): number =>
  points.reduce((best, p) => (p.qualityKept >= q && p.weakShare > best ? p.weakShare : best), 0);

function interval(values: number[]): Interval {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (f: number) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))] ?? 0;
  return { low: pick(0.025), high: pick(0.975) };
}

function benchmarkReport(scored: readonly Scored[], ratio: number, resamples: number): BenchmarkReport {
  const rows = scored.map((s) => s.row);
  const weak = scored.map((s) => s.p >= s.threshold);
  const own = figures(rows, weak, ratio);
  const random = seededRandom(42);
  const boot = { weakShare: [] as number[], qualityKept: [] as number[], costSaved: [] as number[] };
  for (let b = 0; b < resamples; b++) {
    const idx = rows.map(() => Math.floor(random() * rows.length));
    const f = figures(
      idx.map((i) => rows[i] as RouterRow),
      idx.map((i) => weak[i] === true),
      ratio,
    );
    boot.weakShare.push(f.weakShare);
    boot.qualityKept.push(f.qualityKept);
    boot.costSaved.push(f.costSaved);
  }
  const weakAccuracy = mean(rows.map((r) => (r.weak_correct ? 1 : 0)));
  const strongAccuracy = mean(rows.map((r) => (r.strong_correct ? 1 : 0)));
  const routerCurve = curveOf(
    rows,
    scored.map((s) => s.p),
    ratio,
  );
  const oracle = curveOf(
    rows,
    rows.map((r) => (r.weak_correct ? 1 : 0) - (r.strong_correct ? 1 : 0)),
    ratio,
  );
  // Random routing keeps s·weak + (1 − s)·strong accuracy in expectation.
  const loss = strongAccuracy === 0 ? 0 : 1 - weakAccuracy / strongAccuracy;
  const step = Math.max(1, Math.round(rows.length / 20));
  return {
    rows: rows.length,
    weakAccuracy,
    strongAccuracy,
    ...own,
    intervals: {
      weakShare: interval(boot.weakShare),
      qualityKept: interval(boot.qualityKept),
      costSaved: interval(boot.costSaved),
    },
    weakShareAtQuality95: shareAtQuality(routerCurve, 0.95),
    randomWeakShareAtQuality95: loss <= 0.05 ? 1 : 0.05 / loss,
    oracleWeakShareAtQuality95: shareAtQuality(oracle, 0.95),
    curve: routerCurve.filter((_, k) => k % step === 0 || k === rows.length),
  };
}

/** The report of scored rows, per benchmark. */
export function evaluateScored(
  scored: readonly Scored[],
  priceRatio = DEFAULT_PRICE_RATIO,
  resamples = 1000,
): EvalReport {
  const by = new Map<string, Scored[]>();
  for (const s of scored) {
    const list = by.get(s.row.benchmark) ?? [];
    list.push(s);
    by.set(s.row.benchmark, list);
  }
  const benchmarks: Record<string, BenchmarkReport> = {};
  for (const [name, rows] of [...by].sort(([a], [b]) => (a < b ? -1 : 1)))
    benchmarks[name] = benchmarkReport(rows, priceRatio, resamples);
  return { priceRatio, benchmarks };
}
