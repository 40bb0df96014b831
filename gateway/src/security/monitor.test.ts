import { Registry } from 'prom-client';
import { METRICS } from '../../../api/v1alpha1/index.js';
import { manualClock } from '../../../testkit/policy-fixtures.js';
import { SecurityMonitor } from './monitor.js';
import { SecurityMetrics } from './security-metrics.js';

const MIN = 60_000;
const alice = { key: 'alice', team: 'web', anonymous: false };

function setup() {
  const registry = new Registry();
  const clock = manualClock();
  const monitor = new SecurityMonitor(new SecurityMetrics([registry]), clock, { warmupWindows: 10 });
  const sample = async (name: string, labels: string): Promise<number | undefined> => {
    const text = await registry.getSingleMetricAsString(name);
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  /** `n` requests of alice spread over the current minute, then the clock moves to the next minute. */
  const minute = (n: number, usd = 0) => {
    for (let i = 0; i < n; i++) {
      monitor.requested(alice);
      monitor.spent(alice, usd);
      clock.advance(MIN / (n + 1));
    }
    clock.set(Math.ceil((clock.now() + 1) / MIN) * MIN);
  };
  return { monitor, clock, sample, minute };
}

describe('the security monitor', () => {
  test('scores a burst at the next scrape and counts one onset while it lasts', async () => {
    const { sample, minute } = setup();
    for (let m = 0; m < 30; m++) minute(10, 0.01);
    expect(await sample(METRICS.keyAnomalyScore, 'key="alice",signal="requests"')).toBeLessThan(3);
    minute(300, 0.01);
    minute(300, 0.01);
    // The scrape closes the last minute itself: no request after the burst is needed to see it.
    expect(await sample(METRICS.keyAnomalyScore, 'key="alice",signal="requests"')).toBeGreaterThan(6);
    expect(await sample(METRICS.keyAnomalyScore, 'key="alice",signal="spend"')).toBeGreaterThan(6);
    expect(await sample(METRICS.keyAnomalies, 'key="alice",signal="requests"')).toBe(1);
    expect(await sample(METRICS.callerRequests, 'key="alice",team="web"')).toBe(300 + 600);
  });

  test('keeps anonymous callers out of the per-key series', async () => {
    const { monitor, sample } = setup();
    monitor.requested({ key: 'anonymous', anonymous: true });
    monitor.spent({ key: 'anonymous', anonymous: true }, 1);
    expect(await sample(METRICS.callerRequests, 'key="anonymous",team=""')).toBeUndefined();
    expect(await sample(METRICS.keyAnomalyScore, 'key="anonymous",signal="requests"')).toBeUndefined();
  });
});
