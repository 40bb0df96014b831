// The router section's reading of the gateway's /metrics: the samples of the decision histogram
// (beastmode_router_decision_seconds) and the decision counter (beastmode_router_decisions_total), the
// change between two readings, and from it per route the number of decisions, the upper bound of the
// bucket a quantile falls in, and how the decisions went (weak share, by `via`). Pure: text in, numbers out.
import { METRICS } from '../../api/v1alpha1/index.js';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)\{([^}]*)\} (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;
const WANTED = [`${METRICS.routerDecisionSeconds}_bucket`, METRICS.routerDecisions];

/** The histogram's buckets and the decision counter's series in a Prometheus text exposition. */
export function parseDecisionSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (m === null || !WANTED.includes(m[1]!)) continue;
    const labels: Record<string, string> = {};
    for (const l of m[2]!.matchAll(LABEL)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const keyOf = (s: Sample) =>
  `${s.name}{${Object.entries(s.labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

/** `after` less `before`, series by series (a series missing before counts from 0). */
export function diffSamples(after: readonly Sample[], before: readonly Sample[]): Sample[] {
  const was = new Map(before.map((s) => [keyOf(s), s.value]));
  return after.map((s) => ({ ...s, value: s.value - (was.get(keyOf(s)) ?? 0) }));
}

export interface Bucket {
  /** Upper bound in seconds (Infinity for +Inf). */
  le: number;
  /** Observations at or below `le`. */
  cumulative: number;
}

/** One route's decision-time buckets, smallest bound first. */
export function decisionBuckets(samples: readonly Sample[], route: string): Bucket[] {
  return samples
    .filter((s) => s.name === `${METRICS.routerDecisionSeconds}_bucket` && s.labels.route === route)
    .map((s) => ({ le: s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), cumulative: s.value }))
    .sort((a, b) => a.le - b.le);
}

/** Observations in the histogram (its +Inf bucket); 0 without one. */
export const observations = (buckets: readonly Bucket[]): number => buckets.at(-1)?.cumulative ?? 0;

/**
 * The upper bound (seconds) of the bucket the quantile `q` falls in: the smallest `le` holding at least
 * q of the observations; undefined without observations.
 */
export function quantileBound(buckets: readonly Bucket[], q: number): number | undefined {
  const n = observations(buckets);
  if (n === 0) return undefined;
  return buckets.find((b) => b.cumulative >= q * n)?.le;
}

/** "≤ 75 µs", "≤ 1 ms", "> 5 ms" (the +Inf bucket), "no decisions". */
export function formatBound(seconds: number | undefined, largest = 5e-3): string {
  if (seconds === undefined) return 'no decisions';
  if (!Number.isFinite(seconds)) return `> ${formatSeconds(largest)}`;
  return `≤ ${formatSeconds(seconds)}`;
}

function formatSeconds(s: number): string {
  return s < 1e-3 ? `${Number((s * 1e6).toPrecision(6))} µs` : `${Number((s * 1e3).toPrecision(6))} ms`;
}

export interface DecisionCounts {
  total: number;
  /** Decisions whose first backend was `weak`. */
  weak: number;
  /** By how the backend was chosen (static, learned, explore, …). */
  via: Map<string, number>;
}

/** How one route's decisions went. */
export function decisionCounts(samples: readonly Sample[], route: string): DecisionCounts {
  const out: DecisionCounts = { total: 0, weak: 0, via: new Map() };
  for (const s of samples) {
    if (s.name !== METRICS.routerDecisions || s.labels.route !== route || s.value === 0) continue;
    out.total += s.value;
    if (s.labels.backend === 'weak') out.weak += s.value;
    const via = s.labels.via ?? '?';
    out.via.set(via, (out.via.get(via) ?? 0) + s.value);
  }
  return out;
}
