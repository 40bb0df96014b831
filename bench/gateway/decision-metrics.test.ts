// The decision metrics read from a /metrics text: only the router's series, the change between two
// readings, a quantile as the upper bound of its bucket, and how the decisions went.
import { describe, expect, it } from '@jest/globals';
import {
  decisionBuckets,
  decisionCounts,
  diffSamples,
  formatBound,
  observations,
  parseDecisionSamples,
  quantileBound,
} from './decision-metrics.js';

const LES = ['5e-6', '0.00001', '0.000025', '0.00005', '0.000075', '0.0001', '0.00025', '+Inf'];

/** A /metrics text whose route `r` has these cumulative counts per bucket of LES, and two decisions. */
function exposition(cumulative: number[], weak = 1): string {
  const buckets = LES.map(
    (le, i) =>
      `beastmode_router_decision_seconds_bucket{le="${le}",namespace="default",route="r"} ${cumulative[i]}`,
  );
  return [
    '# HELP beastmode_router_decision_seconds Time spent deciding',
    '# TYPE beastmode_router_decision_seconds histogram',
    ...buckets,
    `beastmode_router_decision_seconds_sum{namespace="default",route="r"} 0.01`,
    `beastmode_router_decision_seconds_count{namespace="default",route="r"} ${cumulative.at(-1)}`,
    `beastmode_router_decisions_total{namespace="default",route="r",backend="weak",via="learned"} ${weak}`,
    'beastmode_router_decisions_total{namespace="default",route="r",backend="strong",via="explore"} 1',
    'beastmode_requests_total{namespace="default",route="r"} 99',
  ].join('\n');
}

describe('decision metrics', () => {
  it("keeps only the histogram's buckets and the decision counter", () => {
    const samples = parseDecisionSamples(exposition([0, 1, 2, 3, 4, 4, 4, 4]));
    expect(samples).toHaveLength(LES.length + 2);
    expect(samples[0]).toEqual({
      name: 'beastmode_router_decision_seconds_bucket',
      labels: { le: '5e-6', namespace: 'default', route: 'r' },
      value: 0,
    });
  });

  it('takes a quantile as the upper bound of the bucket it falls in, over the change between readings', () => {
    const before = parseDecisionSamples(exposition([50, 50, 50, 50, 50, 50, 50, 50], 0));
    const after = parseDecisionSamples(exposition([50, 60, 140, 148, 149, 150, 150, 150], 90));
    const buckets = decisionBuckets(diffSamples(after, before), 'r');
    expect(observations(buckets)).toBe(100);
    expect(quantileBound(buckets, 0.5)).toBe(2.5e-5);
    expect(quantileBound(buckets, 0.99)).toBe(7.5e-5);
    expect(quantileBound(buckets, 1)).toBe(1e-4);
    expect(quantileBound(decisionBuckets(after, 'other'), 0.99)).toBeUndefined();
    expect(decisionCounts(diffSamples(after, before), 'r')).toEqual({
      total: 90,
      weak: 90,
      via: new Map([['learned', 90]]),
    });
  });

  it('writes a bound in µs or ms, the +Inf bucket as above the largest one', () => {
    expect(formatBound(7.5e-5)).toBe('≤ 75 µs');
    expect(formatBound(5e-6)).toBe('≤ 5 µs');
    expect(formatBound(1e-3)).toBe('≤ 1 ms');
    expect(formatBound(Infinity)).toBe('> 5 ms');
    expect(formatBound(undefined)).toBe('no decisions');
  });
});
