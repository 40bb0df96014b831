import { parsePrometheusText } from '../rollout/providers/prom-text.js';
import { GatewaySignals, readScrape } from './signals.js';

const gw = { namespace: 'llm', name: 'main' };

/** The metrics text of one gateway instance. */
function scrape(o: {
  inflight: number;
  requests: number;
  attempts: number;
  throttled?: number;
  fast: number;
  slow: number;
  upstream?: number;
}): string {
  const l = 'namespace="llm",route="chat",backend="local",variant="stable"';
  return [
    `beastmode_inflight_requests ${o.inflight}`,
    `beastmode_requests_total{${l},code="2xx"} ${o.requests}`,
    `beastmode_upstream_attempts_total{${l},outcome="ok"} ${o.attempts - (o.throttled ?? 0)}`,
    `beastmode_upstream_attempts_total{${l},outcome="429"} ${o.throttled ?? 0}`,
    `beastmode_upstream_inflight_requests{${l}} ${o.upstream ?? 0}`,
    `beastmode_time_to_first_token_seconds_bucket{${l},le="0.1"} ${o.fast}`,
    `beastmode_time_to_first_token_seconds_bucket{${l},le="1"} ${o.fast + o.slow}`,
    `beastmode_time_to_first_token_seconds_bucket{${l},le="+Inf"} ${o.fast + o.slow}`,
  ].join('\n');
}

const read = (text: string, at: number) => readScrape(parsePrometheusText(text), at);

describe('gateway signals', () => {
  test('sum in-flight requests over instances and take rates over the window', () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    s.record(gw, 'a', read(scrape({ inflight: 3, requests: 100, attempts: 100, fast: 100, slow: 0 }), 0));
    s.record(gw, 'b', read(scrape({ inflight: 1, requests: 50, attempts: 50, fast: 50, slow: 0 }), 0));
    s.record(
      gw,
      'a',
      read(scrape({ inflight: 5, requests: 400, attempts: 400, fast: 400, slow: 0 }), 10_000),
    );
    s.record(
      gw,
      'b',
      read(scrape({ inflight: 2, requests: 150, attempts: 150, fast: 150, slow: 0 }), 10_000),
    );
    const g = s.gateway(gw, 10_000);
    expect(g?.inflight).toBe(7);
    expect(g?.requestsPerSecond).toBeCloseTo(40, 5); // (300 + 100) / 10 s
    expect(g?.ttftP95Seconds).toBeLessThanOrEqual(0.1);
  });

  test('p95 of time to first token follows the window, not the instance lifetime', () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    s.record(gw, 'a', read(scrape({ inflight: 0, requests: 1000, attempts: 1000, fast: 1000, slow: 0 }), 0));
    // In the window, every new request was slow (0.1–1 s).
    s.record(
      gw,
      'a',
      read(scrape({ inflight: 0, requests: 1100, attempts: 1100, fast: 1000, slow: 100 }), 10_000),
    );
    expect(s.gateway(gw, 10_000)?.ttftP95Seconds).toBeGreaterThan(0.5);
  });

  test('take a restarted instance counters as its delta', () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    s.record(gw, 'a', read(scrape({ inflight: 0, requests: 5000, attempts: 5000, fast: 5000, slow: 0 }), 0));
    s.record(
      gw,
      'a',
      read(scrape({ inflight: 0, requests: 200, attempts: 200, fast: 200, slow: 0 }), 10_000),
    );
    expect(s.gateway(gw, 10_000)?.requestsPerSecond).toBeCloseTo(20, 5);
  });

  test('report per backend: attempt rate, share throttled, upstream calls in flight', () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    s.record(gw, 'a', read(scrape({ inflight: 0, requests: 0, attempts: 0, fast: 0, slow: 0 }), 0));
    s.record(
      gw,
      'a',
      read(
        scrape({ inflight: 9, requests: 100, attempts: 100, throttled: 25, fast: 100, slow: 0, upstream: 9 }),
        5000,
      ),
    );
    expect(s.backends(gw, 5000)).toEqual([
      expect.objectContaining({
        route: 'chat',
        backend: 'local',
        requestsPerSecond: 20,
        throttledRatio: 0.25,
        inflight: 9,
      }),
    ]);
  });

  test("a backend's in-flight demand includes the requests spilled over from it", () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    const l = 'namespace="llm",route="chat",backend="local",variant="stable"';
    const text = `${scrape({ inflight: 12, requests: 0, attempts: 0, fast: 0, slow: 0, upstream: 4 })}\nbeastmode_spillover_inflight_requests{${l}} 8`;
    s.record(gw, 'a', read(text, 0));
    expect(s.backends(gw, 0)).toEqual([expect.objectContaining({ backend: 'local', inflight: 12 })]);
  });

  test('know nothing about a gateway whose instances all went quiet', () => {
    const s = new GatewaySignals({ windowMs: 30_000, staleMs: 30_000 });
    s.record(gw, 'a', read(scrape({ inflight: 1, requests: 1, attempts: 1, fast: 1, slow: 0 }), 0));
    expect(s.gateway(gw, 10_000)).toBeDefined();
    expect(s.gateway(gw, 31_000)).toBeUndefined();
    s.prune(31_000, () => true);
    expect(s.backends(gw, 31_000)).toEqual([]);
  });
});
