// Simulated experiments for the statistical tests and for what-if planning: per-tick sufficient statistics
// drawn in closed form (no per-request loop for continuous metrics), the decision rule applied at every
// tick, and the outcome. Deterministic for a seed.
import { decideExperiment, designTests, type ExperimentDesign, type Verdict } from './decision.js';
import { normalDraw, type Weights } from './allocation.js';
import { addMoments, NO_MOMENTS, type Moments } from './sequential.js';

/** mulberry32: the same sequence for the same seed (as the gateway's seeded-random). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Moments of n normal observations without drawing them: the sample mean is N(μ, σ²/n) and, independently,
 * (n − 1)s²/σ² is χ² with n − 1 degrees of freedom (Wilson–Hilferty cube approximation, ample for n ≥ 10).
 */
export function normalBatch(random: () => number, n: number, mean: number, sd: number): Moments {
  if (n === 0) return NO_MOMENTS;
  const xbar = mean + (sd / Math.sqrt(n)) * normalDraw(random);
  const k = Math.max(1, n - 1);
  const c = 2 / (9 * k);
  const chi2 = k * Math.max(0, 1 - c + normalDraw(random) * Math.sqrt(c)) ** 3;
  const sumSq = n > 1 ? chi2 * sd * sd + n * xbar * xbar : xbar * xbar;
  return { count: n, sum: n * xbar, sumSquares: sumSq };
}

/**
 * Moments of n Bernoulli(p) outcomes: an exact Binomial(n, p) draw by inversion, walking the pmf up from 0
 * with one uniform (O(np) steps instead of n uniforms).
 */
export function bernoulliBatch(random: () => number, n: number, p: number): Moments {
  if (n === 0 || p <= 0) return { count: n, sum: 0, sumSquares: 0 };
  if (p >= 1) return { count: n, sum: n, sumSquares: n };
  const odds = p / (1 - p);
  let pmf = Math.pow(1 - p, n);
  let cdf = pmf;
  let s = 0;
  const u = random();
  while (u > cdf && s < n) {
    pmf *= (odds * (n - s)) / (s + 1);
    s++;
    cdf += pmf;
  }
  return { count: n, sum: s, sumSquares: s };
}

/** The truth of one metric of one variant. */
export type MetricTruth = { kind: 'normal'; mean: number; sd: number } | { kind: 'bernoulli'; p: number };

export interface Scenario {
  design: ExperimentDesign;
  /** variant → metric name → truth. */
  truth: Record<string, Record<string, MetricTruth>>;
  ticks: number;
  /** Observations of every metric per tick, over all variants. */
  perTick: number;
  tickMs: number;
  /** The split for the next tick from the moments so far (fixed when absent): batched, hence predictable. */
  allocate?: (moments: Record<string, Record<string, Moments>>, random: () => number) => Weights;
}

export interface Outcome {
  verdict: Verdict;
  winner?: string;
  /** The tick (1-based) the experiment stopped at; `ticks` + 1 when it never stopped. */
  stoppedAt: number;
  samplesPerVariant: number;
}

function draw(random: () => number, n: number, t: MetricTruth): Moments {
  return t.kind === 'normal' ? normalBatch(random, n, t.mean, t.sd) : bernoulliBatch(random, n, t.p);
}

export function simulateExperiment(s: Scenario, random: () => number): Outcome {
  const variants = [s.design.control, ...s.design.treatments];
  const tests = designTests(s.design);
  const moments: Record<string, Record<string, Moments>> = Object.fromEntries(variants.map((v) => [v, {}]));
  const even: Weights = Object.fromEntries(variants.map((v) => [v, 1 / variants.length]));
  for (let tick = 1; tick <= s.ticks; tick++) {
    const weights = s.allocate?.(moments, random) ?? even;
    for (const v of variants) {
      const n = Math.round(s.perTick * (weights[v] ?? 0));
      const vm = moments[v] as Record<string, Moments>;
      for (const [metric, truth] of Object.entries(s.truth[v] ?? {})) {
        vm[metric] = addMoments(vm[metric] ?? NO_MOMENTS, draw(random, n, truth));
      }
    }
    const d = decideExperiment(s.design, { elapsedMs: tick * s.tickMs, moments }, tests);
    if (d.verdict !== 'continue') {
      const samples = moments[s.design.control]?.[s.design.primary.name]?.count ?? 0;
      return {
        verdict: d.verdict,
        ...(d.winner === undefined ? {} : { winner: d.winner }),
        stoppedAt: tick,
        samplesPerVariant: samples,
      };
    }
  }
  return {
    verdict: 'continue',
    stoppedAt: s.ticks + 1,
    samplesPerVariant: moments[s.design.control]?.[s.design.primary.name]?.count ?? 0,
  };
}

export function simulateMany(s: Scenario, runs: number, seed: number): Outcome[] {
  const random = seededRandom(seed);
  return Array.from({ length: runs }, () => simulateExperiment(s, random));
}

/** One-sided Wilson score bounds for a binomial proportion (z = 1.645: 95% one-sided). */
export function wilsonBounds(successes: number, n: number, z = 1.645): { lower: number; upper: number } {
  const p = successes / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}
