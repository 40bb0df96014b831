import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricProvider as MetricProviderSpec } from '../../../../api/v1alpha1/index.js';
import { StaticGatewayEndpoints } from './endpoints.js';
import { createMetricProvider } from './factory.js';
import { GatewayMetricProvider } from './gateway.js';
import { DEFAULT_QUERIES, PrometheusMetricProvider, renderQuery } from './prometheus.js';

const seen: { query: string; time: string }[] = [];
let server: Server;
let address = '';

/** Answers canned PromQL results by what the query asks for, as a Prometheus server would. */
function answer(query: string): unknown {
  const canary = query.includes('variant="canary"');
  const vector = (v: string) => ({
    status: 'success',
    data: { resultType: 'vector', result: [{ metric: {}, value: [1, v] }] },
  });
  if (query.includes('broken')) return { status: 'error', errorType: 'bad_data', error: 'parse error' };
  if (query.includes('many')) {
    return {
      status: 'success',
      data: { resultType: 'vector', result: [{ value: [1, '1'] }, { value: [1, '2'] }] },
    };
  }
  if (query.includes('feedback')) return { status: 'success', data: { resultType: 'vector', result: [] } };
  if (query.startsWith('histogram_quantile') && query.includes('latency'))
    return vector(canary ? '250' : '120');
  if (query.startsWith('histogram_quantile')) return vector('NaN');
  if (query.includes('outcome!="ok"')) return vector(canary ? '0.2' : '0.001');
  if (query.includes('cost')) return vector('0.0015');
  if (query.startsWith('scalar'))
    return { status: 'success', data: { resultType: 'scalar', result: [1, '42'] } };
  return vector(canary ? '60.4' : '5000');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/api/v1/query') return void res.writeHead(404).end('not found');
    const query = u.searchParams.get('query') ?? '';
    seen.push({ query, time: u.searchParams.get('time') ?? '' });
    const body = answer(query);
    res.writeHead((body as { status: string }).status === 'error' ? 400 : 200, {
      'content-type': 'application/json',
    });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const query = {
  namespace: 'llm',
  route: 'chat',
  backend: 'main',
  gateway: 'default',
  since: new Date('2026-01-01T00:00:00Z'),
  until: new Date('2026-01-01T00:00:30Z'),
};

describe('PrometheusMetricProvider', () => {
  it('runs the default templates per variant at the end of the window', async () => {
    seen.length = 0;
    const r = await new PrometheusMetricProvider({ address }).analyse(query);
    expect(r.canary).toEqual({ requests: 60, errorRate: 0.2, latencyP95Ms: 250, costPerRequest: 0.0015 });
    expect(r.stable).toMatchObject({ requests: 5000, errorRate: 0.001, latencyP95Ms: 120 });
    expect(seen).toHaveLength(12);
    expect(seen.every((s) => s.time === String(query.until.getTime() / 1000))).toBe(true);
    const req = seen.find((s) => s.query.startsWith('sum(increase(beastmode_upstream_attempts_total'));
    expect(req?.query).toContain('namespace="llm",route="chat",backend="main"');
    expect(req?.query).toContain('[30s]');
  });

  it('fills custom templates and accepts a scalar answer', async () => {
    seen.length = 0;
    const p = new PrometheusMetricProvider({
      address,
      queries: { requests: 'scalar(my_requests{svc="{{ route }}-{{variant}}"}[{{interval}}])' },
    });
    const r = await p.analyse(query);
    expect(r.canary.requests).toBe(42);
    expect(seen.map((s) => s.query)).toContain('scalar(my_requests{svc="chat-canary"}[30s])');
  });

  it('reports a failing query with its text, and a query answering several series', async () => {
    await expect(
      new PrometheusMetricProvider({ address, queries: { errorRate: 'broken(' } }).analyse(query),
    ).rejects.toThrow(/parse error \(query: broken\(\)/);
    await expect(
      new PrometheusMetricProvider({ address, queries: { requests: 'many' } }).analyse(query),
    ).rejects.toThrow('answered 2 series');
  });

  it('refuses a template variable it does not know', () => {
    expect(() => renderQuery('x{a="{{pod}}"}', { route: 'r' })).toThrow('unknown variable {{pod}}');
    expect(
      renderQuery(DEFAULT_QUERIES.requests, {
        namespace: 'n',
        route: 'r',
        backend: 'b',
        variant: 'v',
        interval: '5s',
      }),
    ).toBe(
      'sum(increase(beastmode_upstream_attempts_total{namespace="n",route="r",backend="b",variant="v"}[5s]))',
    );
  });
});

describe('createMetricProvider', () => {
  const gateway = new GatewayMetricProvider({ endpoints: new StaticGatewayEndpoints(new Map()) });

  it('chooses by type, defaulting to the gateway', () => {
    expect(createMetricProvider(undefined, { gateway })).toBe(gateway);
    expect(createMetricProvider(MetricProviderSpec.parse({}), { gateway })).toBe(gateway);
    expect(
      createMetricProvider(MetricProviderSpec.parse({ type: 'prometheus', prometheus: { address } }), {
        gateway,
      }),
    ).toBeInstanceOf(PrometheusMetricProvider);
  });

  it('refuses an unknown type instead of falling back', () => {
    expect(MetricProviderSpec.safeParse({ type: 'datadog' }).success).toBe(false);
    expect(() => createMetricProvider({ type: 'datadog' } as never, { gateway })).toThrow(
      'unknown metric provider type datadog',
    );
  });
});
