import type { Redis } from 'ioredis';
import { connectRedis, redisReady } from '../policy/redis.js';
import type { Caller } from '../policy/types.js';
import { captureLogger, chatRequest, manualClock, routeFixture } from '../../../testkit/policy-fixtures.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { GatewayMetrics } from '../server/metrics.js';
import { Limiter } from './limiter.js';
import { ResilientLimitStore, type FailurePolicy } from './resilient-store.js';

const alice: Caller = { key: 'alice', team: 'red', anonymous: false };
const route = routeFixture({ rateLimits: [{ per: 'api-key', requestsPerMinute: 3 }] });

let redisServer: TestRedis;
const clients: Redis[] = [];
const stores: ResilientLimitStore[] = [];
let seq = 0;

beforeEach(async () => {
  redisServer = await startRedis();
});
afterEach(async () => {
  for (const s of stores.splice(0)) s.close();
  for (const c of clients.splice(0)) c.disconnect();
  await redisServer.stop();
});

async function replica(failurePolicy: FailurePolicy, clock: ReturnType<typeof manualClock>, prefix: string) {
  const client = connectRedis(redisServer.url, { commandTimeoutMs: 150 });
  clients.push(client);
  await redisReady(client);
  const { logger, lines } = captureLogger();
  const { registry, redisUp: upGauge } = new GatewayMetrics();
  const store = new ResilientLimitStore(client, { failurePolicy, logger, clock, upGauge, probeMs: 50 });
  stores.push(store);
  const limiter = new Limiter(store, { clock, prefix });
  const up = async () => (await registry.getSingleMetricAsString('beastmode_redis_up')).split('\n').pop();
  return { limiter, store, lines, up };
}

async function admitted(limiter: Limiter, n: number, caller = alice): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) if ((await limiter.admit(caller, route, chatRequest('hi'))).ok) ok++;
  return ok;
}

async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

it('shares limits across two replicas on one Redis', async () => {
  const clock = manualClock();
  const prefix = `o${++seq}`;
  const a = await replica('local', clock, prefix);
  const b = await replica('local', clock, prefix);
  expect(await admitted(a.limiter, 2)).toBe(2);
  expect(await admitted(b.limiter, 5)).toBe(1);
  expect(await admitted(a.limiter, 1)).toBe(0);
});

it('keeps limiting per replica when Redis dies under failurePolicy local, logs once, and recovers', async () => {
  const clock = manualClock();
  const r = await replica('local', clock, `o${++seq}`);
  expect(await admitted(r.limiter, 1)).toBe(1);
  await redisServer.kill();
  // Local enforcement: the same 3/min, counted on this replica only.
  expect(await admitted(r.limiter, 10)).toBe(3);
  expect(r.store.isHealthy).toBe(false);
  expect(await r.up()).toContain('beastmode_redis_up{component="limits"} 0');
  expect(r.lines.filter((l) => l.includes('Redis unreachable'))).toHaveLength(1);
  await redisServer.restart();
  await until(() => r.store.isHealthy);
  expect(await r.up()).toContain('beastmode_redis_up{component="limits"} 1');
  expect(r.lines.filter((l) => l.includes('Redis reachable again'))).toHaveLength(1);
  // A fresh Redis (no persistence) starts empty: shared limiting resumes from zero.
  clock.advance(60_000);
  expect(await admitted(r.limiter, 10)).toBe(3);
});

it('refuses limited requests with 503 under failurePolicy closed, and admits again after recovery', async () => {
  const clock = manualClock();
  const r = await replica('closed', clock, `o${++seq}`);
  await redisServer.kill();
  const d = await r.limiter.admit(alice, route, chatRequest('hi'));
  expect(d.ok).toBe(false);
  if (d.ok) return;
  expect(d.refusal.status).toBe(503);
  expect(d.refusal.error.code).toBe('limiter_unavailable');
  // A route without limits is not affected.
  expect((await r.limiter.admit(alice, routeFixture(), chatRequest('hi'))).ok).toBe(true);
  await redisServer.restart();
  await until(() => r.store.isHealthy);
  expect(await admitted(r.limiter, 5)).toBe(3);
});

it('treats a hung Redis (paused) as down after the command timeout, and recovers when it resumes', async () => {
  const clock = manualClock();
  const r = await replica('local', clock, `o${++seq}`);
  redisServer.pause();
  const t0 = Date.now();
  expect(await admitted(r.limiter, 5)).toBe(3);
  // Only the first request waited for the timeout; the rest went local at once.
  expect(Date.now() - t0).toBeLessThan(1000);
  redisServer.resume();
  await until(() => r.store.isHealthy);
});

it('carries budget spend across an outage: seeded from Redis, replayed into Redis on recovery', async () => {
  const clock = manualClock();
  const budgetRoute = routeFixture({
    budgets: [{ per: 'api-key', usd: 0.1, window: 'day', onExhausted: 'reject' }],
  });
  const prefix = `o${++seq}`;
  const a = await replica('local', clock, prefix);
  const req = chatRequest('hi', { max_tokens: 1000 }); // worst case just over $0.01
  const pricing = budgetRoute.backends[0]!.pricing;
  const spend = async (l: Limiter): Promise<boolean> => {
    const d = await l.admit(alice, budgetRoute, req);
    if (d.ok) await l.settle(d.ticket, { input: 10, output: 1000 }, pricing);
    return d.ok;
  };
  for (let i = 0; i < 4; i++) expect(await spend(a.limiter)).toBe(true); // ~$0.04 in Redis
  redisServer.pause();
  // Locally, the replica starts from the $0.04 it last saw, so it stops near $0.1, not $0.14.
  let local = 0;
  while (await spend(a.limiter)) local++;
  expect(local).toBeGreaterThanOrEqual(4);
  expect(local).toBeLessThanOrEqual(6);
  redisServer.resume();
  await until(() => a.store.isHealthy);
  // After recovery another replica sees the spend made during the outage.
  const b = await replica('local', clock, prefix);
  expect(await spend(b.limiter)).toBe(false);
});
