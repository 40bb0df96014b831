import type { Caller } from '../policy/types.js';
import { captureLogger, chatRequest, manualClock, routeFixture } from '../../../testkit/policy-fixtures.js';
import { redisForSuite } from '../../../testkit/redis-suite.js';
import { GatewayMetrics } from '../server/metrics.js';
import { cacheKey, canonicalRequest } from './cache-key.js';
import type { CacheEntry } from './entry.js';
import { MemoryCacheStore } from './memory-store.js';
import { decodeEntry, encodeEntry, RedisCacheStore } from './redis-store.js';
import { ResponseCache } from './response-cache.js';
import type { CacheStore } from './store.js';

const alice: Caller = { key: 'alice', team: 'red', anonymous: false };
const bob: Caller = { key: 'bob', team: 'red', anonymous: false };
const carol: Caller = { key: 'carol', team: 'blue', anonymous: false };
const route = routeFixture({
  cache: { mode: 'exact', ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: false },
});
const det = (content: string, extra: Record<string, unknown> = {}) =>
  chatRequest(content, { temperature: 0, ...extra });
/** The one producer of the route in most tests (its stable backend). */
const STABLE = 'p-stable';
const PRODUCERS = [{ producer: STABLE }];

const BODY = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hello é 🦄' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
});
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 2, model: 'gpt-4o', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const STREAM = [
  chunk({ role: 'assistant', content: '' }),
  chunk({ content: 'Hel' }),
  chunk({ content: 'lo é 🦄' }),
  chunk({}, 'stop'),
  'data: [DONE]\n\n',
];

describe('cache key', () => {
  it('ignores user, stream and stream_options, and the order of fields', () => {
    const a = canonicalRequest(
      det('hi', { user: 'u1', stream: true, stream_options: { include_usage: true } }),
    );
    const b = canonicalRequest({
      temperature: 0,
      messages: [{ content: 'hi', role: 'user' }],
      model: 'chat',
    });
    expect(a).toBe(b);
  });

  it('differs on temperature, max_tokens, tools, seed and unknown parameters', () => {
    const base = cacheKey(route, alice, det('hi'));
    for (const extra of [{ temperature: 0.5 }, { max_tokens: 5 }, { tools: [] }, { seed: 1 }, { foo: 1 }]) {
      expect(cacheKey(route, alice, det('hi', extra))).not.toBe(base);
    }
  });

  it('is scoped: two keys never share under api-key scope; two teams never share under team scope', () => {
    expect(cacheKey(route, alice, det('hi'))).not.toBe(cacheKey(route, bob, det('hi')));
    const team = routeFixture({ cache: { ...route.cache, scope: 'team' } });
    expect(cacheKey(team, alice, det('hi'))).toBe(cacheKey(team, bob, det('hi')));
    expect(cacheKey(team, alice, det('hi'))).not.toBe(cacheKey(team, carol, det('hi')));
    const other = routeFixture({ name: 'other', cache: route.cache });
    expect(cacheKey(other, alice, det('hi'))).not.toBe(cacheKey(route, alice, det('hi')));
  });
});

function makeCache(store: CacheStore, maxEntryBytes = 1_048_576) {
  const lookups = new GatewayMetrics();
  const { logger, lines } = captureLogger();
  return {
    cache: new ResponseCache({ store, lookups, logger, maxEntryBytes }),
    registry: lookups.registry,
    lines,
  };
}

describe('ResponseCache (memory)', () => {
  it('misses, stores, hits; counts lookups by result', async () => {
    const { cache, registry } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    const miss = await cache.lookup(alice, route, det('hi'), PRODUCERS);
    expect(miss.header).toBe('miss');
    expect(await cache.store(miss, STABLE, { kind: 'body', body: BODY })).toBe(true);
    const hit = await cache.lookup(alice, route, det('hi', { user: 'someone' }), PRODUCERS);
    expect(hit).toMatchObject({ header: 'hit', response: { stream: false, body: BODY } });
    expect((await cache.lookup(bob, route, det('hi'), PRODUCERS)).header).toBe('miss');
    const text = await registry.getSingleMetricAsString('beastmode_cache_lookups_total');
    expect(text).toContain('beastmode_cache_lookups_total{namespace="llm",route="chat",result="hit"} 1');
    expect(text).toContain('beastmode_cache_lookups_total{namespace="llm",route="chat",result="miss"} 2');
  });

  it('answers at once from memory, with no promise on the request path', () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    const miss = cache.lookup(alice, route, det('now'), PRODUCERS);
    if (miss instanceof Promise) throw new Error('expected the lookup itself, not a promise');
    expect(miss.header).toBe('miss');
    expect(cache.store(miss, STABLE, { kind: 'body', body: BODY })).toBe(true);
    const hit = cache.lookup(alice, route, det('now'), PRODUCERS);
    expect(hit).toMatchObject({ header: 'hit', response: { stream: false, body: BODY } });
  });

  it('answers miss when a store fails at once (not through a promise), and logs it once', async () => {
    const broken: CacheStore = Object.assign(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }), {
      find(): never {
        throw new Error('store gone');
      },
      set(): never {
        throw new Error('store gone');
      },
    });
    const { cache, lines } = makeCache(broken);
    const miss = await cache.lookup(alice, route, det('gone'), PRODUCERS);
    expect(miss.header).toBe('miss');
    expect(await cache.store(miss, STABLE, { kind: 'body', body: BODY })).toBe(false);
    expect((await cache.lookup(alice, route, det('gone'), PRODUCERS)).header).toBe('miss');
    expect(lines.filter((l) => l.includes('Cache store unreachable'))).toHaveLength(1);
  });

  it('bypasses non-deterministic requests unless the route caches them', async () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    expect((await cache.lookup(alice, route, chatRequest('hi'), PRODUCERS)).header).toBe('bypass');
    expect((await cache.lookup(alice, route, det('hi', { top_p: 0.5 }), PRODUCERS)).header).toBe('bypass');
    expect((await cache.lookup(alice, route, det('hi', { n: 2 }), PRODUCERS)).header).toBe('bypass');
    expect((await cache.lookup(alice, routeFixture(), det('hi'), PRODUCERS)).header).toBe('bypass');
    const nd = routeFixture({ cache: { ...route.cache, cacheNonDeterministic: true } });
    expect((await cache.lookup(alice, nd, chatRequest('hi', { temperature: 0.7 }), PRODUCERS)).header).toBe(
      'miss',
    );
  });

  it('expires entries after the TTL and evicts the least recently used', async () => {
    const clock = manualClock();
    const store = new MemoryCacheStore({ clock, maxEntries: 2 });
    const { cache } = makeCache(store);
    const put = async (c: string) =>
      cache.store(await cache.lookup(alice, route, det(c), PRODUCERS), STABLE, { kind: 'body', body: c });
    await put('a');
    await put('b');
    expect((await cache.lookup(alice, route, det('a'), PRODUCERS)).header).toBe('hit'); // a is now the most recent
    await put('c'); // evicts b
    expect((await cache.lookup(alice, route, det('b'), PRODUCERS)).header).toBe('miss');
    expect((await cache.lookup(alice, route, det('a'), PRODUCERS)).header).toBe('hit');
    expect(store.size).toBe(2);
    clock.advance(60_001);
    expect((await cache.lookup(alice, route, det('a'), PRODUCERS)).header).toBe('miss');
  });

  it('skips entries over maxEntryBytes', async () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }), 2048);
    const miss = await cache.lookup(alice, route, det('big'), PRODUCERS);
    expect(await cache.store(miss, STABLE, { kind: 'body', body: 'x'.repeat(4096) })).toBe(false);
  });

  it('replays a streamed response byte-identically and rebuilds a body from it', async () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    const miss = await cache.lookup(alice, route, det('hi', { stream: true }), PRODUCERS);
    const rec = cache.recorder();
    // Split the bytes at awkward places, including inside the 4-byte emoji.
    const bytes = Buffer.from(STREAM.join(''));
    const cut = bytes.indexOf(Buffer.from('🦄')) + 2;
    for (const part of [bytes.subarray(0, 7), bytes.subarray(7, cut), bytes.subarray(cut)]) rec.push(part);
    const entry = rec.entry();
    expect(entry).toBeDefined();
    await cache.store(miss, STABLE, entry!);
    const hit = await cache.lookup(alice, route, det('hi', { stream: true }), PRODUCERS);
    if (hit.result !== 'hit' || !hit.response.stream) throw new Error('expected a stream hit');
    expect(Buffer.from(hit.response.events.join(''))).toEqual(bytes);
    const asBody = await cache.lookup(alice, route, det('hi'), PRODUCERS);
    if (asBody.result !== 'hit' || asBody.response.stream) throw new Error('expected a body hit');
    const body = JSON.parse(asBody.response.body);
    expect(body).toMatchObject({ id: 'chatcmpl-2', object: 'chat.completion' });
    expect(body.choices[0]).toMatchObject({ message: { content: 'Hello é 🦄' }, finish_reason: 'stop' });
  });

  it('serves a body entry to a streaming client as chunks', async () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    await cache.store(await cache.lookup(alice, route, det('hi'), PRODUCERS), STABLE, {
      kind: 'body',
      body: BODY,
    });
    const hit = await cache.lookup(alice, route, det('hi', { stream: true }), PRODUCERS);
    if (hit.result !== 'hit' || !hit.response.stream) throw new Error('expected a stream hit');
    expect(hit.response.events.at(-1)).toBe('data: [DONE]\n\n');
    expect(hit.response.events.join('')).toContain('Hello é 🦄');
  });

  it('does not cache an aborted stream', () => {
    const { cache } = makeCache(new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 }));
    const rec = cache.recorder();
    rec.push(STREAM.slice(0, 3).join(''));
    expect(rec.entry()).toBeUndefined();
  });
});

describe('ResponseCache (redis)', () => {
  const { client, server } = redisForSuite(150);

  it('shares entries between two replicas and expires them with the TTL', async () => {
    const a = makeCache(new RedisCacheStore(await client(), { prefix: 'c1', compress: true }));
    const b = makeCache(new RedisCacheStore(await client(), { prefix: 'c1', compress: true }));
    const shortTtl = routeFixture({ cache: { ...route.cache, ttlMs: 200 } });
    await a.cache.store(await a.cache.lookup(alice, shortTtl, det('hi'), PRODUCERS), STABLE, {
      kind: 'body',
      body: BODY,
    });
    expect(await b.cache.lookup(alice, shortTtl, det('hi'), PRODUCERS)).toMatchObject({
      header: 'hit',
      response: { body: BODY },
    });
    expect((await b.cache.lookup(carol, shortTtl, det('hi'), PRODUCERS)).header).toBe('miss');
    await new Promise((r) => setTimeout(r, 300));
    expect((await b.cache.lookup(alice, shortTtl, det('hi'), PRODUCERS)).header).toBe('miss');
  });

  it('replays a stream entry from Redis byte-identically', async () => {
    const { cache } = makeCache(new RedisCacheStore(await client(), { prefix: 'c2', compress: true }));
    await cache.store(await cache.lookup(alice, route, det('s'), PRODUCERS), STABLE, {
      kind: 'stream',
      events: STREAM,
    });
    const hit = await cache.lookup(alice, route, det('s', { stream: true }), PRODUCERS);
    if (hit.result !== 'hit' || !hit.response.stream) throw new Error('expected a stream hit');
    expect(hit.response.events.join('')).toBe(STREAM.join(''));
  });

  it('answers miss, never an error, when Redis is down, and logs it once', async () => {
    const c = await client();
    const { cache, lines } = makeCache(new RedisCacheStore(c, { prefix: 'c3' }));
    server().pause();
    try {
      const miss = await cache.lookup(alice, route, det('down'), PRODUCERS);
      expect(miss.header).toBe('miss');
      expect(await cache.store(miss, STABLE, { kind: 'body', body: BODY })).toBe(false);
      expect((await cache.lookup(alice, route, det('down'), PRODUCERS)).header).toBe('miss');
    } finally {
      server().resume();
    }
    expect(lines.filter((l) => l.includes('Cache store unreachable'))).toHaveLength(1);
    await server().kill();
    expect((await cache.lookup(alice, route, det('down'), PRODUCERS)).header).toBe('miss');
    await server().restart();
  });

  it('measures hit latency (memory vs Redis) and the effect of compression', async () => {
    // ~9 KB of varied text (a fixed pseudo-random sequence of words): compresses like prose, not like a
    // repeated sentence.
    const words = ['model', 'gateway', 'token', 'the', 'of', 'latency', 'a', 'budget', 'route', 'cache'];
    let seed = 7;
    const content = Array.from({ length: 1400 }, () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return words[seed % 10]! + (seed % 7 === 0 ? `${seed % 1000}.` : '');
    }).join(' ');
    const body = JSON.stringify({
      ...JSON.parse(BODY),
      choices: [{ index: 0, message: { role: 'assistant', content } }],
    });
    const entry: CacheEntry = { kind: 'body', body };
    const stores: [string, CacheStore][] = [
      ['memory', new MemoryCacheStore({ clock: manualClock(), maxEntries: 10 })],
      ['redis raw', new RedisCacheStore(await client(), { prefix: 'm1', compress: false })],
      ['redis deflate', new RedisCacheStore(await client(), { prefix: 'm2', compress: true })],
    ];
    const report: string[] = [
      `entry ${body.length} B; deflate-raw level 1: ${encodeEntry(entry, true).length} B`,
    ];
    for (const [name, store] of stores) {
      const { cache } = makeCache(store);
      await cache.store(await cache.lookup(alice, route, det('m'), PRODUCERS), STABLE, entry);
      const n = 500;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await cache.lookup(alice, route, det('m'), PRODUCERS);
      const us = Number(process.hrtime.bigint() - t0) / 1000 / n;
      report.push(`${name}: ${us.toFixed(1)} µs per hit (incl. key hashing)`);
    }
    console.log(report.join('\n'));
    expect(decodeEntry(encodeEntry(entry, true))).toEqual(entry);
  });
});
