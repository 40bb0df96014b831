// Sufficient statistics from what the gateway exports today. Prometheus gives a histogram's count, sum and
// cumulative buckets, and a counter's sum — never a sum of squares — so the second moment is either bounded
// (a metric confined to an interval, like the 0–1 feedback score) or approximated from the buckets.
import type { Moments } from './sequential.js';

/**
 * For a metric confined to [lo, hi], the Bhatia–Davis inequality bounds the variance by (hi − μ)(μ − lo);
 * a sum of squares at that bound overstates the variance, so a test built on it stays valid, only less
 * sharp. For the feedback score (0–1) it is μ(1 − μ), exact for thumbs-up/down feedback.
 */
export function momentsWithinBounds(count: number, sum: number, lo: number, hi: number): Moments {
  if (count === 0) return { count, sum, sumSquares: 0 };
  const mean = sum / count;
  const variance = Math.max(0, (hi - mean) * (mean - lo));
  // s² uses n − 1; scale so that the sample variance equals the bound.
  const sumSquares = count > 1 ? variance * (count - 1) + count * mean * mean : mean * mean;
  return { count, sum, sumSquares };
}

export interface HistogramSnapshot {
  /** Finite upper bounds (`le`), ascending. */
  bounds: readonly number[];
  /** Cumulative counts per finite bound, as Prometheus exposes them. */
  cumulative: readonly number[];
  /** The `_count` series: observations in all buckets, +Inf included. */
  count: number;
  /** The `_sum` series: exact. */
  sum: number;
}

/**
 * An approximate second moment from buckets: each bucket's observations at its midpoint plus the width²/12
 * of a uniform spread inside it (Sheppard's correction); the +Inf bucket at the mean the exact sum leaves
 * for it. The mean stays exact. Coarse buckets or a heavy +Inf bucket make the variance — and so the test's
 * calibration — approximate; docs/experiments.md recommends a sum-of-squares counter instead.
 */
export function momentsFromHistogram(h: HistogramSnapshot): Moments {
  if (h.bounds.length !== h.cumulative.length)
    throw new Error('histogram bounds and buckets differ in length');
  let previousBound = Math.min(0, h.bounds[0] ?? 0);
  let previousCount = 0;
  let finiteSum = 0;
  let sumSquares = 0;
  h.bounds.forEach((bound, i) => {
    const c = (h.cumulative[i] ?? previousCount) - previousCount;
    const mid = (previousBound + bound) / 2;
    const width = bound - previousBound;
    finiteSum += c * mid;
    sumSquares += c * (mid * mid + (width * width) / 12);
    previousBound = bound;
    previousCount = h.cumulative[i] ?? previousCount;
  });
  const overflow = h.count - previousCount;
  if (overflow > 0) {
    const mean = Math.max(previousBound, (h.sum - finiteSum) / overflow);
    finiteSum += overflow * mean;
    sumSquares += overflow * mean * mean;
  }
  if (h.count === 0) return { count: 0, sum: 0, sumSquares: 0 };
  // The spread about the buckets' own mean, re-centred on the exact mean from `_sum`.
  const bucketMean = finiteSum / h.count;
  const variance = Math.max(0, sumSquares / h.count - bucketMean * bucketMean);
  const mean = h.sum / h.count;
  return { count: h.count, sum: h.sum, sumSquares: h.count * (variance + mean * mean) };
}
