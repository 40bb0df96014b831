// Quantiles from cumulative histogram buckets, as PromQL's histogram_quantile: linear interpolation inside
// the bucket holding the rank; a rank in the +Inf bucket answers the highest finite bound.

export interface Bucket {
  /** Upper bound (le), +Infinity for the last bucket. */
  le: number;
  /** Cumulative count of observations <= le. */
  count: number;
}

export function histogramQuantile(q: number, buckets: Bucket[]): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (sorted.length === 0 || total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Number.POSITIVE_INFINITY) return lowerBound;
      const inBucket = b.count - lowerCount;
      if (inBucket <= 0) return b.le;
      return lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    if (b.le !== Number.POSITIVE_INFINITY) lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}
