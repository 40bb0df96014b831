// The scaling signals of gateways and their backends, from the operator's scrapes of each gateway instance:
// requests in flight (a gauge, summed over instances), request rate and time-to-first-token p95 (counter and
// histogram deltas over a sliding window, summed over instances, a restarted instance's counters taken as its
// delta), and per backend the attempt rate and its share answered 429. Pure bookkeeping: scrapes and times go
// in, figures come out; the scraper does the I/O.
import { METRICS } from '../../../api/v1alpha1/index.js';
import { histogramQuantile, type Bucket } from '../rollout/providers/histogram.js';
import type { Sample } from '../rollout/providers/prom-text.js';

export interface GatewayKey {
  namespace: string;
  name: string;
}

/** What one scrape of one instance says, reduced to the counters and gauges the signals need. */
export interface Reading {
  at: number;
  inflight: number;
  requests: number;
  /** ttft buckets (cumulative counts by le) of every backend together. */
  ttft: Map<number, number>;
  /** Per `route/backend`: attempts, attempts answered 429, in-flight upstream calls, ttft buckets. */
  backends: Map<string, { attempts: number; throttled: number; inflight: number; ttft: Map<number, number> }>;
}

export interface Signals {
  inflight: number;
  requestsPerSecond: number;
  /** undefined when no request completed in the window. */
  ttftP95Seconds: number | undefined;
}

export interface BackendSignals extends Signals {
  route: string;
  backend: string;
  /** Share of the window's attempts answered 429 (the backend is saturated or throttling). */
  throttledRatio: number;
}

const le = (s: Sample): number => (s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le));

function addTo(map: Map<number, number>, k: number, v: number): void {
  map.set(k, (map.get(k) ?? 0) + v);
}

/** Reduces a scrape of one gateway instance to a Reading. */
export function readScrape(samples: readonly Sample[], at: number): Reading {
  const r: Reading = { at, inflight: 0, requests: 0, ttft: new Map(), backends: new Map() };
  const backend = (s: Sample) => {
    const key = `${s.labels.route ?? ''}/${s.labels.backend ?? ''}`;
    let b = r.backends.get(key);
    if (b === undefined)
      r.backends.set(key, (b = { attempts: 0, throttled: 0, inflight: 0, ttft: new Map() }));
    return b;
  };
  for (const s of samples) {
    if (s.name === METRICS.inflight) r.inflight += s.value;
    else if (s.name === METRICS.requests) r.requests += s.value;
    else if (s.name === `${METRICS.timeToFirstToken}_bucket`) {
      addTo(r.ttft, le(s), s.value);
      addTo(backend(s).ttft, le(s), s.value);
    } else if (s.name === METRICS.upstreamAttempts) {
      const b = backend(s);
      b.attempts += s.value;
      if (s.labels.outcome === '429') b.throttled += s.value;
    } else if (s.name === METRICS.upstreamInflight || s.name === METRICS.spillOverInflight) {
      // A backend's demand: the calls it serves and those spilled over from it while it was saturated,
      // so that spilling the excess elsewhere does not hide it from the backend's autoscaler.
      backend(s).inflight += s.value;
    }
  }
  return r;
}

/** later − earlier of a counter; a counter that went down (a restart) counts from zero. */
const delta = (earlier: number, later: number): number => (later >= earlier ? later - earlier : later);

function bucketDelta(earlier: Map<number, number>, later: Map<number, number>): Map<number, number> {
  const reset = [...later].some(([k, v]) => v < (earlier.get(k) ?? 0));
  return new Map([...later].map(([k, v]) => [k, reset ? v : v - (earlier.get(k) ?? 0)]));
}

function p95(buckets: Map<number, number>): number | undefined {
  const list: Bucket[] = [...buckets].map(([l, count]) => ({ le: l, count }));
  return histogramQuantile(0.95, list);
}

export interface SignalOptions {
  /** The sliding window rates and p95 are taken over. */
  windowMs: number;
  /** An instance not scraped for this long is gone (its pod was removed or stopped answering). */
  staleMs: number;
}

export const DEFAULT_SIGNAL_OPTIONS: SignalOptions = { windowMs: 30_000, staleMs: 30_000 };

/** Recent readings per gateway instance, and the signals computed from them. */
export class GatewaySignals {
  private readonly readings = new Map<string, Map<string, Reading[]>>();

  constructor(private readonly o: SignalOptions = DEFAULT_SIGNAL_OPTIONS) {}

  private static id(g: GatewayKey): string {
    return `${g.namespace}/${g.name}`;
  }

  record(g: GatewayKey, instance: string, reading: Reading): void {
    let instances = this.readings.get(GatewaySignals.id(g));
    if (instances === undefined)
      this.readings.set(GatewaySignals.id(g), (instances = new Map<string, Reading[]>()));
    const list = [...(instances.get(instance) ?? []), reading].filter(
      (r) => r.at >= reading.at - this.o.windowMs * 2,
    );
    instances.set(instance, list);
  }

  /** Forgets what is stale at `now`: instances that went away, gateways no policy asks about. */
  prune(now: number, keep: (g: string) => boolean): void {
    for (const [g, instances] of this.readings) {
      if (!keep(g)) this.readings.delete(g);
      else
        for (const [i, list] of instances)
          if ((list.at(-1)?.at ?? 0) < now - this.o.staleMs) instances.delete(i);
    }
  }

  /** For each fresh instance: the oldest reading inside the window and the latest. */
  private spans(g: GatewayKey, now: number): { first: Reading; last: Reading }[] {
    const out: { first: Reading; last: Reading }[] = [];
    for (const list of this.readings.get(GatewaySignals.id(g))?.values() ?? []) {
      const last = list.at(-1);
      if (last === undefined || last.at < now - this.o.staleMs) continue;
      const first = list.find((r) => r.at >= last.at - this.o.windowMs) ?? last;
      out.push({ first, last });
    }
    return out;
  }

  /** The gateway's signals at `now`; undefined when no instance has a fresh reading. */
  gateway(g: GatewayKey, now: number): Signals | undefined {
    const spans = this.spans(g, now);
    if (spans.length === 0) return undefined;
    let inflight = 0;
    let rate = 0;
    const ttft = new Map<number, number>();
    for (const { first, last } of spans) {
      inflight += last.inflight;
      const seconds = (last.at - first.at) / 1000;
      if (seconds > 0) rate += delta(first.requests, last.requests) / seconds;
      for (const [k, v] of bucketDelta(first.ttft, last.ttft)) addTo(ttft, k, v);
    }
    return { inflight, requestsPerSecond: rate, ttftP95Seconds: p95(ttft) };
  }

  /** Per route backend of the gateway, at `now`. */
  backends(g: GatewayKey, now: number): BackendSignals[] {
    const acc = new Map<
      string,
      { inflight: number; rate: number; throttled: number; attempts: number; ttft: Map<number, number> }
    >();
    for (const { first, last } of this.spans(g, now)) {
      const seconds = (last.at - first.at) / 1000;
      for (const [key, b] of last.backends) {
        const before = first.backends.get(key) ?? {
          attempts: 0,
          throttled: 0,
          inflight: 0,
          ttft: new Map<number, number>(),
        };
        let a = acc.get(key);
        if (a === undefined)
          acc.set(key, (a = { inflight: 0, rate: 0, throttled: 0, attempts: 0, ttft: new Map() }));
        const attempts = delta(before.attempts, b.attempts);
        a.inflight += b.inflight;
        a.attempts += attempts;
        a.throttled += delta(before.throttled, b.throttled);
        if (seconds > 0) a.rate += attempts / seconds;
        for (const [k, v] of bucketDelta(before.ttft, b.ttft)) addTo(a.ttft, k, v);
      }
    }
    return [...acc].map(([key, a]) => {
      const [route = '', backend = ''] = key.split('/');
      return {
        route,
        backend,
        inflight: a.inflight,
        requestsPerSecond: a.rate,
        ttftP95Seconds: p95(a.ttft),
        throttledRatio: a.attempts > 0 ? a.throttled / a.attempts : 0,
      };
    });
  }
}
