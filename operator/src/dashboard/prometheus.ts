// The last hour of a route's figures from a Prometheus (or a PromQL-compatible server) that scrapes the
// gateways, when --dashboard-prometheus-url names one: its history outlives operator restarts and covers
// every replica. The queries mirror the figures the collector computes (collector.ts), with the same names,
// so the page draws either source the same way and appends the collector's live points to both.
import { request } from 'undici';
import { METRICS } from '../../../api/v1alpha1/index.js';
import type { SeriesDump } from './series.js';

/** The figures of a route as PromQL range queries, by result name; `{{sel}}` is the route's selector. */
const QUERIES: { field: (labels: Record<string, string>) => string; promql: string }[] = [
  {
    field: (l) => `${l.backend}/${l.variant}/rps`,
    promql: `sum by (backend, variant) (rate(${METRICS.upstreamAttempts}{{{sel}}}[1m]))`,
  },
  {
    field: (l) => `${l.backend}/${l.variant}/errorRate`,
    promql:
      `sum by (backend, variant) (rate(${METRICS.upstreamAttempts}{{{sel}},outcome!="ok"}[1m])) / ` +
      `sum by (backend, variant) (rate(${METRICS.upstreamAttempts}{{{sel}}}[1m]))`,
  },
  {
    field: (l) => `${l.backend}/${l.variant}/latencyP95Ms`,
    promql: `histogram_quantile(0.95, sum by (backend, variant, le) (rate(${METRICS.upstreamLatency}_bucket{{{sel}}}[1m]))) * 1000`,
  },
  {
    field: (l) => `${l.backend}/${l.variant}/ttftP95Ms`,
    promql: `histogram_quantile(0.95, sum by (backend, variant, le) (rate(${METRICS.timeToFirstToken}_bucket{{{sel}}}[1m]))) * 1000`,
  },
  { field: () => 'cost/usdPerHour', promql: `sum(rate(${METRICS.cost}{{{sel}}}[1m])) * 3600` },
  {
    field: () => 'cache/hitRatio',
    promql:
      `sum(rate(${METRICS.cacheLookups}{{{sel}},result!~"miss|bypass"}[1m])) / ` +
      `sum(rate(${METRICS.cacheLookups}{{{sel}}}[1m]))`,
  },
];

interface Matrix {
  status?: string;
  error?: string;
  data?: { resultType?: string; result?: { metric: Record<string, string>; values: [number, string][] }[] };
}

const quote = (v: string): string => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** Puts range query results on one time axis (start, start + step, …, end). */
export function alignMatrices(
  results: { field: (l: Record<string, string>) => string; body: Matrix }[],
  startS: number,
  endS: number,
  stepS: number,
): SeriesDump {
  const n = Math.floor((endS - startS) / stepS) + 1;
  const at = Array.from({ length: n }, (_, i) => (startS + i * stepS) * 1000);
  const values: Record<string, (number | null)[]> = {};
  for (const { field, body } of results) {
    if (body.status !== 'success') throw new Error(`query failed: ${body.error ?? 'unknown error'}`);
    if (body.data?.resultType !== 'matrix')
      throw new Error(`want a matrix, got ${body.data?.resultType ?? 'nothing'}`);
    for (const s of body.data.result ?? []) {
      const row = (values[field(s.metric)] ??= new Array<number | null>(n).fill(null));
      for (const [t, v] of s.values) {
        const i = Math.round((t - startS) / stepS);
        const x = Number(v);
        if (i >= 0 && i < n && Number.isFinite(x)) row[i] = x;
      }
    }
  }
  return { at, values };
}

export class PrometheusSeries {
  private readonly address: string;

  constructor(
    address: string,
    private readonly stepS: number,
    private readonly timeoutMs = 5000,
  ) {
    this.address = address.replace(/\/+$/, '');
  }

  /** The last hour of the route's figures; throws with Prometheus's own message when it refuses. */
  async route(namespace: string, name: string, nowMs: number): Promise<SeriesDump> {
    const sel = `namespace=${quote(namespace)},route=${quote(name)}`;
    const endS = Math.floor(nowMs / 1000 / this.stepS) * this.stepS;
    const startS = endS - 3600;
    const results = await Promise.all(
      QUERIES.map(async (q) => ({
        field: q.field,
        body: await this.range(q.promql.replaceAll('{{sel}}', sel), startS, endS),
      })),
    );
    return alignMatrices(results, startS, endS, this.stepS);
  }

  private async range(promql: string, startS: number, endS: number): Promise<Matrix> {
    const qs = new URLSearchParams({
      query: promql,
      start: String(startS),
      end: String(endS),
      step: String(this.stepS),
    });
    const res = await request(`${this.address}/api/v1/query_range?${qs.toString()}`, {
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const text = await res.body.text();
    try {
      return JSON.parse(text) as Matrix;
    } catch {
      throw new Error(`Prometheus ${this.address}: HTTP ${res.statusCode}, not JSON`);
    }
  }
}
