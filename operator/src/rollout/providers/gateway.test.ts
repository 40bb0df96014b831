import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LATENCY_BUCKETS, METRICS } from '../../../../api/v1alpha1/index.js';
import { StaticGatewayEndpoints, parseGatewayMetricsUrls } from './endpoints.js';
import { GatewayMetricProvider } from './gateway.js';

/** Cumulative counters of one fake gateway instance, rendered as prom-client would. */
class FakeInstance {
  attempts = new Map<string, number>();
  latency = new Map<string, number[]>();
  cost = new Map<string, number>();
  feedback = new Map<string, { sum: number; count: number }>();

  record(variant: string, outcome: string, seconds: number, usd = 0.001, route = 'chat'): void {
    const k = `${route}|${variant}`;
    this.attempts.set(`${k}|${outcome}`, (this.attempts.get(`${k}|${outcome}`) ?? 0) + 1);
    if (outcome !== 'ok') return;
    const counts = this.latency.get(k) ?? LATENCY_BUCKETS.map(() => 0).concat(0);
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) counts[i] = (counts[i] ?? 0) + 1;
    });
    counts[LATENCY_BUCKETS.length] = (counts[LATENCY_BUCKETS.length] ?? 0) + 1;
    this.latency.set(k, counts);
    this.cost.set(k, (this.cost.get(k) ?? 0) + usd);
  }

  give(variant: string, score: number): void {
    const f = this.feedback.get(variant) ?? { sum: 0, count: 0 };
    this.feedback.set(variant, { sum: f.sum + score, count: f.count + 1 });
  }

  render(): string {
    const lines = [`# TYPE ${METRICS.upstreamAttempts} counter`];
    const l = (route: string, variant: string) =>
      `namespace="llm",route="${route}",backend="main",variant="${variant}"`;
    for (const [k, v] of this.attempts) {
      const [route = '', variant = '', outcome = ''] = k.split('|');
      lines.push(`${METRICS.upstreamAttempts}{${l(route, variant)},outcome="${outcome}"} ${v}`);
    }
    for (const [k, counts] of this.latency) {
      const [route = '', variant = ''] = k.split('|');
      [...LATENCY_BUCKETS.map(String), '+Inf'].forEach((le, i) =>
        lines.push(`${METRICS.upstreamLatency}_bucket{${l(route, variant)},le="${le}"} ${counts[i] ?? 0}`),
      );
      lines.push(`${METRICS.upstreamLatency}_count{${l(route, variant)}} ${counts.at(-1) ?? 0}`);
    }
    for (const [k, v] of this.cost) {
      const [route = '', variant = ''] = k.split('|');
      lines.push(`${METRICS.cost}{${l(route, variant)}} ${v}`);
    }
    for (const [variant, f] of this.feedback) {
      lines.push(`${METRICS.feedbackScore}_sum{${l('chat', variant)}} ${f.sum}`);
      lines.push(`${METRICS.feedbackScore}_count{${l('chat', variant)}} ${f.count}`);
    }
    return lines.join('\n') + '\n';
  }
}

const instances = [new FakeInstance(), new FakeInstance()];
const servers: Server[] = [];
const urls: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < instances.length; i++) {
    const s = createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(instances[i]?.render());
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    urls.push(`http://127.0.0.1:${(s.address() as AddressInfo).port}`);
  }
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const q = (since: number, until: number) => ({
  namespace: 'llm',
  route: 'chat',
  backend: 'main',
  gateway: 'default',
  since: t(since),
  until: t(until),
});

function provider(): GatewayMetricProvider {
  const map = parseGatewayMetricsUrls(urls.map((u) => `default=${u}`).join(','));
  return new GatewayMetricProvider({ endpoints: new StaticGatewayEndpoints(map) });
}

describe('GatewayMetricProvider', () => {
  it('takes window deltas per variant summed across instances', async () => {
    const [a, b] = instances as [FakeInstance, FakeInstance];
    for (let i = 0; i < 500; i++) a.record('stable', 'ok', 0.04);
    const p = provider();
    await p.startWindow({ ...q(0, 0), at: t(0) });
    for (let i = 0; i < 90; i++) a.record('stable', 'ok', 0.04);
    for (let i = 0; i < 10; i++) b.record('canary', 'ok', 0.3, 0.002);
    for (let i = 0; i < 10; i++) b.record('canary', '5xx', 0);
    for (let i = 0; i < 10; i++) a.record('canary', 'ok', 0.3, 0.002);
    a.record('canary', 'ok', 0.3, 0.002, 'other-route');
    a.give('canary', 1);
    a.give('canary', 0.5);
    const r = await p.analyse(q(0, 5));
    expect(r.stable.requests).toBe(90);
    expect(r.stable.errorRate).toBe(0);
    expect(r.stable.latencyP95Ms).toBeGreaterThan(25);
    expect(r.stable.latencyP95Ms).toBeLessThanOrEqual(50);
    expect(r.canary.requests).toBe(30);
    expect(r.canary.errorRate).toBeCloseTo(1 / 3);
    expect(r.canary.latencyP95Ms).toBeGreaterThan(250);
    expect(r.canary.latencyP95Ms).toBeLessThanOrEqual(300);
    expect(r.canary.costPerRequest).toBeCloseTo(0.002);
    expect(r.canary.feedbackScore).toBeCloseTo(0.75);
    expect(r.stable.feedbackScore).toBeUndefined();

    // The next window starts where this one ended.
    for (let i = 0; i < 7; i++) b.record('canary', 'ok', 0.01);
    const r2 = await p.analyse(q(5, 10));
    expect(r2.canary.requests).toBe(7);
    expect(r2.canary.errorRate).toBe(0);
    expect(r2.stable.requests).toBe(0);
  });

  it('counts an instance restart (counters went down) from zero', async () => {
    const p = provider();
    await p.startWindow({ ...q(0, 0), at: t(0) });
    const [a] = instances as [FakeInstance];
    instances[0] = new FakeInstance();
    for (let i = 0; i < 4; i++) instances[0].record('canary', 'ok', 0.01);
    const r = await p.analyse(q(0, 5));
    expect(r.canary.requests).toBe(4);
    instances[0] = a;
  });

  it('has no data for a window that started before its first scrape (operator restart)', async () => {
    const p = provider();
    const r = await p.analyse(q(0, 5));
    expect(r.canary.requests).toBe(0);
    const r2 = await p.analyse(q(5, 10));
    expect(r2.canary.requests).toBe(0);
  });

  it('fails loudly when no instance is known or none answers', async () => {
    const p = new GatewayMetricProvider({ endpoints: new StaticGatewayEndpoints(new Map()) });
    await expect(p.analyse(q(0, 5))).rejects.toThrow('no instances of ModelGateway llm/default');
    const dead = new GatewayMetricProvider({
      endpoints: new StaticGatewayEndpoints(new Map([['default', ['http://127.0.0.1:9/metrics']]])),
    });
    await expect(dead.analyse(q(0, 5))).rejects.toThrow('scraping ModelGateway llm/default failed');
  });
});

describe('parseGatewayMetricsUrls', () => {
  it('maps gateways to instance URLs, adding /metrics to a bare address', () => {
    const m = parseGatewayMetricsUrls(
      'default=http://127.0.0.1:8080, llm/edge=http://h:1/m,default=http://x:2',
    );
    expect(m.get('default')).toEqual(['http://127.0.0.1:8080/metrics', 'http://x:2/metrics']);
    expect(m.get('llm/edge')).toEqual(['http://h:1/m']);
    expect(() => parseGatewayMetricsUrls('nourl')).toThrow('<gateway>=<url>');
    expect(() => parseGatewayMetricsUrls('a=ftp://x')).toThrow('must be http(s)');
  });
});
