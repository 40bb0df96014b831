// Feeds the dashboard's series: every scrape interval it reads the /metrics of each gateway's instances
// (found by the operator's own resolver, as the canary analysis and the autoscaler find them), takes the
// deltas of the counters and histograms per route backend and variant since the previous round with the
// canary provider's functions, and records per-second figures; AutoscalingPolicy status figures are sampled
// from the informer cache at the same time. No Prometheus is needed; one round never overlaps the next.
import { METRICS, type AutoscalingPolicy, type ModelRoute } from '../../../api/v1alpha1/index.js';
import type { GatewayEndpoints } from '../rollout/providers/endpoints.js';
import {
  addSeries,
  deltaSeries,
  figuresFromSeries,
  scrapeWithUndici,
  selectSeries,
  type Series,
} from '../rollout/providers/gateway.js';
import { parsePrometheusText, type Sample } from '../rollout/providers/prom-text.js';
import type { Cache } from '../runtime/framework.js';
import type { SeriesStore } from './series.js';
import { viewKey } from './views.js';

export type Figures = Record<string, number | undefined>;

export interface CollectorOptions {
  endpoints: GatewayEndpoints;
  cache: Cache;
  store: SeriesStore;
  intervalMs: number;
  now?: () => number;
  scrape?: (url: string) => Promise<string>;
  /** Called after each round with the figures it recorded, by object key (the page appends them live). */
  onRound?: (at: number, figures: Map<string, Figures>) => void;
  onError?: (gateway: string, reason: string) => void;
}

const WANTED = new Set([
  METRICS.upstreamAttempts,
  `${METRICS.upstreamLatency}_bucket`,
  `${METRICS.timeToFirstToken}_bucket`,
  METRICS.cost,
  `${METRICS.feedbackScore}_sum`,
  `${METRICS.feedbackScore}_count`,
  METRICS.cacheLookups,
]);

/** A Kubernetes quantity as the HPA writes it ("350m", "12", "1500k") as a number; undefined if not one. */
export function parseQuantity(q: string): number | undefined {
  const m = /^(-?\d+(?:\.\d+)?)(m|k|M|G)?$/.exec(q.trim());
  if (!m) return undefined;
  const scale = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * scale;
}

/** One route's series in one scrape: per backend (the canary provider's families) plus cache lookups. */
function routeSeries(samples: Sample[], r: ModelRoute): Series {
  const ns = r.metadata.namespace ?? '';
  const out: Series = new Map();
  for (const b of r.spec.backends) {
    for (const [k, v] of selectSeries(samples, { namespace: ns, route: r.metadata.name, backend: b.name }))
      out.set(`${b.name}\t${k}`, v);
  }
  for (const s of samples) {
    if (s.name !== METRICS.cacheLookups || s.labels.namespace !== ns || s.labels.route !== r.metadata.name)
      continue;
    const k = `cache\t${s.labels.result === 'miss' || s.labels.result === 'bypass' ? 'miss' : 'hit'}`;
    out.set(k, (out.get(k) ?? 0) + s.value);
  }
  return out;
}

/** Per-second figures of one route from the window deltas of its series over `seconds`. */
export function routeFigures(r: ModelRoute, delta: Series, seconds: number): Figures {
  const out: Figures = {};
  let cost = 0;
  let ok = 0;
  for (const b of r.spec.backends) {
    const prefix = `${b.name}\t`;
    const own: Series = new Map();
    for (const [k, v] of delta) if (k.startsWith(prefix)) own.set(k.slice(prefix.length), v);
    for (const variant of ['stable', 'canary'] as const) {
      const f = figuresFromSeries(own, variant);
      if (f.requests === 0 && variant === 'canary') continue;
      const id = `${b.name}/${variant}`;
      out[`${id}/rps`] = f.requests / seconds;
      out[`${id}/errorRate`] = f.errorRate;
      out[`${id}/latencyP95Ms`] = f.latencyP95Ms;
      out[`${id}/ttftP95Ms`] = f.ttftP95Ms;
      if (f.costPerRequest !== undefined) {
        const okRequests = f.requests * (1 - (f.errorRate ?? 0));
        cost += f.costPerRequest * okRequests;
        ok += okRequests;
      }
    }
  }
  const hits = delta.get('cache\thit') ?? 0;
  const lookups = hits + (delta.get('cache\tmiss') ?? 0);
  out['cost/usdPerHour'] = (cost / seconds) * 3600;
  if (lookups > 0) out['cache/hitRatio'] = hits / lookups;
  // A hit is an upstream call not made: priced at the mean cost of the calls that were made.
  if (ok > 0) out['cache/savedUsdPerHour'] = ((hits * (cost / ok)) / seconds) * 3600;
  return out;
}

export function autoscalerFigures(p: AutoscalingPolicy): Figures {
  const st = p.status ?? {};
  const out: Figures = { replicas: st.currentReplicas, desiredReplicas: st.desiredReplicas };
  for (const m of st.currentMetrics ?? []) out[`metric/${m.type}`] = parseQuantity(m.value);
  if (st.forecast) out['forecast/rps'] = parseQuantity(st.forecast.requestsPerSecond);
  return out;
}

interface Previous {
  at: number;
  series: Series;
}

export class DashboardCollector {
  /** The last scrape of each instance URL and route, the base of the next delta. */
  private readonly previous = new Map<string, Previous>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private readonly now: () => number;
  private readonly scrape: (url: string) => Promise<string>;

  constructor(private readonly o: CollectorOptions) {
    this.now = o.now ?? Date.now;
    this.scrape = o.scrape ?? ((url) => scrapeWithUndici(url, Math.min(3000, o.intervalMs)));
  }

  start(): void {
    this.timer ??= setInterval(() => void this.round(), this.o.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  round(): Promise<void> {
    this.running ??= this.collect().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async collect(): Promise<void> {
    const at = this.now();
    const routes = this.o.cache.list<ModelRoute>('ModelRoute');
    const byGateway = new Map<string, ModelRoute[]>();
    for (const r of routes) {
      const g = `${r.metadata.namespace ?? ''}/${r.spec.gatewayRef.name}`;
      byGateway.set(g, [...(byGateway.get(g) ?? []), r]);
    }
    const figures = new Map<string, Figures>();
    await Promise.all(
      [...byGateway].map(async ([g, rs]) => {
        for (const [key, f] of await this.collectGateway(g, rs, at)) figures.set(key, f);
      }),
    );
    for (const p of this.o.cache.list<AutoscalingPolicy>('AutoscalingPolicy')) {
      const key = viewKey('autoscaler', p.metadata.namespace ?? '', p.metadata.name);
      figures.set(key, autoscalerFigures(p));
    }
    for (const [key, f] of figures) this.o.store.record(key, at, f);
    const live = new Set([
      ...routes.map((r) => viewKey('route', r.metadata.namespace ?? '', r.metadata.name)),
      ...figures.keys(),
    ]);
    this.o.store.retain((k) => live.has(k));
    for (const k of this.previous.keys()) if (!live.has(k.split('\t')[1] ?? '')) this.previous.delete(k);
    this.o.onRound?.(at, figures);
  }

  private async collectGateway(
    gateway: string,
    routes: ModelRoute[],
    at: number,
  ): Promise<[string, Figures][]> {
    const [namespace = '', name = ''] = gateway.split('/');
    let urls: string[];
    try {
      urls = await this.o.endpoints.resolve({ namespace, name });
    } catch (e) {
      this.o.onError?.(gateway, (e as Error).message);
      return [];
    }
    const texts = await Promise.allSettled(urls.map((u) => this.scrape(u)));
    const totals = new Map<string, { series: Series; seconds: number }>();
    texts.forEach((t, i) => {
      if (t.status === 'rejected') {
        this.o.onError?.(gateway, t.reason instanceof Error ? t.reason.message : String(t.reason));
        return;
      }
      const samples = parsePrometheusText(t.value, (n) => WANTED.has(n));
      for (const r of routes) {
        const key = viewKey('route', r.metadata.namespace ?? '', r.metadata.name);
        const id = `${urls[i] ?? ''}\t${key}`;
        const cur = routeSeries(samples, r);
        const prev = this.previous.get(id);
        this.previous.set(id, { at, series: cur });
        if (prev === undefined || at <= prev.at) continue;
        const total = totals.get(key) ?? {
          series: new Map<string, number>(),
          seconds: (at - prev.at) / 1000,
        };
        addSeries(total.series, deltaSeries(prev.series, cur));
        totals.set(key, total);
      }
    });
    return routes.flatMap((r) => {
      const key = viewKey('route', r.metadata.namespace ?? '', r.metadata.name);
      const t = totals.get(key);
      return t ? [[key, routeFigures(r, t.series, t.seconds)] as [string, Figures]] : [];
    });
  }
}
