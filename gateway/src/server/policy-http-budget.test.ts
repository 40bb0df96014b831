// Policy acceptance over real HTTP, part 2: budgets under concurrency (overspend measured from the
// settled costs in beastmode_caller_cost_usd_total, in memory and with two replicas sharing Redis), the
// onExhausted: fallback budget moving traffic to the cheaper backend, and a Redis outage mid-traffic
// (failurePolicy local keeps serving and keeps limiting; closed answers 503; shared enforcement resumes).
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { costUsd, estimatePromptTokens } from '../accounting/tokens.js';
import { worstPricing } from '../limits/limiter.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import {
  chat,
  eventually,
  metricSum,
  sleep,
  startPolicyGateway,
  statusOf,
  type PolicyGateway,
} from '../../../testkit/policy-http.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';

let premium: Simulator;
let cheap: Simulator;
let redis: TestRedis;

beforeAll(async () => {
  // Latency keeps each wave's 50 requests in flight together.
  premium = await startSimulator({ faults: { latencyMs: 50 } });
  cheap = await startSimulator();
  redis = await startRedis();
});

afterAll(async () => {
  await redis?.stop();
  await premium?.close();
  await cheap?.close();
});

const PREMIUM_PRICING = { inputPerMillionTokens: 1000, outputPerMillionTokens: 2000 };
const BUDGET_USD = 1;
const MAX_TOKENS = 40;

function budgetRoutes() {
  return [
    compiledRoute('budget', [{ name: 'premium', url: `${premium.url}/v1`, pricing: PREMIUM_PRICING }], {
      budgets: [{ per: 'api-key', usd: BUDGET_USD, window: 'day', onExhausted: 'reject' }],
    }),
    compiledRoute(
      'fallback',
      [
        { name: 'premium', url: `${premium.url}/v1`, pricing: PREMIUM_PRICING, weight: 1 },
        {
          name: 'cheap',
          url: `${cheap.url}/v1`,
          pricing: { inputPerMillionTokens: 0, outputPerMillionTokens: 0 },
          weight: 0,
        },
      ],
      {
        budgets: [
          { per: 'api-key', usd: 0.2, window: 'day', onExhausted: 'fallback', fallbackBackend: 'cheap' },
        ],
      },
    ),
  ];
}

describe.each([
  ['memory (one replica)', false],
  ['Redis (two replicas)', true],
])('budgets, %s', (_label, withRedis) => {
  let gws: PolicyGateway[] = [];

  beforeAll(async () => {
    const routes = budgetRoutes();
    const opts = { routes, ...(withRedis ? { redisUrl: redis.url } : {}) };
    gws = withRedis
      ? [await startPolicyGateway(opts), await startPolicyGateway(opts)]
      : [await startPolicyGateway(opts)];
  });

  afterAll(async () => {
    for (const g of gws) await g.close();
    await redis.restart(); // empty Redis for the next suite
  });

  test('50 concurrent requests at the edge of a budget overspend at most one worst case', async () => {
    const clients = gws.map((g) => g.client('unused'));
    const ask = (i: number) => ({ ...chat(`budget probe ${i}`), model: 'budget', max_tokens: MAX_TOKENS });
    const worst = costUsd(
      { input: estimatePromptTokens(ask(100)), output: MAX_TOKENS },
      worstPricing(budgetRoutes()[0]!.backends),
    );
    let admitted = 0;
    let clientSideCost = 0;
    // Waves of 50 concurrent requests until a wave admits none: the last waves run at the budget's edge.
    for (let wave = 0, n = 0; wave < 40; wave++) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          clients[i % clients.length]!.chat.completions.create(ask(n++)).then(
            (r) => r,
            (e: unknown) => e,
          ),
        ),
      );
      let ok = 0;
      for (const r of results) {
        if (r instanceof OpenAI.APIError) {
          expect(r).toBeInstanceOf(OpenAI.RateLimitError);
          expect(r.code).toBe('budget_exceeded');
          expect(r.type).toBe('insufficient_quota');
          const headers = (r as InstanceType<typeof OpenAI.RateLimitError>).headers;
          expect(Number(headers.get('retry-after'))).toBeGreaterThan(0);
          continue;
        }
        const c = r as OpenAI.ChatCompletion;
        ok++;
        clientSideCost += costUsd(
          { input: c.usage?.prompt_tokens ?? 0, output: c.usage?.completion_tokens ?? 0 },
          PREMIUM_PRICING,
        );
      }
      admitted += ok;
      if (ok === 0) break;
    }
    // The settled cost as the gateways account it (summed over replicas), once every settle has run.
    const settled = async () => {
      let sum = 0;
      for (const g of gws)
        sum += await metricSum(g.gw, 'beastmode_caller_cost_usd_total', { key: 'anonymous' });
      return sum;
    };
    const spent = await eventually(async () => {
      const s = await settled();
      return Math.abs(s - clientSideCost) < 1e-9 ? s : undefined;
    });
    const overspend = spent - BUDGET_USD;
    process.stdout.write(
      `budget ${withRedis ? 'redis x2' : 'memory'}: budget $${BUDGET_USD}, worst case $${worst.toFixed(6)}, ` +
        `${admitted} admitted, spent $${spent.toFixed(6)}, overspend $${overspend.toFixed(6)}\n`,
    );
    expect(admitted).toBeGreaterThan(10);
    expect(overspend).toBeLessThanOrEqual(worst);
    // And the budget was really used up to its edge: less than one worst case left.
    expect(BUDGET_USD - spent).toBeLessThan(worst);
  });

  test('onExhausted: fallback moves traffic to the cheaper backend instead of refusing', async () => {
    const clients = gws.map((g) => g.client('unused'));
    const backends: string[] = [];
    for (let i = 0; i < 16; i++) {
      const r = await clients[i % clients.length]!.chat.completions.create({
        ...chat(`fallback ${i}`),
        model: 'fallback',
        max_tokens: MAX_TOKENS,
      }).withResponse();
      backends.push(r.response.headers.get(HEADERS.backend) ?? '');
    }
    // Premium first, then (budget exhausted) the cheap backend only; nothing refused.
    expect(backends[0]).toBe('premium');
    const firstCheap = backends.indexOf('cheap');
    expect(firstCheap).toBeGreaterThan(0);
    expect(backends.slice(firstCheap).every((b) => b === 'cheap')).toBe(true);
    // All 16 answered (withResponse throws on a refusal).
    expect(backends).toHaveLength(16);
  });
});

describe('Redis outage over HTTP', () => {
  let local: PolicyGateway;
  let closed: PolicyGateway;

  beforeAll(async () => {
    const routes = [
      compiledRoute('limited', [{ name: 'primary', url: `${cheap.url}/v1` }], {
        rateLimits: [{ per: 'route', requestsPerMinute: 10 }],
      }),
      compiledRoute('open', [{ name: 'primary', url: `${cheap.url}/v1` }]),
    ];
    local = await startPolicyGateway({ routes, redisUrl: redis.url, failurePolicy: 'local' });
    closed = await startPolicyGateway({ routes, redisUrl: redis.url, failurePolicy: 'closed' });
  });

  afterAll(async () => {
    await local?.close();
    await closed?.close();
  });

  const up = (g: PolicyGateway) => metricSum(g.gw, 'beastmode_redis_up', { component: 'limits' });

  test('local keeps serving and limiting, closed answers 503, shared enforcement resumes', async () => {
    const lc = local.client('unused');
    const cc = closed.client('unused');
    const limited = (c: OpenAI, i: number) =>
      statusOf(c.chat.completions.create({ ...chat(`l ${i}`), model: 'limited' }));
    const open = (c: OpenAI, i: number) =>
      statusOf(c.chat.completions.create({ ...chat(`o ${i}`), model: 'open' }));

    // Before: 4 requests through both replicas, counted in Redis.
    expect(await Promise.all([0, 1, 2, 3].map((i) => limited(i % 2 ? cc : lc, i)))).toEqual([
      200, 200, 200, 200,
    ]);

    // Traffic keeps flowing while Redis is killed.
    let stopTraffic = false;
    const during: number[] = [];
    const traffic = (async () => {
      for (let i = 0; !stopTraffic; i++) {
        during.push(await open(lc, i));
        await sleep(10);
      }
    })();
    await sleep(100);
    await redis.kill();
    await sleep(400);

    // failurePolicy local: served, and the limit still holds (per replica, from a fresh local counter).
    const localStatuses = await Promise.all(Array.from({ length: 25 }, (_, i) => limited(lc, 100 + i)));
    const ok = localStatuses.filter((s) => s === 200).length;
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThanOrEqual(10);
    expect(localStatuses.filter((s) => s === 429)).toHaveLength(25 - ok);
    expect(await up(local)).toBe(0);

    // failurePolicy closed: limited requests get 503 limiter_unavailable; routes without limits are served.
    const err = await closed
      .client('unused')
      .chat.completions.create({ ...chat('closed'), model: 'limited' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const e = err as InstanceType<typeof OpenAI.InternalServerError>;
    expect(e.status).toBe(503);
    expect(e.code).toBe('limiter_unavailable');
    expect(e.headers.get('retry-after')).toBe('1');
    expect(await open(cc, 1)).toBe(200);

    stopTraffic = true;
    await traffic;
    expect(during.length).toBeGreaterThan(5);
    expect(during.every((s) => s === 200)).toBe(true);

    // Redis back (empty): both replicas switch back and share one counter again.
    await redis.restart();
    await eventually(async () => (await up(local)) === 1 && (await up(closed)) === 1, 15_000, 100);
    const shared = await Promise.all(Array.from({ length: 16 }, (_, i) => limited(i % 2 ? cc : lc, 200 + i)));
    expect(shared.filter((s) => s === 200)).toHaveLength(10);
    expect(shared.filter((s) => s === 429)).toHaveLength(6);
  });
});
