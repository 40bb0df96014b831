import type { ModelRoute } from '../../../api/v1alpha1/index.js';
import { METRICS } from '../../../api/v1alpha1/index.js';
import { StaticGatewayEndpoints } from '../rollout/providers/endpoints.js';
import type { Cache } from '../runtime/framework.js';
import { DashboardCollector, type Figures } from './collector.js';
import { SeriesStore } from './series.js';

const route = {
  metadata: { namespace: 'llm', name: 'chat' },
  spec: {
    gatewayRef: { name: 'main' },
    model: 'chat',
    backends: [{ name: 'main', url: 'http://x/v1', model: 'm' }],
  },
} as unknown as ModelRoute;

const cache: Cache = {
  get: () => undefined,
  list: <T>(kind: string) => (kind === 'ModelRoute' ? [route] : []) as T[],
  byIndex: () => [],
};

/** One instance's /metrics after `ok` successes, `failed` 5xx, `hits` cache hits and `misses` misses. */
function metrics(ok: number, failed: number, hits: number, misses: number): string {
  const l = 'namespace="llm",route="chat",backend="main",variant="stable"';
  return [
    `${METRICS.upstreamAttempts}{${l},outcome="ok"} ${ok}`,
    `${METRICS.upstreamAttempts}{${l},outcome="5xx"} ${failed}`,
    `${METRICS.upstreamLatency}_bucket{${l},le="0.1"} ${ok}`,
    `${METRICS.upstreamLatency}_bucket{${l},le="+Inf"} ${ok}`,
    `${METRICS.cost}{${l}} ${ok * 0.002}`,
    `${METRICS.cacheLookups}{namespace="llm",route="chat",result="hit"} ${hits}`,
    `${METRICS.cacheLookups}{namespace="llm",route="chat",result="miss"} ${misses}`,
    // Another namespace's route of the same name is not this one.
    `${METRICS.upstreamAttempts}{namespace="other",route="chat",backend="main",variant="stable",outcome="ok"} 999`,
  ].join('\n');
}

describe('DashboardCollector', () => {
  test('records per-second figures from the deltas between two rounds', async () => {
    let t = 0;
    let text = metrics(0, 0, 0, 0);
    const rounds: Map<string, Figures>[] = [];
    const store = new SeriesStore({ capacity: 10, maxOwners: 10, maxFigures: 100 });
    const c = new DashboardCollector({
      endpoints: new StaticGatewayEndpoints(new Map([['llm/main', ['http://gw/metrics']]])),
      cache,
      store,
      intervalMs: 1000,
      now: () => t,
      scrape: () => Promise.resolve(text),
      onRound: (_at, f) => rounds.push(f),
    });
    await c.round();
    expect(rounds[0]?.size).toBe(0); // one scrape is no window yet
    t = 10_000;
    text = metrics(90, 10, 30, 70);
    await c.round();
    const f = rounds[1]?.get('route/llm/chat') ?? {};
    expect(f['main/stable/rps']).toBeCloseTo(10);
    expect(f['main/stable/errorRate']).toBeCloseTo(0.1);
    expect(f['main/stable/latencyP95Ms']).toBeLessThanOrEqual(100);
    expect(f['cost/usdPerHour']).toBeCloseTo(((90 * 0.002) / 10) * 3600);
    expect(f['cache/hitRatio']).toBeCloseTo(0.3);
    expect(f['cache/savedUsdPerHour']).toBeCloseTo(((30 * 0.002) / 10) * 3600);
    expect(store.dump('route/llm/chat')?.at).toEqual([10_000]);
  });

  test('a gateway that cannot be scraped records nothing and reports why', async () => {
    const errors: string[] = [];
    const c = new DashboardCollector({
      endpoints: new StaticGatewayEndpoints(new Map([['llm/main', ['http://gw/metrics']]])),
      cache,
      store: new SeriesStore({ capacity: 10, maxOwners: 10, maxFigures: 100 }),
      intervalMs: 1000,
      scrape: () => Promise.reject(new Error('connection refused')),
      onError: (g, why) => errors.push(`${g}: ${why}`),
    });
    await c.round();
    expect(errors).toEqual(['llm/main: connection refused']);
  });
});
