import type { Redis } from 'ioredis';
import { connectRedis, redisReady } from '../policy/redis.js';
import type { Caller } from '../policy/types.js';
import {
  backendFixture,
  captureLogger,
  chatRequest,
  manualClock,
  routeFixture,
} from '../../../testkit/policy-fixtures.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { GatewayMetrics } from '../server/metrics.js';
import { Limiter } from './limiter.js';
import { MemoryLimitStore } from './memory-store.js';
import { ResilientLimitStore, StoreUnavailableError } from './resilient-store.js';
import type { LimitStore } from './store.js';

const alice: Caller = { key: 'alice', team: 'red', anonymous: false };
const bob: Caller = { key: 'bob', team: 'red', anonymous: false };
const carol: Caller = { key: 'carol', anonymous: false };

let redisServer: TestRedis;
const clients: Redis[] = [];
const stores: ResilientLimitStore[] = [];
let seq = 0;

beforeAll(async () => {
  redisServer = await startRedis();
});
afterAll(async () => {
  for (const s of stores) s.close();
  for (const c of clients) c.disconnect();
  await redisServer.stop();
});

async function redisStore(failurePolicy: 'local' | 'closed' = 'local', clock = manualClock()) {
  const client = connectRedis(redisServer.url, { commandTimeoutMs: 200 });
  clients.push(client);
  await redisReady(client);
  const { logger, lines } = captureLogger();
  const { registry, redisUp: upGauge } = new GatewayMetrics();
  const store = new ResilientLimitStore(client, { failurePolicy, logger, clock, upGauge, probeMs: 50 });
  stores.push(store);
  return { store, lines, registry, client };
}

const factories: [string, () => Promise<LimitStore>][] = [
  ['memory', () => Promise.resolve(new MemoryLimitStore())],
  ['redis', async () => (await redisStore()).store],
];

describe.each(factories)('Limiter (%s store)', (_name, makeStore) => {
  let store: LimitStore;
  let clock: ReturnType<typeof manualClock>;
  let limiter: Limiter;
  beforeEach(async () => {
    store = await makeStore();
    clock = manualClock();
    limiter = new Limiter(store, { clock, prefix: `t${++seq}` });
  });

  it('refuses the request over requestsPerMinute with 429 rate_limit_exceeded and Retry-After', async () => {
    const route = routeFixture({ rateLimits: [{ per: 'api-key', requestsPerMinute: 3 }] });
    for (let i = 0; i < 3; i++) expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(true);
    const refused = await limiter.admit(alice, route, chatRequest('hi'));
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.refusal.status).toBe(429);
    expect(refused.refusal.error.code).toBe('rate_limit_exceeded');
    expect(refused.refusal.retryAfterSeconds).toBe(20);
    // Another key has its own allowance.
    expect((await limiter.admit(carol, route, chatRequest('hi'))).ok).toBe(true);
    clock.advance(20_000);
    expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(true);
    expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(false);
  });

  it('shares a team limit between the keys of a team, and not with a key without a team', async () => {
    const route = routeFixture({ rateLimits: [{ per: 'team', requestsPerMinute: 2 }] });
    expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(true);
    expect((await limiter.admit(bob, route, chatRequest('hi'))).ok).toBe(true);
    expect((await limiter.admit(bob, route, chatRequest('hi'))).ok).toBe(false);
    expect((await limiter.admit(carol, route, chatRequest('hi'))).ok).toBe(true);
  });

  it('charges tokensPerMinute with prompt + max_tokens and corrects at settle', async () => {
    const route = routeFixture({ rateLimits: [{ per: 'api-key', tokensPerMinute: 1000 }] });
    const req = chatRequest('hello', { max_tokens: 400 });
    const a = await limiter.admit(alice, route, req);
    const b = await limiter.admit(alice, route, req);
    expect(a.ok && b.ok).toBe(true);
    const c = await limiter.admit(alice, route, req);
    expect(c.ok).toBe(false);
    if (!a.ok || !b.ok || c.ok) return;
    expect(c.refusal.error.message).toContain('tokens per minute');
    // The two requests used 20 tokens each: the over-estimate is given back.
    const pricing = route.backends[0]!.pricing;
    await limiter.settle(a.ticket, { input: 10, output: 10 }, pricing);
    await limiter.settle(b.ticket, { input: 10, output: 10 }, pricing);
    expect((await limiter.admit(alice, route, req)).ok).toBe(true);
    expect((await limiter.admit(alice, route, req)).ok).toBe(true);
  });

  it('admits nothing and charges nothing when one of several limits refuses', async () => {
    const route = routeFixture({
      rateLimits: [
        { per: 'api-key', requestsPerMinute: 100 },
        { per: 'route', requestsPerMinute: 1 },
      ],
    });
    expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(true);
    for (let i = 0; i < 5; i++) expect((await limiter.admit(alice, route, chatRequest('hi'))).ok).toBe(false);
    // The refused attempts did not use alice's per-key allowance.
    const route2 = routeFixture({ rateLimits: [{ per: 'api-key', requestsPerMinute: 100 }] });
    expect((await limiter.admit(alice, route2, chatRequest('hi'))).ok).toBe(true);
  });

  it('keeps the strictest of two limits, and the lowest of two budgets, that share a counter', async () => {
    const limited = routeFixture({
      rateLimits: [
        { per: 'api-key', requestsPerMinute: 5 },
        { per: 'api-key', requestsPerMinute: 2 },
        { per: 'team', requestsPerMinute: 9 },
      ],
    });
    for (let i = 0; i < 2; i++)
      expect((await limiter.admit(alice, limited, chatRequest('hi'))).ok).toBe(true);
    const limitedOut = await limiter.admit(alice, limited, chatRequest('hi'));
    expect(limitedOut.ok || limitedOut.refusal.error.code).toBe('rate_limit_exceeded');

    // Worst case of each request: about $0.01 (1000 output tokens at $10/M).
    const budgeted = routeFixture({
      budgets: [
        { per: 'team', usd: 1, window: 'day', onExhausted: 'reject' },
        { per: 'api-key', usd: 1, window: 'day', onExhausted: 'reject' },
        { per: 'team', usd: 0.015, window: 'day', onExhausted: 'reject' },
      ],
    });
    const req = chatRequest('hi', { max_tokens: 1000 });
    expect((await limiter.admit(alice, budgeted, req)).ok).toBe(true);
    const refused = await limiter.admit(bob, budgeted, req);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    // The refusal names the first budget on the counter that refused.
    expect(refused.refusal.error.message).toContain('team on route');
    expect(refused.refusal.error.message).toContain('(1 USD per day)');
    // carol has no team: the team budget is her own counter.
    expect((await limiter.admit(carol, budgeted, req)).ok).toBe(true);
  });

  it('refuses a request whose worst case does not fit the budget with 429 budget_exceeded', async () => {
    // Worst case of a 1000-output-token request at $10/M output: $0.01 plus the prompt.
    const route = routeFixture({
      budgets: [{ per: 'api-key', usd: 0.025, window: 'day', onExhausted: 'reject' }],
    });
    const req = chatRequest('hi', { max_tokens: 1000 });
    expect((await limiter.admit(alice, route, req)).ok).toBe(true);
    expect((await limiter.admit(alice, route, req)).ok).toBe(true);
    const refused = await limiter.admit(alice, route, req);
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.refusal.status).toBe(429);
    expect(refused.refusal.error).toMatchObject({ code: 'budget_exceeded', type: 'insufficient_quota' });
    // Renews at the next UTC midnight: 12 hours after the clock's noon.
    expect(refused.refusal.retryAfterSeconds).toBe(12 * 3600);
    clock.advance(12 * 3600 * 1000);
    expect((await limiter.admit(alice, route, req)).ok).toBe(true);
  });

  it('pins the fallback backend, checked at its prices, when a fallback budget is exhausted', async () => {
    const route = routeFixture({
      backends: [
        backendFixture(),
        backendFixture({
          name: 'cheap',
          pricing: { inputPerMillionTokens: 0.1, outputPerMillionTokens: 0.4 },
        }),
      ],
      budgets: [
        { per: 'team', usd: 0.02, window: 'month', onExhausted: 'fallback', fallbackBackend: 'cheap' },
      ],
    });
    const req = chatRequest('hi', { max_tokens: 1000 });
    const first = await limiter.admit(alice, route, req);
    expect(first).toMatchObject({ ok: true });
    expect(first.ok && first.pinnedBackend).toBeFalsy();
    const second = await limiter.admit(bob, route, req);
    expect(second).toMatchObject({ ok: true, pinnedBackend: 'cheap' });
    if (!second.ok) return;
    expect(second.ticket.worstCaseUsd).toBeLessThan(0.001);
  });

  it('keeps overspend within one worst case under 50 concurrent admissions at the edge of a budget', async () => {
    const route = routeFixture({ budgets: [{ per: 'team', usd: 1, window: 'day', onExhausted: 'reject' }] });
    const req = chatRequest('How many tokens is this prompt?', { max_tokens: 2000 });
    const pricing = route.backends[0]!.pricing;
    // A second limiter on the same store = a second replica.
    const replicas = [limiter, new Limiter(store, { clock, prefix: `t${seq}` })];
    let spent = 0;
    let worst = 0;
    let admitted = 0;
    const client = async (i: number): Promise<void> => {
      for (;;) {
        const d = await replicas[i % 2]!.admit(i % 2 ? alice : bob, route, req);
        if (!d.ok) return;
        admitted++;
        worst = d.ticket.worstCaseUsd;
        await new Promise((r) => setImmediate(r));
        // Actual output between 60% and 100% of max_tokens (deterministic sequence), so admissions
        // keep racing settles right up to the edge.
        const output = 1200 + ((admitted * 7919) % 801);
        const usage = { input: d.ticket.promptTokens, output };
        // (Not `spent += await …`: that reads `spent` before the await and loses concurrent updates.)
        const cost = await replicas[i % 2]!.settle(d.ticket, usage, pricing);
        spent += cost;
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => client(i)));
    const overspend = spent - 1;
    console.log(
      `budget $1, worst case $${worst.toFixed(6)}: ${admitted} admitted, spent $${spent.toFixed(6)}, ` +
        `overspend $${overspend.toFixed(6)} (${(overspend / worst).toFixed(3)} worst cases)`,
    );
    expect(admitted).toBeGreaterThan(50);
    expect(overspend).toBeLessThanOrEqual(worst);
    expect(spent).toBeGreaterThan(1 - worst);
  });
});

describe('Limiter answers', () => {
  const route = routeFixture({
    rateLimits: [{ per: 'api-key', requestsPerMinute: 1, tokensPerMinute: 100_000 }],
    budgets: [{ per: 'api-key', usd: 1, window: 'day', onExhausted: 'reject' }],
  });
  const pricing = route.backends[0]!.pricing;

  it('at once on a store in memory: admission, refusal and settle without a promise', () => {
    const limiter = new Limiter(new MemoryLimitStore(), { clock: manualClock(), prefix: 'sync' });
    const admitted = limiter.admit(alice, route, chatRequest('hi'));
    if (admitted instanceof Promise || !admitted.ok) throw new Error('expected an admission, at once');
    const refused = limiter.admit(alice, route, chatRequest('hi'));
    expect(refused).toMatchObject({ ok: false, refusal: { status: 429 } });
    const cost = limiter.settle(admitted.ticket, { input: 10, output: 10 }, pricing);
    expect(cost).toBeCloseTo(
      (10 * pricing.inputPerMillionTokens + 10 * pricing.outputPerMillionTokens) / 1e6,
    );
  });

  it('through a promise on a store that answers later, with the same decisions', async () => {
    const memory = new MemoryLimitStore();
    const later: LimitStore = {
      reserve: (req, now) => new Promise((r) => setImmediate(() => r(memory.reserve(req, now)))),
      adjust: (req, now) => new Promise((r) => setImmediate(() => r(memory.adjust(req, now)))),
    };
    const limiter = new Limiter(later, { clock: manualClock(), prefix: 'async' });
    const admitted = limiter.admit(alice, route, chatRequest('hi'));
    expect(admitted).toBeInstanceOf(Promise);
    const d = await admitted;
    if (!d.ok) throw new Error('expected an admission');
    expect(await limiter.admit(alice, route, chatRequest('hi'))).toMatchObject({ ok: false });
    const settled = limiter.settle(d.ticket, { input: 10, output: 10 }, pricing);
    expect(settled).toBeInstanceOf(Promise);
    expect(await settled).toBeGreaterThan(0);
  });

  it('503 limiter_unavailable when the store is down at once or later; any other error is thrown', async () => {
    const down = (how: 'now' | 'later', err: Error): LimitStore => ({
      reserve: () => {
        if (how === 'now') throw err;
        return Promise.reject(err);
      },
      adjust: () => undefined,
    });
    for (const how of ['now', 'later'] as const) {
      const limiter = new Limiter(down(how, new StoreUnavailableError()), {
        clock: manualClock(),
        prefix: how,
      });
      const d = await limiter.admit(alice, route, chatRequest('hi'));
      expect(d).toMatchObject({
        ok: false,
        refusal: { status: 503, error: { code: 'limiter_unavailable' } },
      });
      const buggy = new Limiter(down(how, new Error('bug')), { clock: manualClock(), prefix: how });
      await expect(
        Promise.resolve().then(() => buggy.admit(alice, route, chatRequest('hi'))),
      ).rejects.toThrow('bug');
    }
  });
});
