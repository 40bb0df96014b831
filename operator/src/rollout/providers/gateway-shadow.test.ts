import { describe, expect, it } from '@jest/globals';
import { METRICS, SHADOW_METRICS } from '../../../../api/v1alpha1/index.js';
import { figuresFromSeries, selectSeries } from './gateway.js';
import { parsePrometheusText } from './prom-text.js';

const L = 'namespace="llm",route="chat",backend="main"';

/** One gateway's /metrics with live stable traffic and the candidate's mirrored calls. */
const scrape = [
  `${METRICS.upstreamAttempts}{${L},variant="stable",outcome="ok"} 100`,
  `${METRICS.upstreamLatency}_bucket{${L},variant="stable",le="0.1"} 100`,
  `${METRICS.upstreamLatency}_bucket{${L},variant="stable",le="+Inf"} 100`,
  `${SHADOW_METRICS.requests}{${L},variant="shadow",outcome="ok"} 36`,
  `${SHADOW_METRICS.requests}{${L},variant="shadow",outcome="timeout"} 4`,
  `${METRICS.upstreamLatency}_bucket{${L},variant="shadow",le="1"} 0`,
  `${METRICS.upstreamLatency}_bucket{${L},variant="shadow",le="2"} 36`,
  `${METRICS.upstreamLatency}_bucket{${L},variant="shadow",le="+Inf"} 36`,
  `${METRICS.cost}{${L},variant="shadow"} 0.036`,
  `${SHADOW_METRICS.compared}{${L},variant="shadow",mode="exact"} 36`,
  `${SHADOW_METRICS.agreed}{${L},variant="shadow",mode="exact"} 27`,
].join('\n');

describe('gateway provider: the shadow variant', () => {
  const series = selectSeries(parsePrometheusText(scrape), {
    namespace: 'llm',
    route: 'chat',
    backend: 'main',
  });

  it('keeps mirrored calls out of the stable figures', () => {
    const stable = figuresFromSeries(series, 'stable');
    expect(stable.requests).toBe(100);
    expect(stable.errorRate).toBe(0);
    expect(stable.latencyP95Ms).toBeLessThanOrEqual(100);
    expect(stable.costPerRequest).toBe(0);
  });

  it('reads the shadow’s calls, errors, latency, cost and agreement rate', () => {
    const shadow = figuresFromSeries(series, 'shadow');
    expect(shadow.requests).toBe(40);
    expect(shadow.errorRate).toBeCloseTo(0.1, 10);
    expect(shadow.latencyP95Ms).toBeGreaterThan(1000);
    expect(shadow.latencyP95Ms).toBeLessThanOrEqual(2000);
    expect(shadow.costPerRequest).toBeCloseTo(0.001, 10);
    expect(shadow.agreement).toBeCloseTo(0.75, 10);
  });
});
