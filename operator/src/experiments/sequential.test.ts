import { describe, expect, it } from '@jest/globals';
import { normalCdf, normalQuantile } from './normal.js';
import {
  alwaysValidPValue,
  confidenceSequence,
  designTest,
  estimateDifference,
  logMixtureLikelihoodRatio,
  momentsOf,
  optimalMixingRatio,
  planSampleSize,
  runSequentialTest,
  varianceOf,
  carrySequentialResult,
} from './sequential.js';

/** Λ by brute force: ∫ exp(θS − θ²I/2) N(θ; 0, τ²) dθ with Simpson's rule, S = θ̂/V, I = 1/V. */
function mixtureByQuadrature(effect: number, variance: number, tauSquared: number): number {
  const tau = Math.sqrt(tauSquared);
  const s = effect / variance;
  const info = 1 / variance;
  const lo = Math.min(-12 * tau, effect - 12 * Math.sqrt(variance));
  const hi = Math.max(12 * tau, effect + 12 * Math.sqrt(variance));
  const steps = 20_000;
  const h = (hi - lo) / steps;
  const f = (t: number): number =>
    Math.exp(t * s - (t * t * info) / 2 - (t * t) / (2 * tauSquared)) / (tau * Math.sqrt(2 * Math.PI));
  let sum = f(lo) + f(hi);
  for (let i = 1; i < steps; i++) sum += (i % 2 === 1 ? 4 : 2) * f(lo + i * h);
  return (sum * h) / 3;
}

describe('normal distribution', () => {
  it.each([
    [0, 0.5],
    [1, 0.8413447461],
    [-1, 0.1586552539],
    [1.959963985, 0.975],
    [-3, 0.001349898],
  ])('Φ(%p) = %p to 1e-7', (x, p) => {
    expect(Math.abs(normalCdf(x) - p)).toBeLessThan(1e-7);
  });

  it.each([
    [0.5, 0],
    [0.975, 1.959963985],
    [0.8, 0.8416212336],
    [0.001, -3.090232306],
  ])('Φ⁻¹(%p) = %p to 1e-8', (p, x) => {
    expect(Math.abs(normalQuantile(p) - x)).toBeLessThan(1e-8);
  });

  it('rejects a probability outside (0, 1)', () => {
    expect(() => normalQuantile(1)).toThrow('0 < p < 1');
  });
});

describe('mSPRT for a difference of means', () => {
  it('matches the hand-derived value: V = 1, τ² = 1, θ̂ = 3 gives Λ = e^(9/4)/√2, p = 0.149057', () => {
    const est = { effect: 3, variance: 1 };
    expect(Math.exp(logMixtureLikelihoodRatio(est, 1))).toBeCloseTo(Math.exp(9 / 4) / Math.SQRT2, 10);
    expect(alwaysValidPValue(est, 1)).toBeCloseTo(0.149057, 6);
  });

  it.each([
    [0.01, 0.0004, 0.0002],
    [-0.05, 0.0004, 0.0002],
    [0.3, 0.01, 0.5],
    [0, 2, 0.1],
  ])('equals the mixture integral by quadrature (θ̂ %p, V %p, τ² %p)', (effect, variance, tau2) => {
    const closed = Math.exp(logMixtureLikelihoodRatio({ effect, variance }, tau2));
    expect(closed / mixtureByQuadrature(effect, variance, tau2)).toBeCloseTo(1, 6);
  });

  it('puts the edge of the confidence sequence exactly where the p-value for that null equals α', () => {
    const est = { effect: 0.8, variance: 0.04 };
    const cs = confidenceSequence(est, 0.09, 0.05);
    for (const edge of [cs.lower, cs.upper]) {
      expect(Math.exp(-logMixtureLikelihoodRatio(est, 0.09, edge))).toBeCloseTo(0.05, 10);
    }
  });

  it('excludes 0 from the sequence exactly when the p-value is at most α', () => {
    for (let effect = -0.1; effect <= 0.1; effect += 0.0025) {
      const est = { effect, variance: 0.0004 };
      const cs = confidenceSequence(est, 0.0002, 0.05);
      expect(cs.lower > 0 || cs.upper < 0).toBe(alwaysValidPValue(est, 0.0002) <= 0.05);
    }
  });

  it('needs a larger |z| than a fixed-horizon test: the boundary at the optimum is 3.035 for α = 0.05', () => {
    const { ratio, boundary } = optimalMixingRatio(0.05);
    expect(boundary).toBeCloseTo(3.0351, 3);
    expect(ratio).toBeCloseTo(8.21, 1);
    const b = (r: number): number => Math.sqrt((1 + 1 / r) * (2 * Math.log(20) + Math.log1p(r)));
    expect(b(ratio / 2)).toBeGreaterThan(boundary);
    expect(b(ratio * 2)).toBeGreaterThan(boundary);
    // At r*: |θ̂|/√V = b* is where p = α.
    const v = 1;
    expect(alwaysValidPValue({ effect: boundary * Math.sqrt(v), variance: v }, ratio * v)).toBeCloseTo(
      0.05,
      6,
    );
  });

  it('tunes the mixture to the MDE alone: τ ≈ 0.739·MDE at α = 0.05, power 0.8', () => {
    expect(Math.sqrt(designTest(0.02, 0.05, 0.8).tauSquared) / 0.02).toBeCloseTo(0.7392, 3);
    expect(Math.sqrt(designTest(7, 0.05, 0.8).tauSquared) / 7).toBeCloseTo(0.7392, 3);
    expect(() => designTest(0, 0.05, 0.8)).toThrow('minimum detectable effect');
  });
});

describe('planned sample size', () => {
  it('is 2σ²(b* + z_power)²/MDE² for a mean: σ 0.25, MDE 0.02 needs 4697 per variant', () => {
    // 2 · 0.0625 · (3.03512 + 0.84162)² / 0.0004 = 4696.5
    const plan = planSampleSize({
      kind: 'mean',
      mde: 0.02,
      alpha: 0.05,
      power: 0.8,
      baseline: 0.7,
      stdDev: 0.25,
    });
    expect(plan.perVariant).toBe(4697);
  });

  it('uses p(1 − p) for a proportion: 0.6 → 0.65 needs 2931 per variant', () => {
    // (0.24 + 0.2475) · 15.0289 / 0.0025 = 2930.6, the treatment variance taken at the worse side, 0.55
    const plan = planSampleSize({ kind: 'proportion', mde: 0.05, alpha: 0.05, power: 0.8, baseline: 0.6 });
    expect(plan.perVariant).toBe(2931);
  });

  it('grows with a stricter α (Bonferroni over more variants)', () => {
    const one = planSampleSize({ kind: 'proportion', mde: 0.05, alpha: 0.05, power: 0.8, baseline: 0.6 });
    const three = planSampleSize({
      kind: 'proportion',
      mde: 0.05,
      alpha: 0.05 / 3,
      power: 0.8,
      baseline: 0.6,
    });
    expect(three.perVariant).toBeGreaterThan(one.perVariant);
  });

  it('refuses to plan a mean metric without a standard deviation', () => {
    expect(() => planSampleSize({ kind: 'mean', mde: 1, alpha: 0.05, power: 0.8, baseline: 10 })).toThrow(
      'stdDev',
    );
  });
});

describe('sufficient statistics', () => {
  it('recover the sample variance from count, sum and sum of squares', () => {
    const xs = [120, 180, 95, 240, 150, 133];
    const mean = xs.reduce((a, b) => a + b) / xs.length;
    const s2 = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1);
    expect(varianceOf(momentsOf(xs), 'mean')).toBeCloseTo(s2, 8);
  });

  it('shrink a proportion with no successes yet away from zero variance', () => {
    expect(varianceOf({ count: 50, sum: 0, sumSquares: 0 }, 'proportion')).toBeCloseTo(
      (1 / 52) * (51 / 52),
      12,
    );
  });

  it('give no estimate while a variant has fewer than two observations or no spread', () => {
    expect(estimateDifference(momentsOf([1]), momentsOf([1, 2, 3]), 'mean')).toBeUndefined();
    expect(estimateDifference(momentsOf([2, 2, 2]), momentsOf([2, 2]), 'mean')).toBeUndefined();
  });

  it('carry the running minimum p-value and the intersection of the sequence across looks', () => {
    const design = designTest(0.5, 0.05, 0.8);
    const first = runSequentialTest(momentsOf([1, 2, 3, 4]), momentsOf([3, 4, 5, 6]), 'mean', design)!;
    const second = runSequentialTest(
      momentsOf([1, 2, 3, 4, 2, 3]),
      momentsOf([3, 4, 5, 6, 2, 3]),
      'mean',
      design,
    )!;
    const carried = carrySequentialResult(first, second);
    expect(carried.pValue).toBe(Math.min(first.pValue, second.pValue));
    expect(carried.lower).toBe(Math.max(first.lower, second.lower));
    expect(carried.upper).toBe(Math.min(first.upper, second.upper));
  });
});
