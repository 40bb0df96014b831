// Always-valid two-sample tests: the mixture sequential probability ratio test (mSPRT) of Johari, Pekelis
// and Walsh ("Always Valid Inference: Continuous Monitoring of A/B Tests", Operations Research 2022) for the
// difference of two means or two proportions, and its dual, the normal-mixture confidence sequence (Robbins
// 1970; Howard, Ramdas, McAuliffe, Sekhon, "Time-uniform, nonparametric, nonasymptotic confidence sequences",
// Annals of Statistics 2021). Both are computed from per-variant sufficient statistics (count, sum, sum of
// squares), which is what counters and histograms can supply, so a controller can peek at every tick: by
// Ville's inequality the chance that the p-value *ever* drops below α under the null is at most α.
import { normalQuantile } from './normal.js';

/** Sufficient statistics of one metric of one variant. For a 0/1 metric, sum = sumSquares = successes. */
export interface Moments {
  count: number;
  sum: number;
  sumSquares: number;
}

/** `mean`: a continuous metric (latency, cost, score); `proportion`: a 0/1 outcome (task success, error). */
export type MetricKind = 'mean' | 'proportion';
export type Direction = 'higher-is-better' | 'lower-is-better';

export const NO_MOMENTS: Moments = { count: 0, sum: 0, sumSquares: 0 };

export function addMoments(a: Moments, b: Moments): Moments {
  return { count: a.count + b.count, sum: a.sum + b.sum, sumSquares: a.sumSquares + b.sumSquares };
}

export function momentsOf(values: readonly number[]): Moments {
  let sum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    sumSquares += v * v;
  }
  return { count: values.length, sum, sumSquares };
}

export function meanOf(m: Moments): number {
  return m.count === 0 ? NaN : m.sum / m.count;
}

/**
 * The per-observation variance a test plugs in. For a proportion the +1/+2 shrinkage (as in the
 * Agresti–Coull interval) keeps it away from 0 while a variant has seen no failures or no successes yet, so
 * an early "0 errors vs 1 error" cannot look infinitely precise; it is conservative and vanishes as n grows.
 */
export function varianceOf(m: Moments, kind: MetricKind): number {
  switch (kind) {
    case 'proportion': {
      const p = (m.sum + 1) / (m.count + 2);
      return p * (1 - p);
    }
    case 'mean': {
      if (m.count < 2) return NaN;
      return Math.max(0, (m.sumSquares - (m.sum * m.sum) / m.count) / (m.count - 1));
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown metric kind ${String(never)}`);
    }
  }
}

/** θ̂ = mean(treatment) − mean(control) and V, the variance of θ̂ (unpooled, plug-in). */
export interface DifferenceEstimate {
  effect: number;
  variance: number;
}

/** Undefined while either variant has fewer than two observations or the data show no spread at all. */
export function estimateDifference(
  control: Moments,
  treatment: Moments,
  kind: MetricKind,
): DifferenceEstimate | undefined {
  if (control.count < 2 || treatment.count < 2) return undefined;
  const variance = varianceOf(control, kind) / control.count + varianceOf(treatment, kind) / treatment.count;
  if (!(variance > 0)) return undefined;
  return { effect: meanOf(treatment) - meanOf(control), variance };
}

/**
 * log Λ for H0: θ = θ0 against a N(θ0, τ²) mixture over the alternative. With information I = 1/V and score
 * S = (θ̂ − θ0)/V, exp(θS − θ²I/2) is the Gaussian likelihood-ratio martingale; integrating θ over the prior
 * gives Λ = sqrt(V / (V + τ²)) · exp(τ²(θ̂ − θ0)² / (2V(V + τ²))), a nonnegative martingale under H0 with
 * mean 1. This is the known-variance form; V is a plug-in estimate, which Johari et al. show keeps the
 * guarantee asymptotically (the minimum-sample rule in decision.ts keeps the estimate honest early on).
 */
export function logMixtureLikelihoodRatio(est: DifferenceEstimate, tauSquared: number, theta0 = 0): number {
  const { variance: v } = est;
  const d = est.effect - theta0;
  return 0.5 * Math.log(v / (v + tauSquared)) + (tauSquared * d * d) / (2 * v * (v + tauSquared));
}

/** The always-valid p-value at this look: min(1, 1/Λ). Report the running minimum over looks. */
export function alwaysValidPValue(est: DifferenceEstimate, tauSquared: number): number {
  return Math.min(1, Math.exp(-logMixtureLikelihoodRatio(est, tauSquared)));
}

export interface Interval {
  lower: number;
  upper: number;
}

/**
 * The (1 − α) confidence sequence for θ: the θ0 that the mSPRT at level α has not rejected,
 * θ̂ ± sqrt( V(V + τ²)/τ² · (2 ln(1/α) + ln((V + τ²)/V)) ). It covers the true θ at every look at once, so
 * the running intersection over looks is valid too. 0 ∉ interval exactly when the p-value is ≤ α.
 */
export function confidenceSequence(est: DifferenceEstimate, tauSquared: number, alpha: number): Interval {
  const v = est.variance;
  const half = Math.sqrt(
    ((v * (v + tauSquared)) / tauSquared) * (2 * Math.log(1 / alpha) + Math.log((v + tauSquared) / v)),
  );
  return { lower: est.effect - half, upper: est.effect + half };
}

/**
 * The boundary on |z| = |θ̂|/sqrt(V) is b(r)² = (1 + 1/r)(2 ln(1/α) + ln(1 + r)) with r = τ²/V: loose early
 * (small r) and slowly loosening late (large r). Its minimum, r* (about 8 at α = 0.05), is where the test is
 * most sensitive; golden-section search finds it (b is unimodal in ln r).
 */
export function optimalMixingRatio(alpha: number): { ratio: number; boundary: number } {
  const f = (lr: number): number => {
    const r = Math.exp(lr);
    return (1 + 1 / r) * (2 * Math.log(1 / alpha) + Math.log1p(r));
  };
  let lo = Math.log(0.01);
  let hi = Math.log(1e6);
  const g = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 100; i++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (f(a) < f(b)) hi = b;
    else lo = a;
  }
  const lr = (lo + hi) / 2;
  return { ratio: Math.exp(lr), boundary: Math.sqrt(f(lr)) };
}

/** A test's fixed design: the (already corrected) level and the mixing variance. */
export interface TestDesign {
  alpha: number;
  tauSquared: number;
}

/**
 * Tunes the mixture to the declared minimum detectable effect: the planned horizon is where an effect of
 * exactly `mde` sits (b* + z_power) standard errors from 0, and τ² = r*·V there, so the test is sharpest where
 * the plan needs it. τ depends only on mde, α and power (about 0.73·mde at α = 0.05, power 0.8), never on the
 * data, as validity requires.
 */
export function designTest(mde: number, alpha: number, power: number): TestDesign {
  if (!(mde > 0)) throw new Error(`minimum detectable effect must be positive, got ${mde}`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must lie in (0, 1), got ${alpha}`);
  if (!(power > 0 && power < 1)) throw new Error(`power must lie in (0, 1), got ${power}`);
  const { ratio, boundary } = optimalMixingRatio(alpha);
  const se = mde / (boundary + normalQuantile(power));
  return { alpha, tauSquared: ratio * se * se };
}

export interface SampleSizePlan {
  /** Observations of the metric per variant for the declared power at the declared effect. */
  perVariant: number;
  /** The |z| the test needs near the planned horizon, against 1.96 for one fixed-horizon look at 5%. */
  boundary: number;
}

/**
 * Samples per variant (equal split) at which an effect of `mde` crosses the boundary b* with probability
 * `power` at that single look: n = (σc² + σt²)(b* + z_power)² / mde². Earlier looks can only add crossings,
 * so the realised power is at least this (the simulation test measures it). σ² comes from the baseline:
 * p(1 − p) for a proportion (the worse of p ± mde for the treatment), the declared standard deviation else.
 */
export function planSampleSize(opts: {
  kind: MetricKind;
  mde: number;
  alpha: number;
  power: number;
  baseline: number;
  stdDev?: number;
}): SampleSizePlan {
  const { boundary } = optimalMixingRatio(opts.alpha);
  let varianceSum: number;
  if (opts.kind === 'proportion') {
    const p = opts.baseline;
    const pv = (x: number): number => (x > 0 && x < 1 ? x * (1 - x) : 0);
    varianceSum = pv(p) + Math.max(pv(p + opts.mde), pv(p - opts.mde));
  } else {
    if (opts.stdDev === undefined || !(opts.stdDev > 0))
      throw new Error('a mean metric needs a positive stdDev to plan a sample size');
    varianceSum = 2 * opts.stdDev * opts.stdDev;
  }
  const k = boundary + normalQuantile(opts.power);
  return { perVariant: Math.ceil((varianceSum * k * k) / (opts.mde * opts.mde)), boundary };
}

/** What a comparison reports at one look. */
export interface SequentialResult extends DifferenceEstimate, Interval {
  pValue: number;
}

export function runSequentialTest(
  control: Moments,
  treatment: Moments,
  kind: MetricKind,
  design: TestDesign,
): SequentialResult | undefined {
  const est = estimateDifference(control, treatment, kind);
  if (est === undefined) return undefined;
  return {
    ...est,
    ...confidenceSequence(est, design.tauSquared, design.alpha),
    pValue: alwaysValidPValue(est, design.tauSquared),
  };
}

/** Carries the running minimum p-value and the running intersection of the sequence across looks. */
export function carrySequentialResult(
  previous: SequentialResult | undefined,
  current: SequentialResult,
): SequentialResult {
  if (previous === undefined) return current;
  return {
    ...current,
    pValue: Math.min(previous.pValue, current.pValue),
    lower: Math.max(previous.lower, current.lower),
    upper: Math.min(previous.upper, current.upper),
  };
}
