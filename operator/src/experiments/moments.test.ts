import { describe, expect, it } from '@jest/globals';
import { LATENCY_BUCKETS } from '../../../api/v1alpha1/metrics.js';
import { momentsFromHistogram, momentsWithinBounds } from './moments.js';
import { meanOf, momentsOf, varianceOf } from './sequential.js';
import { seededRandom } from './simulate.js';

describe('moments from exported metrics', () => {
  it('bounds a 0–1 score by μ(1 − μ): exact for thumbs-up/down feedback', () => {
    const votes = [1, 1, 0, 1, 0, 1, 1, 1, 0, 1];
    const bounded = momentsWithinBounds(votes.length, 7, 0, 1);
    expect(meanOf(bounded)).toBeCloseTo(0.7, 12);
    // μ(1 − μ) = 0.21 with n − 1 in the denominator, as a sample variance of 0/1 data times n/(n − 1).
    expect(varianceOf(bounded, 'mean')).toBeCloseTo(0.21, 12);
    expect(varianceOf(momentsOf(votes), 'mean')).toBeCloseTo((0.21 * 10) / 9, 12);
  });

  it('never understates the variance of a score inside its bounds', () => {
    const random = seededRandom(7);
    const scores = Array.from({ length: 500 }, () => 0.5 + 0.4 * random());
    const exact = momentsOf(scores);
    const bounded = momentsWithinBounds(exact.count, exact.sum, 0, 1);
    expect(varianceOf(bounded, 'mean')).toBeGreaterThan(varianceOf(exact, 'mean'));
  });

  it('approximates latency moments from the gateway latency buckets: mean exact, variance within 20% and on the high side', () => {
    const random = seededRandom(8);
    const bounds = LATENCY_BUCKETS;
    // Gamma-ish latencies: sum of three exponentials, mean 0.3 s.
    const xs = Array.from(
      { length: 20_000 },
      () => -0.1 * Math.log((1 - random()) * (1 - random()) * (1 - random())),
    );
    const cumulative = bounds.map((b) => xs.filter((x) => x <= b).length);
    const exact = momentsOf(xs);
    const approx = momentsFromHistogram({ bounds, cumulative, count: exact.count, sum: exact.sum });
    expect(meanOf(approx)).toBeCloseTo(meanOf(exact), 12);
    const ratio = varianceOf(approx, 'mean') / varianceOf(exact, 'mean');
    // Midpoints of the wide tail buckets sit above a falling density's mass: the error is on the safe side here.
    expect(ratio).toBeGreaterThanOrEqual(1);
    expect(ratio).toBeLessThan(1.2);
  });

  it('refuses buckets that do not match the bounds', () => {
    expect(() => momentsFromHistogram({ bounds: [1, 2], cumulative: [1], count: 1, sum: 1 })).toThrow(
      'differ in length',
    );
  });
});
