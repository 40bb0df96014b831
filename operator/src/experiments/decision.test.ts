import { describe, expect, it } from '@jest/globals';
import {
  decideExperiment,
  plannedSamplesPerVariant,
  type ExperimentDesign,
  type Observation,
} from './decision.js';
import type { Moments } from './sequential.js';

/** Moments of n observations with exactly this mean and sample standard deviation. */
function normal(n: number, mean: number, sd: number): Moments {
  return { count: n, sum: n * mean, sumSquares: (n - 1) * sd * sd + n * mean * mean };
}
function proportion(n: number, p: number): Moments {
  const s = Math.round(n * p);
  return { count: n, sum: s, sumSquares: s };
}

const HOUR = 3_600_000;

function design(overrides: Partial<ExperimentDesign> = {}): ExperimentDesign {
  return {
    control: 'a',
    treatments: ['b'],
    primary: { name: 'feedback-score', kind: 'mean', direction: 'higher-is-better', mde: 0.02 },
    guardrails: [],
    alpha: 0.05,
    guardrailAlpha: 0.05,
    power: 0.8,
    minSamplesPerVariant: 100,
    maxSamplesPerVariant: 50_000,
    maxDurationMs: 24 * HOUR,
    ...overrides,
  };
}

/** Feedback-score figures per variant: [n, mean]; sd 0.25. */
function scores(
  figures: Record<string, [number, number]>,
  extra: Record<string, Record<string, Moments>> = {},
  elapsedMs = HOUR,
): Observation {
  const moments: Observation['moments'] = {};
  for (const [v, [n, mean]] of Object.entries(figures))
    moments[v] = { 'feedback-score': normal(n, mean, 0.25), ...extra[v] };
  return { elapsedMs, moments };
}

describe('decideExperiment', () => {
  it('collects without a verdict while a variant has fewer than the minimum samples, even with a huge gap', () => {
    const d = decideExperiment(design(), scores({ a: [99, 0.2], b: [5000, 0.9] }));
    expect(d.verdict).toBe('continue');
    expect(d.treatments[0]?.standing).toBe('collecting');
    expect(d.reasons).toEqual(['b: collecting feedback-score samples']);
  });

  it('declares the treatment the winner when its improvement is significant', () => {
    const d = decideExperiment(design(), scores({ a: [3000, 0.7], b: [3000, 0.74] }));
    expect(d.verdict).toBe('winner');
    expect(d.winner).toBe('b');
    expect(d.treatments[0]?.primary?.improvementLower).toBeCloseTo(0.0203, 3);
    expect(d.reasons[0]).toMatch(/^b vs a: feedback-score improvement 0.04 \(0.0203 to 0.0597\), p=2.48e-7$/);
  });

  it('keeps looking while the sequence still holds both 0 and the MDE', () => {
    const d = decideExperiment(design(), scores({ a: [1000, 0.7], b: [1000, 0.71] }));
    expect(d.verdict).toBe('continue');
    expect(d.treatments[0]?.standing).toBe('undecided');
  });

  it('reads a lower-is-better metric the right way round: cheaper is better', () => {
    const cost = {
      name: 'cost-per-request',
      kind: 'mean' as const,
      direction: 'lower-is-better' as const,
      mde: 0.001,
    };
    const obs: Observation = {
      elapsedMs: HOUR,
      moments: {
        a: { 'cost-per-request': normal(2000, 0.01, 0.004) },
        b: { 'cost-per-request': normal(2000, 0.008, 0.004) },
      },
    };
    const d = decideExperiment(design({ primary: cost }), obs);
    expect(d.winner).toBe('b');
    expect(d.treatments[0]?.primary?.improvement).toBeCloseTo(0.002, 10);
    const higher = decideExperiment(design({ primary: { ...cost, direction: 'higher-is-better' } }), obs);
    expect(higher.verdict).toBe('winner');
    expect(higher.winner).toBe('a');
  });

  it('names the control the winner when every treatment is significantly worse', () => {
    const d = decideExperiment(
      design({ treatments: ['b', 'c'] }),
      scores({ a: [3000, 0.74], b: [3000, 0.7], c: [3000, 0.69] }),
    );
    expect(d.verdict).toBe('winner');
    expect(d.winner).toBe('a');
  });

  it('decides a proportion: task success 0.60 → 0.66 over 3000 requests each', () => {
    const success = {
      name: 'task-success',
      kind: 'proportion' as const,
      direction: 'higher-is-better' as const,
      mde: 0.05,
    };
    const obs: Observation = {
      elapsedMs: HOUR,
      moments: {
        a: { 'task-success': proportion(3000, 0.6) },
        b: { 'task-success': proportion(3000, 0.66) },
      },
    };
    expect(decideExperiment(design({ primary: success }), obs).winner).toBe('b');
  });

  it('stops for a guardrail breach before declaring a primary winner', () => {
    const latency = {
      name: 'latency-ms',
      kind: 'mean' as const,
      direction: 'lower-is-better' as const,
      tolerance: 20,
      mde: 40,
    };
    const obs = scores(
      { a: [3000, 0.7], b: [3000, 0.74] },
      { a: { 'latency-ms': normal(3000, 1000, 400) }, b: { 'latency-ms': normal(3000, 1200, 400) } },
    );
    const d = decideExperiment(design({ guardrails: [latency] }), obs);
    expect(d.verdict).toBe('guardrail-breach');
    expect(d.winner).toBeUndefined();
    expect(d.reasons).toHaveLength(1);
    expect(d.reasons[0]).toMatch(/^b: latency-ms worse than a by 1\d\d to 2\d\d, tolerance 20$/);
  });

  it('tolerates a guardrail degradation within the tolerance, however certain', () => {
    const latency = {
      name: 'latency-ms',
      kind: 'mean' as const,
      direction: 'lower-is-better' as const,
      tolerance: 20,
      mde: 40,
    };
    const obs = scores(
      { a: [40_000, 0.7], b: [40_000, 0.74] },
      { a: { 'latency-ms': normal(40_000, 1000, 100) }, b: { 'latency-ms': normal(40_000, 1010, 100) } },
    );
    const d = decideExperiment(design({ guardrails: [latency] }), obs);
    expect(d.treatments[0]?.guardrails['latency-ms']?.improvementUpper).toBeLessThan(0);
    expect(d.verdict).toBe('winner');
  });

  it('stops with no difference when the sequence rules out the MDE both ways (futility)', () => {
    const d = decideExperiment(design(), scores({ a: [20_000, 0.7], b: [20_000, 0.7] }));
    expect(d.verdict).toBe('no-difference');
    expect(d.treatments[0]?.standing).toBe('equivalent');
    expect(d.reasons[0]).toBe('no treatment differs from a by the MDE 0.02');
  });

  it('stops with no difference at the maximum duration or the maximum sample size', () => {
    const undecided = { a: [1000, 0.7], b: [1000, 0.71] } satisfies Record<string, [number, number]>;
    expect(decideExperiment(design(), scores(undecided, {}, 24 * HOUR)).reasons[0]).toBe(
      'maximum duration or sample size reached',
    );
    expect(decideExperiment(design({ maxSamplesPerVariant: 1000 }), scores(undecided)).verdict).toBe(
      'no-difference',
    );
    expect(decideExperiment(design({ maxSamplesPerVariant: 1001 }), scores(undecided)).verdict).toBe(
      'continue',
    );
  });

  it('promotes the treatment whose improvement is surely largest among several winners', () => {
    const d = decideExperiment(
      design({ treatments: ['b', 'c'] }),
      scores({ a: [3000, 0.7], b: [3000, 0.74], c: [3000, 0.76] }),
    );
    expect(d.treatments.map((t) => t.standing)).toEqual(['better', 'better']);
    expect(d.winner).toBe('c');
  });

  it('holds the family-wise error with Bonferroni: p = 0.03 wins alone, not among five treatments', () => {
    const single = decideExperiment(design(), scores({ a: [4000, 0.7], b: [4000, 0.718] }));
    expect(single.treatments[0]?.primary?.pValue).toBeCloseTo(0.0303, 3);
    expect(single.winner).toBe('b');
    const five = design({ treatments: ['b', 'c', 'd', 'e', 'f'] });
    const many = decideExperiment(
      five,
      scores({
        a: [4000, 0.7],
        b: [4000, 0.718],
        c: [4000, 0.7],
        d: [4000, 0.7],
        e: [4000, 0.7],
        f: [4000, 0.7],
      }),
    );
    expect(many.verdict).toBe('continue');
    expect(many.treatments[0]?.standing).toBe('undecided');
  });

  it('requires the declared minimum effect of a winner when one is set', () => {
    const obs = scores({ a: [3000, 0.7], b: [3000, 0.74] });
    const strict = design({
      primary: {
        name: 'feedback-score',
        kind: 'mean',
        direction: 'higher-is-better',
        mde: 0.02,
        minimumEffect: 0.025,
      },
    });
    expect(decideExperiment(strict, obs).verdict).toBe('continue');
  });

  it('plans the samples a status can show as "needs ~N per variant", corrected for the number of treatments', () => {
    expect(plannedSamplesPerVariant(design(), 0.7, 0.25)).toBe(4697);
    expect(plannedSamplesPerVariant(design({ treatments: ['b', 'c', 'd'] }), 0.7, 0.25)).toBeGreaterThan(
      4697,
    );
  });
});
