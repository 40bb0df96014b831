import { captureLogger, chatRequest, manualClock, routeFixture } from '../../../testkit/policy-fixtures.js';
import { redisForSuite } from '../../../testkit/redis-suite.js';
import type { Caller, Clock } from '../policy/types.js';
import { GatewayMetrics } from '../server/metrics.js';
import { CacheFence } from './fence.js';
import { MemoryCacheStore } from './memory-store.js';
import { RedisCacheStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';
import type { CacheStore } from './store.js';

const alice: Caller = { key: 'alice', anonymous: false };
const route = routeFixture({
  cache: { mode: 'exact', ttlMs: 60_000, scope: 'route', cacheNonDeterministic: false },
});
const det = (content: string) => chatRequest(content, { temperature: 0 });
const STABLE = { producer: 'stable-1' };
const CANARY = { producer: 'canary-1' };
const OTHER = { producer: 'other-1' };
const body = (text: string) => ({ kind: 'body' as const, body: text });

function fenced(store: CacheStore, clock: Clock = manualClock()) {
  const metrics = new GatewayMetrics();
  const { logger, lines } = captureLogger();
  const fence = new CacheFence({ store, metrics, logger, clock });
  const cache = new ResponseCache({
    store,
    lookups: metrics,
    logger,
    maxEntryBytes: 1_048_576,
    fence,
  });
  return { fence, cache, registry: metrics.registry, lines };
}

async function fill(cache: ResponseCache, producer: string, content: string): Promise<void> {
  const miss = await cache.lookup(alice, route, det(content), [{ producer }]);
  expect(await cache.store(miss, producer, body(`${producer}:${content}`))).toBe(true);
}

describe('cache fence (memory)', () => {
  it('a rollback fences the canary: its entries are deleted, counted and logged; the stable ones stay', async () => {
    const clock = manualClock();
    const store = new MemoryCacheStore({ clock, maxEntries: 100 });
    const { fence, cache, registry, lines } = fenced(store, clock);
    expect(await fence.follow(new Set(['stable-1', 'canary-1']), 'rev-a')).toBeUndefined();
    for (const c of ['a', 'b', 'c']) await fill(cache, 'canary-1', c);
    await fill(cache, 'stable-1', 'a');

    const report = await fence.follow(new Set(['stable-1']), 'rev-b');
    expect(report).toMatchObject({
      revision: 'rev-b',
      producers: ['canary-1'],
      store: 'memory',
      deleted: 3,
      complete: true,
    });
    expect(store.size).toBe(1);
    expect((await cache.lookup(alice, route, det('a'), [CANARY])).header).toBe('miss');
    expect(await cache.lookup(alice, route, det('a'), [STABLE])).toMatchObject({
      header: 'hit',
      producer: STABLE,
      response: { body: 'stable-1:a' },
    });
    const text = await registry.metrics();
    expect(text).toContain('beastmode_cache_fenced_entries_total{store="memory"} 3');
    expect(text).toContain(`beastmode_cache_last_fence_timestamp_seconds ${clock.now() / 1000}`);
    expect(text).toContain('beastmode_cache_last_fence_purge_seconds 0');
    const logged = lines.filter((l) => l.includes('Cache entries of a retired producer fenced'));
    expect(logged).toHaveLength(1);
    expect(JSON.parse(logged[0]!)).toMatchObject({ producers: ['canary-1'], deleted: 3, store: 'memory' });
  });

  it('a request in flight across the rollback neither gets nor stores the retired canary’s answer', async () => {
    const { fence, cache } = fenced(new MemoryCacheStore({ clock: manualClock(), maxEntries: 100 }));
    await fence.follow(new Set(['stable-1', 'canary-1']), 'rev-a');
    await fill(cache, 'canary-1', 'x');
    const inFlight = await cache.lookup(alice, route, det('y'), [CANARY]);
    void fence.follow(new Set(['stable-1']), 'rev-b');
    // The request read its plan from the old config: it still names the canary.
    expect((await cache.lookup(alice, route, det('x'), [CANARY])).header).toBe('miss');
    expect(await cache.store(inFlight, 'canary-1', body('late'))).toBe(false);
    expect((await cache.lookup(alice, route, det('y'), [CANARY])).header).toBe('miss');
  });

  it('answers from the first of the request’s producers that has the entry, and says which', async () => {
    const { cache } = fenced(new MemoryCacheStore({ clock: manualClock(), maxEntries: 100 }));
    await fill(cache, 'other-1', 'q');
    expect(await cache.lookup(alice, route, det('q'), [STABLE, OTHER])).toMatchObject({
      header: 'hit',
      producer: OTHER,
    });
    await fill(cache, 'stable-1', 'q');
    expect(await cache.lookup(alice, route, det('q'), [STABLE, OTHER])).toMatchObject({
      producer: STABLE,
      response: { body: 'stable-1:q' },
    });
    expect((await cache.lookup(alice, route, det('q'), [CANARY])).header).toBe('miss');
  });

  it('a config that retires nothing fences nothing', async () => {
    const { fence, registry } = fenced(new MemoryCacheStore({ clock: manualClock(), maxEntries: 100 }));
    await fence.follow(new Set(['stable-1']), 'rev-a');
    expect(await fence.follow(new Set(['stable-1', 'canary-1']), 'rev-b')).toBeUndefined();
    expect(await registry.metrics()).toContain('beastmode_cache_last_fence_timestamp_seconds 0');
  });
});

describe('cache fence (Redis, two replicas)', () => {
  const { client } = redisForSuite(500);

  it('one replica purges the retired producer’s keys (SCAN by prefix, UNLINK); the other skips it', async () => {
    const redis = await client();
    const a = fenced(new RedisCacheStore(redis, { prefix: 'f1', scanCount: 7 }));
    const b = fenced(new RedisCacheStore(await client(), { prefix: 'f1', scanCount: 7 }));
    const live = new Set(['stable-1', 'canary-1']);
    await a.fence.follow(live, 'rev-a');
    await b.fence.follow(live, 'rev-a');
    for (let i = 0; i < 40; i++) await fill(a.cache, 'canary-1', `c${i}`);
    for (let i = 0; i < 5; i++) await fill(a.cache, 'stable-1', `s${i}`);
    await redis.set('f2:cache:canary-1:x', '1'); // another gateway's key with the same producer id

    const [ra, rb] = await Promise.all([
      a.fence.follow(new Set(['stable-1']), 'rev-b'),
      b.fence.follow(new Set(['stable-1']), 'rev-b'),
    ]);
    expect([ra?.deleted, rb?.deleted].sort()).toEqual([0, 40]);
    expect([ra?.purgedElsewhere, rb?.purgedElsewhere].sort()).toEqual([0, 1]);
    expect(await redis.keys('f1:cache:canary-1:*')).toEqual([]);
    expect(await redis.keys('f1:cache:stable-1:*')).toHaveLength(5);
    expect(await redis.exists('f2:cache:canary-1:x')).toBe(1);
    expect((await b.cache.lookup(alice, route, det('s0'), [STABLE])).header).toBe('hit');
  });

  it('stops at its time bound and says so; what is left is never looked up', async () => {
    let t = 0;
    const ticking: Clock = { now: () => (t += 10) };
    const redis = await client();
    const store = new RedisCacheStore(redis, {
      prefix: 'f3',
      scanCount: 2,
      clock: ticking,
      purgeBoundMs: 25,
    });
    const { fence, cache, lines } = fenced(store, ticking);
    await fence.follow(new Set(['canary-1']), 'rev-a');
    for (let i = 0; i < 30; i++) await fill(cache, 'canary-1', `c${i}`);
    const report = await fence.follow(new Set(), 'rev-b');
    expect(report?.complete).toBe(false);
    expect(report?.deleted).toBeLessThan(30);
    expect((await cache.lookup(alice, route, det('c29'), [CANARY])).header).toBe('miss');
    expect(lines.find((l) => l.includes('retired producer fenced'))).toContain('"level":"warn"');
  });
});
