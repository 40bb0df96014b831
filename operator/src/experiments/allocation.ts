// How an experiment splits traffic: fixed weights or Thompson sampling on the primary metric, and the
// sticky assignment of a subject (user, API key) to a variant. Pure: randomness is injected.
//
// Adaptive allocation and validity. The mSPRT in sequential.ts stays a martingale under the null when the
// split for the next batch depends only on data already seen (a predictable allocation), which batched
// updates — new weights once per tick, never per request — guarantee. What adaptivity can break is
// stationarity: if the metric drifts over time (daytime traffic, a model provider's slow hour) while weights
// move, a variant's pooled mean mixes different periods in different proportions (Simpson's paradox), and
// the plug-in variance of a starved arm is noisy. The floor bounds both: every variant keeps at least
// `floor` of the traffic, so its information grows linearly, the time mix of any two arms differs by a
// bounded factor, and the experiment can still reach its planned sample size. The simulation test runs A/A
// under Thompson allocation to check the false-positive rate holds.
import { normalCdf } from './normal.js';
import { meanOf, varianceOf, type Direction, type MetricKind, type Moments } from './sequential.js';

export type Weights = Record<string, number>;

function normalise(weights: Weights): Weights {
  const total = Object.values(weights).reduce((a, b) => a + Math.max(0, b), 0);
  if (!(total > 0)) throw new Error('at least one variant needs a positive weight');
  return Object.fromEntries(Object.entries(weights).map(([k, w]) => [k, Math.max(0, w) / total]));
}

/** Fixed splits: the declared weights, normalised to sum to 1. */
export function fixedAllocation(weights: Weights): Weights {
  return normalise(weights);
}

/**
 * Raises every share to at least `floor` and scales the rest down so the total stays 1 (water-filling: a
 * variant lifted to the floor stays there, the others share what is left in proportion).
 */
export function applyFloor(weights: Weights, floor: number): Weights {
  const keys = Object.keys(weights);
  if (floor * keys.length > 1) throw new Error(`floor ${floor} is too high for ${keys.length} variants`);
  const w = normalise(weights);
  const pinned = new Set<string>();
  // Terminates: while floor·n ≤ 1 the free variants cannot all fall under the floor at once.
  for (;;) {
    const free = keys.filter((k) => !pinned.has(k));
    const freeMass = free.reduce((a, k) => a + (w[k] ?? 0), 0);
    const budget = 1 - floor * pinned.size;
    const share = (k: string): number =>
      freeMass > 0 ? ((w[k] ?? 0) / freeMass) * budget : budget / free.length;
    const lifted = free.filter((k) => share(k) < floor);
    if (lifted.length === 0)
      return Object.fromEntries(keys.map((k) => [k, pinned.has(k) ? floor : share(k)]));
    for (const k of lifted) pinned.add(k);
  }
}

/** A standard normal draw from a uniform source (Box–Muller). */
export function normalDraw(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

export interface BanditArm {
  variant: string;
  moments: Moments;
}

/**
 * Thompson sampling: each variant's share is the posterior probability that it is the best, estimated from
 * `draws` joint draws of the means. The posterior is the large-sample normal one, N(mean, s²/n), which for a
 * proportion is the Beta posterior's normal limit; with two variants the probability is exact (no draws); a variant without two observations gets a flat share.
 * The floor then keeps the test valid and every arm learning (see the header).
 */
export function thompsonAllocation(opts: {
  arms: BanditArm[];
  kind: MetricKind;
  direction: Direction;
  floor: number;
  random: () => number;
  draws?: number;
}): Weights {
  const { arms, floor } = opts;
  const draws = opts.draws ?? 2000;
  if (arms.some((a) => a.moments.count < 2))
    return applyFloor(Object.fromEntries(arms.map((a) => [a.variant, 1])), floor);
  const sign = opts.direction === 'higher-is-better' ? 1 : -1;
  const post = arms.map((a) => ({
    mean: meanOf(a.moments),
    sd: Math.sqrt(varianceOf(a.moments, opts.kind) / a.moments.count),
  }));
  const [pa, pb] = post;
  if (arms.length === 2 && pa !== undefined && pb !== undefined) {
    // Two arms: P(b beats a) = Φ(±(μb − μa) / sqrt(sa² + sb²)) exactly, no draws needed.
    const spread = Math.sqrt(pa.sd * pa.sd + pb.sd * pb.sd);
    const pB = spread > 0 ? normalCdf((sign * (pb.mean - pa.mean)) / spread) : 0.5;
    return applyFloor({ [arms[0]?.variant ?? '']: 1 - pB, [arms[1]?.variant ?? '']: pB }, floor);
  }
  const wins = new Array<number>(arms.length).fill(0);
  for (let d = 0; d < draws; d++) {
    let best = 0;
    let bestValue = -Infinity;
    post.forEach((p, i) => {
      const v = sign * (p.mean + p.sd * normalDraw(opts.random));
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    });
    wins[best] = (wins[best] ?? 0) + 1;
  }
  return applyFloor(Object.fromEntries(arms.map((a, i) => [a.variant, (wins[i] ?? 0) / draws])), floor);
}

// The sticky assignment lives in api/ because the gateway assigns requests with the very same function.
export { assignVariant, hashToUnit } from '../../../api/v1alpha1/assignment.js';
