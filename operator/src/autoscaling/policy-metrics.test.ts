import { parsePrometheusText } from '../rollout/providers/prom-text.js';
import { PolicyMetrics, type PolicyView } from './policy-metrics.js';
import { GatewaySignals, readScrape } from './signals.js';

const gw = { namespace: 'llm', name: 'main' };
const line = (inflight: number, requests: number, upstream = 0) =>
  [
    `beastmode_inflight_requests ${inflight}`,
    `beastmode_requests_total{namespace="llm",route="chat",backend="local",variant="stable",code="2xx"} ${requests}`,
    `beastmode_upstream_attempts_total{namespace="llm",route="chat",backend="local",variant="stable",outcome="ok"} ${requests}`,
    `beastmode_upstream_inflight_requests{namespace="llm",route="chat",backend="local",variant="stable"} ${upstream}`,
  ].join('\n');

function setup(policy: Partial<PolicyView> = {}) {
  let now = 0;
  let failures = 0;
  const signals = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
  const metrics = new PolicyMetrics({ signals, failures: () => failures, now: () => now });
  const view: PolicyView = {
    namespace: 'llm',
    name: 'gw-scaler',
    gateway: gw,
    targets: { 'inflight-requests': 10, 'requests-per-second': 50 },
    fallback: { failureThreshold: 3, replicas: 4 },
    ...policy,
  };
  metrics.setPolicies([view]);
  const scrape = (at: number, text: string) => {
    now = at;
    signals.record(gw, 'a', readScrape(parsePrometheusText(text), at));
  };
  return {
    metrics,
    view,
    scrape,
    setNow: (t: number) => (now = t),
    setFailures: (n: number) => (failures = n),
    get: (metric: string, selector = [{ key: 'policy', op: '=' as const, value: 'gw-scaler' }]) =>
      metrics.values('llm', metric, selector),
  };
}

describe('the metrics of autoscaling policies', () => {
  test('serve the gateway signals of a policy, selected by policy=<name>', () => {
    const t = setup();
    t.scrape(0, line(0, 0));
    t.scrape(10_000, line(30, 1000));
    expect(t.get('beastmode_inflight_requests')?.map((v) => v.value)).toEqual([30]);
    expect(t.get('beastmode_requests_per_second')?.[0]?.value).toBeCloseTo(100, 5);
    expect(t.get('beastmode_inflight_requests', [{ key: 'policy', op: '=', value: 'other' }])).toEqual([]);
    expect(t.metrics.values('llm', 'no_such_metric', [])).toBeUndefined();
  });

  test("serve a model server pool's backend signals, idle when the gateway sends it nothing yet", () => {
    const t = setup({ backend: { route: 'chat', backend: 'local' } });
    t.scrape(0, line(0, 0));
    t.scrape(5_000, line(12, 500, 7));
    expect(t.get('beastmode_inflight_requests')?.[0]?.value).toBe(7);
    const idle = setup({ backend: { route: 'chat', backend: 'elsewhere' } });
    idle.scrape(0, line(3, 10));
    expect(idle.get('beastmode_inflight_requests')?.[0]?.value).toBe(0);
  });

  test('hold the declared replicas once the gateway has not been read N rounds in a row', () => {
    const t = setup();
    t.scrape(0, line(5, 0));
    t.setFailures(2);
    expect(t.metrics.inFallback(t.view)).toBe(false);
    t.setNow(60_000); // the readings are stale now
    expect(t.get('beastmode_inflight_requests')).toEqual([]);
    t.setFailures(3);
    expect(t.metrics.inFallback(t.view)).toBe(true);
    // AverageValue signals report replicas × target, so the HPA computes exactly 4 replicas.
    expect(t.get('beastmode_inflight_requests')?.[0]?.value).toBe(40);
    expect(t.get('beastmode_requests_per_second')?.[0]?.value).toBe(200);
    // What is measured stays apart from what the fallback serves: nothing, the readings being stale.
    expect(t.metrics.measured(t.view, 'inflight-requests')).toBeUndefined();
    t.setFailures(0);
    t.scrape(61_000, line(2, 0));
    expect(t.get('beastmode_inflight_requests')?.[0]?.value).toBe(2);
    expect(t.metrics.measured(t.view, 'inflight-requests')).toBe(2);
  });

  test('forecast the request rate of a predictive policy', () => {
    const t = setup({ predictive: { horizonMs: 10 * 60_000, seasonMs: 24 * 3_600_000 } });
    expect(t.get('beastmode_forecast_requests_per_second')).toEqual([]);
    let requests = 0;
    for (let s = 0; s <= 20 * 60; s += 10) {
      requests += 10 * 40; // 40 req/s, scraped every 10 s for 20 minutes
      t.scrape(s * 1000, line(0, requests));
      t.metrics.observeRates();
      // Before a minute of rates the HPA reads 0 for the forecast; the status says nothing is forecast yet.
      if (s === 50) {
        expect(t.get('beastmode_forecast_requests_per_second')?.[0]?.value).toBe(0);
        expect(t.metrics.forecastStatus(t.view)).toBeUndefined();
      }
    }
    const f = t.get('beastmode_forecast_requests_per_second')?.[0]?.value ?? 0;
    expect(f).toBeGreaterThan(38);
    expect(f).toBeLessThan(42);
    expect(t.metrics.forecastOf(t.view)?.requestsPerSecond).toBe(f);
    expect(t.metrics.forecastStatus(t.view)?.requestsPerSecond).toBe(f);
  });
});
