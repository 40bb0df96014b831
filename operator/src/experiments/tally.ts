// The experiment tally: what the gateway pods export for one experiment (per-process counters of
// observations, value sums and sums of squares per variant and metric, EXPERIMENT_SERIES), and how the
// controller turns successive scrapes into deltas that add to the cumulative moments in status. Pure: the
// controller scrapes and keeps the memory.
//
// Deltas per pod: the first scrape after the controller starts (or after the experiment restarts) is a
// baseline, since status already holds everything before it; a pod first seen later was born after it and
// counts in full; a pod whose counters went down restarted, so its current values are the delta.
import { EXPERIMENT_SERIES } from '../../../api/v1alpha1/index.js';
import { parsePrometheusText } from '../rollout/providers/prom-text.js';
import { addMoments, type Moments } from './sequential.js';

/** One pod's counters of one experiment: key `variant \t metric`. */
export type Counters = Map<string, Moments>;

export const counterKey = (variant: string, metric: string): string => `${variant}\t${metric}`;

export function splitCounterKey(key: string): { variant: string; metric: string } {
  const [variant = '', metric = ''] = key.split('\t');
  return { variant, metric };
}

const FIELD: Record<string, keyof Moments> = {
  [EXPERIMENT_SERIES.observations]: 'count',
  [EXPERIMENT_SERIES.sum]: 'sum',
  [EXPERIMENT_SERIES.sumSquares]: 'sumSquares',
};

export interface TallyTarget {
  namespace: string;
  route: string;
  experiment: string;
}

/** The experiment's counters in one pod's /metrics text. */
export function countersFromText(text: string, target: TallyTarget): Counters {
  const out: Counters = new Map();
  for (const s of parsePrometheusText(text, (n) => FIELD[n] !== undefined)) {
    const field = FIELD[s.name];
    const l = s.labels;
    if (field === undefined || !Number.isFinite(s.value)) continue;
    if (l.namespace !== target.namespace || l.route !== target.route || l.experiment !== target.experiment)
      continue;
    if (l.variant === undefined || l.metric === undefined) continue;
    const key = counterKey(l.variant, l.metric);
    const m = out.get(key) ?? { count: 0, sum: 0, sumSquares: 0 };
    out.set(key, { ...m, [field]: m[field] + s.value });
  }
  return out;
}

/** One scrape of the route's gateway pods: the counters of those that answered, the URLs of those that did not. */
export interface ScrapeResult {
  pods: Map<string, Counters>;
  failed: string[];
  /** Why nothing could be read (no pods known, every scrape failed). */
  error?: string;
}

/** What the controller keeps between ticks of one experiment: each pod's last counters. */
export interface TallyMemory {
  specHash: string;
  pods: Map<string, Counters>;
  /** Pods that did not answer the baseline scrape: their first answer is their baseline. */
  pending: Set<string>;
}

function wentDown(prev: Counters, cur: Counters): boolean {
  for (const [k, p] of prev) {
    const c = cur.get(k);
    if (c === undefined || c.count < p.count || c.sumSquares < p.sumSquares) return true;
  }
  return false;
}

function subtract(cur: Counters, prev: Counters): Counters {
  const out: Counters = new Map();
  for (const [k, c] of cur) {
    const p = prev.get(k);
    out.set(
      k,
      p === undefined
        ? c
        : { count: c.count - p.count, sum: c.sum - p.sum, sumSquares: c.sumSquares - p.sumSquares },
    );
  }
  return out;
}

export function addCounters(into: Counters, add: Counters): void {
  for (const [k, v] of add) {
    const m = into.get(k);
    into.set(k, m === undefined ? v : addMoments(m, v));
  }
}

/**
 * The counts since the last scrape, summed over pods, and the memory for the next one. Without a memory
 * of this design (the controller's first scrape, or the experiment restarted) the scrape is a baseline and
 * the delta is empty. Pods that did not answer keep their last counters; pods no longer listed are dropped.
 */
export function tallyDelta(
  memory: TallyMemory | undefined,
  specHash: string,
  scrape: ScrapeResult,
): { delta: Counters; memory: TallyMemory } {
  const delta: Counters = new Map();
  if (memory === undefined || memory.specHash !== specHash) {
    return {
      delta,
      memory: { specHash, pods: new Map(scrape.pods), pending: new Set(scrape.failed) },
    };
  }
  const pods = new Map<string, Counters>();
  const pending = new Set<string>();
  for (const [url, cur] of scrape.pods) {
    const prev = memory.pods.get(url);
    pods.set(url, cur);
    if (prev === undefined) {
      // A pending pod's first answer is its baseline; a pod never seen before was born after the baseline.
      if (!memory.pending.has(url)) addCounters(delta, cur);
    } else {
      addCounters(delta, wentDown(prev, cur) ? cur : subtract(cur, prev));
    }
  }
  for (const url of scrape.failed) {
    const prev = memory.pods.get(url);
    if (prev !== undefined) pods.set(url, prev);
    else if (memory.pending.has(url)) pending.add(url);
  }
  return { delta, memory: { specHash, pods, pending } };
}
