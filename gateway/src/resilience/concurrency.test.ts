import { CALM_AFTER_MS, ConcurrencyLimits, DECREASE_SPACING_MS, SPILL_ACTIVE_MS } from './concurrency.js';

const labels = { namespace: 'ns', route: 'r', backend: 'pool', variant: 'stable' };
const K = 'ns/r/pool/stable';

function limits() {
  let t = 1_000;
  const l = new ConcurrencyLimits(() => t);
  return { l, advance: (ms: number) => (t += ms) };
}

/** Starts n attempts on the backend. */
const start = (l: ConcurrencyLimits, spec: object, n: number) => {
  for (let i = 0; i < n; i++) l.begin(K, spec, labels);
};

describe('in-flight bounds', () => {
  test('a backend without maxConcurrentRequests or spillOver is not tracked and never saturated', () => {
    const { l } = limits();
    start(l, {}, 500);
    expect(l.inflight(K)).toBe(0);
    expect(l.saturated(K, {})).toBe(false);
    expect(l.states()).toEqual([]);
  });

  test('a fixed bound saturates at maxConcurrentRequests and frees a place per ended attempt', () => {
    const { l } = limits();
    const spec = { maxConcurrentRequests: 3 };
    start(l, spec, 2);
    expect(l.saturated(K, spec)).toBe(false);
    start(l, spec, 1);
    expect(l.saturated(K, spec)).toBe(true);
    // A 429 without spillOver.onThrottle does not change the bound.
    l.end(K, spec, 'throttled');
    expect(l.saturated(K, spec)).toBe(false);
    expect(l.limit(K, spec)).toBe(3);
  });

  test('a throttle lowers the learned bound to 90% of what was in flight, once per burst', () => {
    const { l, advance } = limits();
    const spec = { spillOver: { to: 'hosted', onThrottle: true } };
    expect(l.limit(K, spec)).toBe(Infinity);
    start(l, spec, 20);
    l.end(K, spec, 'throttled'); // 20 in flight, this one included → 18
    expect(l.limit(K, spec)).toBe(18);
    l.end(K, spec, 'throttled'); // the same burst: no further decrease
    expect(l.limit(K, spec)).toBe(18);
    advance(DECREASE_SPACING_MS);
    l.end(K, spec, 'throttled'); // 18 in flight → 16
    expect(l.limit(K, spec)).toBe(16);
    expect(l.inflight(K)).toBe(17);
  });

  test('answers at the bound raise it by about one per round, up to maxConcurrentRequests', () => {
    const { l } = limits();
    const spec = { maxConcurrentRequests: 12, spillOver: { to: 'hosted', onThrottle: true } };
    start(l, spec, 5);
    l.end(K, spec, 'throttled'); // → floor(5 × 0.9) = 4
    expect(l.limit(K, spec)).toBe(4);
    // Below the bound, answers teach nothing.
    start(l, spec, 1); // 5 in flight, bound 4: over it (the attempts were admitted earlier)
    for (let i = 0; i < 2; i++) l.end(K, spec, 'ok'); // 5 and 4 in flight: at the bound
    expect(l.limit(K, spec)).toBe(4); // 4 + 1/4 + ~1/4.25 < 5
    l.end(K, spec, 'ok'); // 3 in flight: under the bound, no change
    // Keep the backend at its bound: every answer is replaced by a new request.
    let rounds = 0;
    while (l.limit(K, spec) < 12 && rounds < 1000) {
      while (l.inflight(K) < l.limit(K, spec)) l.begin(K, spec, labels);
      l.end(K, spec, 'ok');
      rounds++;
    }
    expect(l.limit(K, spec)).toBe(12);
    // From 4 to 12 takes about 4 + 5 + … + 11 answers, one round of answers per step.
    expect(rounds).toBeGreaterThan(50);
    expect(rounds).toBeLessThan(80);
    for (let i = 0; i < 50; i++) {
      while (l.inflight(K) < l.limit(K, spec)) l.begin(K, spec, labels);
      l.end(K, spec, 'ok');
    }
    expect(l.limit(K, spec)).toBe(12);
  });

  test('a second after the last throttle, the bound grows by about a fifth per round of answers', () => {
    const { l, advance } = limits();
    const spec = { spillOver: { to: 'hosted', onThrottle: true } };
    start(l, spec, 5);
    l.end(K, spec, 'throttled'); // → 4
    advance(CALM_AFTER_MS);
    let answers = 0;
    while (l.limit(K, spec) < 64 && answers < 1000) {
      while (l.inflight(K) < l.limit(K, spec)) l.begin(K, spec, labels);
      l.end(K, spec, 'ok');
      answers++;
    }
    // 0.2 per answer at the bound: from 4 to 64 in 300 answers, about 15 rounds (additive: ~2,000 answers).
    expect(l.limit(K, spec)).toBe(64);
    expect(answers).toBe(300);
    // A throttle ends the fast growth at once: 90% of what was in flight, this attempt included.
    const inflight = l.inflight(K);
    l.end(K, spec, 'throttled');
    expect(l.limit(K, spec)).toBe(Math.floor(inflight * 0.9));
  });

  test('a backend reads as spilling for 5 s after its last spilled request', () => {
    const { l, advance } = limits();
    const spec = { spillOver: { to: 'hosted', onThrottle: true } };
    start(l, spec, 1);
    expect(l.states()).toEqual([{ labels, limit: Infinity, spillTo: '', spilling: false }]);
    l.spilled(K, spec, labels, 'hosted');
    expect(l.states()[0]).toMatchObject({ spillTo: 'hosted', spilling: true });
    advance(SPILL_ACTIVE_MS - 1);
    expect(l.states()[0]?.spilling).toBe(true);
    advance(1);
    expect(l.states()[0]?.spilling).toBe(false);
  });

  test('a backend the config no longer has is forgotten once nothing is in flight to it', () => {
    const { l } = limits();
    const spec = { maxConcurrentRequests: 2 };
    start(l, spec, 1);
    l.retain(new Set());
    expect(l.states()).toHaveLength(1); // a request is still in flight
    l.end(K, spec, 'ok');
    l.retain(new Set([K]));
    expect(l.states()).toHaveLength(1); // still configured
    l.retain(new Set());
    expect(l.states()).toEqual([]);
  });
});
