// Folded series: what the request path adds reaches prom-client's output exactly at every read, whichever
// way the metric is read, and only once.
import { describe, expect, it } from '@jest/globals';
import client from 'prom-client';
import { FoldedSeries } from './folded-series.js';

function metrics() {
  const registry = new client.Registry();
  const folded = new FoldedSeries();
  const requests = new client.Counter({
    name: 'test_requests_total',
    help: 'h',
    labelNames: ['route', 'code'],
    registers: [registry],
    collect: folded.collect,
  });
  const inflight = new client.Gauge({
    name: 'test_inflight',
    help: 'h',
    labelNames: ['route'],
    registers: [registry],
    collect: folded.collect,
  });
  return { registry, folded, requests, inflight };
}

const valueOf = async (m: client.Counter<string> | client.Gauge<string>, labels: Record<string, string>) =>
  (await m.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value;

describe('folded series', () => {
  it('reach the exposition exactly at every read, once each', async () => {
    const { registry, folded, requests } = metrics();
    const ok = folded.counter(requests, { route: 'chat', code: '2xx' });
    const failed = folded.counter(requests, { route: 'chat', code: '5xx' });
    for (let i = 0; i < 1000; i++) ok.inc();
    failed.inc(2.5);
    expect(await registry.metrics()).toContain('test_requests_total{route="chat",code="2xx"} 1000');
    // A second read adds nothing; new increments add to what was folded.
    expect(await registry.metrics()).toContain('test_requests_total{route="chat",code="2xx"} 1000');
    ok.inc();
    expect(await valueOf(requests, { code: '2xx' })).toBe(1001);
    expect(await valueOf(requests, { code: '5xx' })).toBe(2.5);
    // The JSON the workers' aggregation reads folds too.
    ok.inc(4);
    const json = await registry.getMetricsAsJSON();
    const series = json.find((m) => m.name === 'test_requests_total')?.values;
    expect(series?.find((v) => v.labels.code === '2xx')?.value).toBe(1005);
  });

  it('exist from their first update, a zero included, as prom-client series do', async () => {
    const { registry, folded, requests } = metrics();
    folded.counter(requests, { route: 'chat', code: '4xx' }).inc(0);
    folded.counter(requests, { route: 'never', code: '2xx' });
    const text = await registry.metrics();
    expect(text).toContain('test_requests_total{route="chat",code="4xx"} 0');
    expect(text).not.toContain('route="never"');
  });

  it('refuse what a counter cannot count, as prom-client does', () => {
    const { folded, requests } = metrics();
    const c = folded.counter(requests, { route: 'chat', code: '2xx' });
    expect(() => c.inc(-1)).toThrow(/only goes up/);
    expect(() => c.inc(Number.NaN)).toThrow(/only goes up/);
    expect(() => c.inc(Number.POSITIVE_INFINITY)).toThrow(/only goes up/);
  });

  it('move gauges by their net change, back to zero included, beside direct updates', async () => {
    const { folded, inflight } = metrics();
    const chat = folded.gauge(inflight, { route: 'chat' });
    chat.inc();
    chat.inc();
    chat.inc();
    chat.dec();
    expect(await valueOf(inflight, { route: 'chat' })).toBe(2);
    chat.dec();
    chat.dec();
    chat.inc();
    chat.dec();
    expect(await valueOf(inflight, { route: 'chat' })).toBe(0);
    // A caller updating the metric itself (the shadow path does) adds to the same series.
    inflight.inc({ route: 'chat' }, 3);
    chat.dec();
    expect(await valueOf(inflight, { route: 'chat' })).toBe(2);
  });

  it('keep their labels as made: a caller changing its object later changes nothing', async () => {
    const { folded, requests } = metrics();
    const labels = { route: 'chat', code: '2xx' };
    const c = folded.counter(requests, labels);
    labels.route = 'other';
    c.inc();
    expect(await valueOf(requests, { route: 'chat' })).toBe(1);
    expect(await valueOf(requests, { route: 'other' })).toBeUndefined();
  });
});
