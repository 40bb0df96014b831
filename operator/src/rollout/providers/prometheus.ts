// The Prometheus metric provider: fills the query templates of spec.analysis.provider.prometheus (or the
// defaults below, built from the gateway's metric names) per variant and runs them as instant queries at the
// end of the window against /api/v1/query. Works with Prometheus and PromQL-compatible servers
// (VictoriaMetrics, Thanos, Mimir). Latency templates answer milliseconds; error rate a fraction.
import { request } from 'undici';
import {
  METRICS,
  SHADOW_METRICS,
  type MetricProvider as MetricProviderSpec,
  type VariantFigures,
} from '../../../../api/v1alpha1/index.js';
import {
  VARIANTS,
  type AnalysisResult,
  type MetricProvider,
  type MetricQuery,
  type Variant,
} from '../types.js';

export type QueryName = keyof NonNullable<NonNullable<MetricProviderSpec['prometheus']>['queries']>;

const SEL = 'namespace="{{namespace}}",route="{{route}}",backend="{{backend}}",variant="{{variant}}"';
const inc = (metric: string, extra = '') => `increase(${metric}{${SEL}${extra}}[{{interval}}])`;
const p95 = (metric: string) => `histogram_quantile(0.95, sum by (le) (${inc(`${metric}_bucket`)})) * 1000`;

export const DEFAULT_QUERIES: Record<QueryName, string> = {
  requests: `sum(${inc(METRICS.upstreamAttempts)})`,
  errorRate: `sum(${inc(METRICS.upstreamAttempts, ',outcome!="ok"')}) / sum(${inc(METRICS.upstreamAttempts)})`,
  latencyP95: p95(METRICS.upstreamLatency),
  ttftP95: p95(METRICS.timeToFirstToken),
  costPerRequest: `sum(${inc(METRICS.cost)}) / sum(${inc(METRICS.upstreamAttempts, ',outcome="ok"')})`,
  feedbackScore: `sum(${inc(`${METRICS.feedbackScore}_sum`)}) / sum(${inc(`${METRICS.feedbackScore}_count`)})`,
};

/**
 * The shadow variant's figures in a canary's shadow phase, always from these queries (the templates of
 * spec.analysis.provider describe live traffic): mirrored calls by outcome, their latency, cost and agreement.
 */
export const SHADOW_QUERIES = {
  requests: `sum(${inc(SHADOW_METRICS.requests)})`,
  errorRate: `sum(${inc(SHADOW_METRICS.requests, ',outcome!="ok"')}) / sum(${inc(SHADOW_METRICS.requests)})`,
  latencyP95: p95(METRICS.upstreamLatency),
  costPerRequest: `sum(${inc(METRICS.cost)}) / sum(${inc(SHADOW_METRICS.requests, ',outcome="ok"')})`,
  agreement: `sum(${inc(SHADOW_METRICS.agreed)}) / sum(${inc(SHADOW_METRICS.compared)})`,
} as const;

/** Fills {{route}}, {{namespace}}, {{backend}}, {{variant}} and {{interval}}; unknown variables are refused. */
export function renderQuery(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (_m, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`query template uses unknown variable {{${name}}}`);
    return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  });
}

/** The window length as a PromQL duration, at least 1s. */
export function promDuration(since: Date, until: Date): string {
  return `${Math.max(1, Math.round((until.getTime() - since.getTime()) / 1000))}s`;
}

interface PromResponse {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** The single number an instant query answers; undefined for an empty vector or NaN. */
export function valueOfResponse(body: PromResponse): number | undefined {
  if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? 'unknown error'}`);
  const { resultType, result } = body.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as [number, string])[1];
  else if (resultType === 'vector') {
    const v = result as { value: [number, string] }[];
    if (v.length === 0) return undefined;
    if (v.length > 1) throw new Error(`query answered ${v.length} series; aggregate it to one (sum, …)`);
    raw = v[0]?.value[1];
  } else
    throw new Error(`query answered a ${resultType ?? 'missing'} result; want a scalar or an instant vector`);
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

export class PrometheusMetricProvider implements MetricProvider {
  private readonly address: string;
  private readonly queries: Record<QueryName, string>;

  constructor(
    spec: NonNullable<MetricProviderSpec['prometheus']>,
    private readonly timeoutMs = 5000,
  ) {
    this.address = spec.address.replace(/\/+$/, '');
    this.queries = { ...DEFAULT_QUERIES, ...(spec.queries ?? {}) };
  }

  async analyse(q: MetricQuery): Promise<AnalysisResult> {
    const [stable, canary] = await Promise.all(VARIANTS.map((v) => this.figures(q, v)));
    const shadow = q.shadow === true ? { shadow: await this.shadowFigures(q) } : {};
    return { stable: stable ?? { requests: 0 }, canary: canary ?? { requests: 0 }, ...shadow };
  }

  private async shadowFigures(q: MetricQuery): Promise<VariantFigures> {
    const vars = {
      namespace: q.namespace,
      route: q.route,
      backend: q.backend,
      variant: 'shadow',
      interval: promDuration(q.since, q.until),
    };
    const run = (name: keyof typeof SHADOW_QUERIES) =>
      this.query(renderQuery(SHADOW_QUERIES[name], vars), q.until);
    const [requests, errorRate, latency, cost, agreement] = await Promise.all([
      run('requests'),
      run('errorRate'),
      run('latencyP95'),
      run('costPerRequest'),
      run('agreement'),
    ]);
    const f: VariantFigures = { requests: Math.max(0, Math.round(requests ?? 0)) };
    if (errorRate !== undefined) f.errorRate = Math.max(0, errorRate);
    if (latency !== undefined) f.latencyP95Ms = Math.max(0, latency);
    if (cost !== undefined) f.costPerRequest = Math.max(0, cost);
    if (agreement !== undefined) f.agreement = Math.min(1, Math.max(0, agreement));
    return f;
  }

  private async figures(q: MetricQuery, variant: Variant): Promise<VariantFigures> {
    const vars = {
      namespace: q.namespace,
      route: q.route,
      backend: q.backend,
      variant,
      interval: promDuration(q.since, q.until),
    };
    const run = (name: QueryName) => this.query(renderQuery(this.queries[name], vars), q.until);
    const [requests, errorRate, latency, ttft, cost, feedback] = await Promise.all([
      run('requests'),
      run('errorRate'),
      run('latencyP95'),
      run('ttftP95'),
      run('costPerRequest'),
      run('feedbackScore'),
    ]);
    const f: VariantFigures = { requests: Math.max(0, Math.round(requests ?? 0)) };
    if (errorRate !== undefined) f.errorRate = Math.max(0, errorRate);
    if (latency !== undefined) f.latencyP95Ms = Math.max(0, latency);
    if (ttft !== undefined) f.ttftP95Ms = Math.max(0, ttft);
    if (cost !== undefined) f.costPerRequest = Math.max(0, cost);
    if (feedback !== undefined) f.feedbackScore = Math.max(0, feedback);
    return f;
  }

  private async query(promql: string, at: Date): Promise<number | undefined> {
    const url = `${this.address}/api/v1/query?${new URLSearchParams({ query: promql, time: String(at.getTime() / 1000) }).toString()}`;
    const res = await request(url, { headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    const text = await res.body.text();
    let body: PromResponse;
    try {
      body = JSON.parse(text) as PromResponse;
    } catch {
      throw new Error(`Prometheus ${this.address}: HTTP ${res.statusCode}, not JSON`);
    }
    try {
      return valueOfResponse(body);
    } catch (err) {
      throw new Error(`Prometheus ${this.address}: ${(err as Error).message} (query: ${promql})`);
    }
  }
}
