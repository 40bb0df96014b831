// The gateway metric provider: scrapes every instance of the route's ModelGateway, keeps each instance's
// previous scrape to take window deltas of counters and histogram buckets per variant (a counter that went
// down means the instance restarted: its current values are the delta), sums them across instances, and
// turns them into figures: error rate, p95 latency and TTFT (linear interpolation in bucket deltas), cost
// per successful request, mean feedback score.
import { request } from 'undici';
import { METRICS, SHADOW_METRICS, type VariantFigures } from '../../../../api/v1alpha1/index.js';
import { histogramQuantile, type Bucket } from './histogram.js';
import { parsePrometheusText, type Sample } from './prom-text.js';
import type { GatewayEndpoints } from './endpoints.js';
import {
  VARIANTS,
  type AnalysisResult,
  type MetricProvider,
  type MetricQuery,
  type Variant,
} from '../types.js';

/** Window series of one route backend: key `family\tvariant\tsub` (sub = outcome or le), value. */
export type Series = Map<string, number>;

const FAMILIES = {
  [METRICS.upstreamAttempts]: 'attempts',
  [`${METRICS.upstreamLatency}_bucket`]: 'latency',
  [`${METRICS.timeToFirstToken}_bucket`]: 'ttft',
  [METRICS.cost]: 'cost',
  [`${METRICS.feedbackScore}_sum`]: 'feedbackSum',
  [`${METRICS.feedbackScore}_count`]: 'feedbackCount',
  // Mirrored calls: their outcomes count as the shadow variant's attempts.
  [SHADOW_METRICS.requests]: 'attempts',
  [SHADOW_METRICS.compared]: 'compared',
  [SHADOW_METRICS.agreed]: 'agreed',
} as const satisfies Record<string, string>;

type Family = (typeof FAMILIES)[keyof typeof FAMILIES];

function familyOf(name: string): Family | undefined {
  return (FAMILIES as Record<string, Family | undefined>)[name];
}

/** The series of one route backend in one scrape. */
export function selectSeries(
  samples: Sample[],
  q: Pick<MetricQuery, 'namespace' | 'route' | 'backend'>,
): Series {
  const out: Series = new Map();
  for (const s of samples) {
    const family = familyOf(s.name);
    const l = s.labels;
    if (!family || l.namespace !== q.namespace || l.route !== q.route || l.backend !== q.backend) continue;
    const variant = l.variant === 'canary' || l.variant === 'shadow' ? l.variant : 'stable';
    const sub =
      family === 'attempts'
        ? (l.outcome ?? '')
        : family === 'latency' || family === 'ttft'
          ? (l.le ?? '')
          : '';
    const key = `${family}\t${variant}\t${sub}`;
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** cur − prev per series; if any series went down the instance restarted and cur is the whole delta. */
export function deltaSeries(prev: Series | undefined, cur: Series): Series {
  const reset = prev !== undefined && [...cur].some(([k, v]) => v < (prev.get(k) ?? 0));
  if (prev === undefined || reset) return new Map(cur);
  return new Map([...cur].map(([k, v]) => [k, v - (prev.get(k) ?? 0)]));
}

export function addSeries(into: Series, add: Series): void {
  for (const [k, v] of add) into.set(k, (into.get(k) ?? 0) + v);
}

/** A variant of the canary's backend, or its mirrored calls. */
type SeriesVariant = Variant | 'shadow';

function buckets(series: Series, family: Family, variant: SeriesVariant): Bucket[] {
  const out: Bucket[] = [];
  const prefix = `${family}\t${variant}\t`;
  for (const [k, v] of series) {
    if (!k.startsWith(prefix)) continue;
    const le = k.slice(prefix.length);
    out.push({ le: le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), count: v });
  }
  return out;
}

function sum(series: Series, family: Family, variant: SeriesVariant, sub?: string): number {
  let total = 0;
  const prefix = `${family}\t${variant}\t`;
  for (const [k, v] of series) {
    if (k.startsWith(prefix) && (sub === undefined || k.slice(prefix.length) === sub)) total += v;
  }
  return total;
}

/** Figures of one variant from window deltas. */
export function figuresFromSeries(series: Series, variant: SeriesVariant): VariantFigures {
  const attempts = Math.round(sum(series, 'attempts', variant));
  const ok = sum(series, 'attempts', variant, 'ok');
  const latency = histogramQuantile(0.95, buckets(series, 'latency', variant));
  const ttft = histogramQuantile(0.95, buckets(series, 'ttft', variant));
  const cost = sum(series, 'cost', variant);
  const fbCount = sum(series, 'feedbackCount', variant);
  const f: VariantFigures = { requests: attempts };
  if (attempts > 0) f.errorRate = Math.max(0, (attempts - ok) / attempts);
  if (latency !== undefined) f.latencyP95Ms = latency * 1000;
  if (ttft !== undefined) f.ttftP95Ms = ttft * 1000;
  if (ok > 0) f.costPerRequest = cost / ok;
  if (fbCount > 0) f.feedbackScore = sum(series, 'feedbackSum', variant) / fbCount;
  const compared = sum(series, 'compared', variant);
  if (compared > 0) f.agreement = Math.min(1, sum(series, 'agreed', variant) / compared);
  return f;
}

interface Snapshot {
  at: number;
  series: Series;
}

const MAX_SNAPSHOTS = 32;

export interface GatewayProviderOptions {
  endpoints: GatewayEndpoints;
  /** Fetches one instance's /metrics text; the default uses undici with a timeout. */
  scrape?: (url: string) => Promise<string>;
  timeoutMs?: number;
}

/** GET one instance's /metrics text, giving up after `timeoutMs`. */
export async function scrapeWithUndici(url: string, timeoutMs: number): Promise<string> {
  const res = await request(url, { headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: HTTP ${res.statusCode}`);
  return text;
}

type Target = Pick<MetricQuery, 'namespace' | 'route' | 'backend' | 'gateway'>;

export class GatewayMetricProvider implements MetricProvider {
  /** Snapshots per `url \t namespace/route/backend`, oldest first, stamped with the window time they close. */
  private readonly history = new Map<string, Snapshot[]>();
  /** When each route backend was first scraped: an instance first seen after that is new, counted from 0. */
  private readonly firstScrape = new Map<string, number>();
  private readonly scrape: (url: string) => Promise<string>;

  constructor(private readonly opts: GatewayProviderOptions) {
    const timeout = opts.timeoutMs ?? 3000;
    this.scrape = opts.scrape ?? ((url) => scrapeWithUndici(url, timeout));
  }

  async analyse(q: MetricQuery): Promise<AnalysisResult> {
    const since = q.since.getTime();
    const total: Series = new Map();
    const routeKey = `${q.namespace}/${q.route}/${q.backend}`;
    const seenBefore = (this.firstScrape.get(routeKey) ?? Number.POSITIVE_INFINITY) <= since;
    for (const [url, cur] of await this.scrapeAll(q, q.until.getTime())) {
      const snaps = this.history.get(`${url}\t${routeKey}`) ?? [];
      const baseline = [...snaps].reverse().find((s) => s.at <= since && s !== cur);
      if (baseline === undefined && !seenBefore) continue;
      addSeries(total, deltaSeries(baseline?.series, cur.series));
    }
    const shadow = figuresFromSeries(total, 'shadow');
    return {
      stable: figuresFromSeries(total, VARIANTS[0]),
      canary: figuresFromSeries(total, VARIANTS[1]),
      ...(shadow.requests > 0 || q.shadow === true ? { shadow } : {}),
    };
  }

  /** Records a baseline scrape at `at`, where a new window starts. */
  async startWindow(q: Target & { at: Date }): Promise<void> {
    await this.scrapeAll(q, q.at.getTime());
  }

  /** Drops the history of instances that are gone (a deleted pod), so it does not grow with churn. */
  private forgetGone(routeKey: string, urls: Set<string>): void {
    for (const key of this.history.keys()) {
      const [url, rk] = key.split('\t');
      if (rk === routeKey && url !== undefined && !urls.has(url)) this.history.delete(key);
    }
  }

  private async scrapeAll(q: Target, at: number): Promise<Map<string, Snapshot>> {
    const urls = await this.opts.endpoints.resolve({ namespace: q.namespace, name: q.gateway });
    if (urls.length === 0) {
      throw new Error(`no instances of ModelGateway ${q.namespace}/${q.gateway} to scrape`);
    }
    const routeKey = `${q.namespace}/${q.route}/${q.backend}`;
    this.forgetGone(routeKey, new Set(urls));
    const results = await Promise.allSettled(urls.map((u) => this.scrape(u)));
    const out = new Map<string, Snapshot>();
    const errors: string[] = [];
    results.forEach((r, i) => {
      const url = urls[i] ?? '';
      if (r.status === 'rejected') {
        errors.push(`${url}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
        return;
      }
      const snap = {
        at,
        series: selectSeries(
          parsePrometheusText(r.value, (n) => familyOf(n) !== undefined),
          q,
        ),
      };
      const key = `${url}\t${routeKey}`;
      const snaps = (this.history.get(key) ?? []).filter((s) => s.at !== at);
      snaps.push(snap);
      snaps.sort((a, b) => a.at - b.at);
      this.history.set(key, snaps.slice(-MAX_SNAPSHOTS));
      out.set(url, snap);
    });
    if (out.size === 0)
      throw new Error(`scraping ModelGateway ${q.namespace}/${q.gateway} failed: ${errors.join('; ')}`);
    if (!this.firstScrape.has(routeKey)) this.firstScrape.set(routeKey, at);
    return out;
  }
}
