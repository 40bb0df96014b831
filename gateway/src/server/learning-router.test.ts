// The learning router and domain routes over real HTTP, with the official openai client and simulator
// backends: feedback scores on answers move the learner's plan, failures count against the backend that
// failed, every decision says why (header, metrics, /admin/router), a reset forgets, domain routes send a
// domain's prompts to their backend, and replicas share what they learnt through Redis.
import { jest } from '@jest/globals';
import OpenAI from 'openai';
import { HEADERS, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { redisForSuite } from '../../../testkit/redis-suite.js';
import { MemoryLearnerStore, RedisLearnerStore } from '../routing/learner-store.js';
import type { LearnerState } from '../routing/route-learners.js';
import { runRouter } from '../routing/router-cli.js';
import { bundledRouterModel, thresholdFor, weakSuffices } from '../routing/router-model.js';
import { seededRandom } from '../routing/seeded-random.js';
import { startGateway, type Gateway } from './gateway.js';

const servers = new TestServers();
afterEach(() => servers.close());

function learningRoute(strong: string, weak: string, exploration = 0.1): CompiledRoute {
  return qualityCostRoute(
    { strong: `${strong}/v1`, weak: `${weak}/v1` },
    { targetQuality: 0.95, learning: { exploration, goodScore: 0.5 } },
    {
      fallback: { on: ['5xx', 'connect-error'], maxAttempts: 2 },
      retry: { attempts: 0, backoffMs: 0, maxBackoffMs: 0, maxRetryAfterMs: 0 },
    },
  );
}

async function gatewayFor(routes: CompiledRoute[], extra: Parameters<typeof startGateway>[0]['policy'] = {}) {
  return servers.adopt(
    await startGateway({
      source: { config: gatewayConfig(routes) },
      logger: silent,
      random: seededRandom(7),
      learnerSyncMs: 0,
      policy: extra,
    }),
  );
}

/** Prompts the static router sends to the strong backend (checked: the test would prove little otherwise). */
function hardPrompts(n: number): string[] {
  const model = bundledRouterModel();
  const t = thresholdFor(model, 0.95);
  const prompts = Array.from(
    { length: n },
    (_, i) =>
      `Let f(x) = ${i + 3}x^2 + ${2 * i + 1}x - ${i + 5}. Find all real x such that f(f(x)) = 0, and prove there are no others.`,
  );
  for (const p of prompts) expect(weakSuffices(model, `${p}\n`)).toBeLessThan(t);
  return prompts;
}

const stateOf = async (g: Gateway): Promise<LearnerState> =>
  (await (await fetch(`${g.url}/admin/router/default/chat`)).json()) as LearnerState;

async function metricLines(g: Gateway, name: string): Promise<string[]> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(`${name}{`));
}

/** Sends the prompts, scores every answer `score(backend)`; returns the backends that answered. */
async function traffic(g: Gateway, prompts: string[], score: (backend: string) => number): Promise<string[]> {
  const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
  const served: string[] = [];
  for (const content of prompts) {
    const { data, response } = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content }] })
      .withResponse();
    const backend = response.headers.get(HEADERS.backend) ?? '?';
    expect(response.headers.get(HEADERS.routeReason)).toMatch(/^quality-cost: (static|learned|explore) /);
    served.push(backend);
    const id = response.headers.get(HEADERS.requestId) ?? data.id;
    await client.post('/feedback', { body: { request_id: id, score: score(backend) } });
  }
  return served;
}

const share = (xs: string[], v: string) => xs.filter((x) => x === v).length / xs.length;

describe('learning router', () => {
  test('good feedback on the weak backend moves the plan to it; the state, metrics and reset say so', async () => {
    const strong = await servers.sim();
    const weak = await servers.sim();
    const g = await gatewayFor([learningRoute(strong.url, weak.url)]);
    const served = await traffic(g, hardPrompts(240), () => 1);
    // At first the static router decides (strong), but for exploration; by the end the plan is weak.
    expect(share(served.slice(0, 30), 'weak')).toBeLessThanOrEqual(0.25);
    expect(share(served.slice(-60), 'weak')).toBeGreaterThanOrEqual(0.8);
    const state = await stateOf(g);
    expect(state.summary.outcomes).toBe(240);
    expect(state.summary.plannedWeakShare).toBeGreaterThan(0.9);
    expect(state.cells.length).toBeGreaterThan(0);
    const outcomes = await metricLines(g, 'beastmode_router_outcomes_total');
    expect(outcomes.some((l) => l.includes('arm="weak"') && l.includes('outcome="good"'))).toBe(true);
    const decisions = await metricLines(g, 'beastmode_router_decisions_total');
    expect(decisions.some((l) => l.includes('via="learned"') && l.includes('backend="weak"'))).toBe(true);
    expect(await metricLines(g, 'beastmode_router_learned_weak_share')).toHaveLength(1);
    expect(await metricLines(g, 'beastmode_router_model_info')).toEqual(
      expect.arrayContaining([expect.stringContaining('kind="quality-cost",version="v1"')]),
    );
    // `beastmode router state` prints the same; `reset` (from loopback, as kubectl port-forward arrives)
    // forgets it all.
    const writes: string[] = [];
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((t) => {
      writes.push(String(t));
      return true;
    });
    try {
      expect(await runRouter(['state', '--gateway', g.url], {})).toBe(0);
      expect(JSON.parse(writes.at(-1) ?? '{}')).toEqual({
        routes: [expect.objectContaining({ route: 'default/chat', outcomes: 240 })],
      });
      expect(await runRouter(['reset', '--gateway', g.url, '--route', 'default/chat'], {})).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect((await stateOf(g)).summary.outcomes).toBe(0);
    expect((await fetch(`${g.url}/admin/router/default/nope`)).status).toBe(404);
  }, 60_000);

  test('bad feedback on the weak backend keeps the plan strong', async () => {
    const strong = await servers.sim();
    const weak = await servers.sim();
    const g = await gatewayFor([learningRoute(strong.url, weak.url)]);
    const served = await traffic(g, hardPrompts(200), (b) => (b === 'weak' ? 0 : 1));
    expect(share(served.slice(-80), 'weak')).toBeLessThanOrEqual(0.15);
    expect((await stateOf(g)).summary.plannedWeakShare ?? 0).toBeLessThan(0.1);
  }, 60_000);

  test('a failure of the backend the learner chose counts against it, the fallback still answers', async () => {
    const strong = await servers.sim();
    const weak = await servers.sim({ faults: { errorRate: 1, errorStatus: 503 } });
    const g = await gatewayFor([learningRoute(strong.url, weak.url, 0.05)]);
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
    for (const content of hardPrompts(200)) {
      const { response } = await client.chat.completions
        .create({ model: 'chat', messages: [{ role: 'user', content }] })
        .withResponse();
      expect(response.headers.get(HEADERS.backend)).toBe('strong');
    }
    const failed = (await metricLines(g, 'beastmode_router_outcomes_total')).filter((l) =>
      l.includes('outcome="failed"'),
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toContain('arm="weak"');
    const state = await stateOf(g);
    const weakOutcomes = state.cells.reduce((n, c) => n + c.outcomes.weak.n, 0);
    expect(weak.stats().requests).toBeGreaterThan(0);
    expect(weakOutcomes).toBe(weak.stats().requests);
    expect(state.cells.reduce((n, c) => n + c.outcomes.weak.good, 0)).toBe(0);
  }, 60_000);
});

describe('domain routes', () => {
  test("a domain's prompts go to its backend first, the rest by the route's policy", async () => {
    const general = await servers.sim();
    const coder = await servers.sim();
    const route = compiledRoute(
      'chat',
      [
        { name: 'general', url: `${general.url}/v1` },
        { name: 'coder', url: `${coder.url}/v1`, weight: 0 },
      ],
      {
        selection: {
          policy: 'weighted',
          stickiness: 'none',
          domains: [{ domains: ['code'], backend: 'coder', minConfidence: 0.3 }],
        },
      },
    );
    const g = await gatewayFor([route]);
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
    const ask = async (content: string) => {
      const { response } = await client.chat.completions
        .create({ model: 'chat', messages: [{ role: 'user', content }] })
        .withResponse();
      return [response.headers.get(HEADERS.backend), response.headers.get(HEADERS.routeReason)];
    };
    const [codeBackend, codeReason] = await ask(
      'Why does my Python function return None instead of the list I build in the loop?',
    );
    expect(codeBackend).toBe('coder');
    expect(codeReason).toMatch(/^domain code \(0\.\d\d\) -> coder$/);
    const [chatBackend, chatReason] = await ask('Write a short poem about autumn rain on a tin roof');
    expect(chatBackend).toBe('general');
    expect(chatReason).toBe('weighted: general');
    const decisions = await metricLines(g, 'beastmode_router_decisions_total');
    expect(decisions).toEqual([expect.stringContaining('backend="coder",via="domain"')]);
  });
});

describe('shared learning', () => {
  const redis = redisForSuite(500);

  test('the Redis store adds replicas’ counts and forgets them on clear', async () => {
    const store = new RedisLearnerStore(await redis.client());
    const cell = (n: number) => ({
      requests: n,
      pSum: n / 2,
      staticLoss: 0,
      weak: { n, good: n - 1 },
      strong: { n: 1, good: 1 },
    });
    await store.exchange('k', { 'code#1': cell(3) });
    const both = await store.exchange('k', { 'code#1': cell(2), 'math#0': cell(5) });
    expect(both).toEqual({
      'code#1': { requests: 5, pSum: 2.5, staticLoss: 0, weak: { n: 5, good: 3 }, strong: { n: 2, good: 2 } },
      'math#0': cell(5),
    });
    const memory = new MemoryLearnerStore();
    await memory.exchange('k', { 'code#1': cell(3) });
    expect(await memory.exchange('k', { 'code#1': cell(2), 'math#0': cell(5) })).toEqual(both);
    await store.clear('k');
    expect(await store.exchange('k', {})).toEqual({});
  });

  test('a second replica plans from what the first learnt, and a restarted one starts from it', async () => {
    const strong = await servers.sim();
    const weak = await servers.sim();
    const client = await redis.client();
    const start = () =>
      startGateway({
        source: { config: gatewayConfig([learningRoute(strong.url, weak.url)]) },
        logger: silent,
        random: seededRandom(3),
        learnerSyncMs: 0,
        policy: { redis: client },
      });
    const a = servers.adopt(await start());
    const b = servers.adopt(await start());
    await traffic(a, hardPrompts(120), () => 1);
    await a.state.learners.sync();
    await b.state.learners.sync();
    const seen = (await stateOf(b)).summary.outcomes;
    expect(seen).toBe(120);
    // The same counts, the same plan.
    const planned = (await stateOf(a)).summary.plannedWeakShare;
    expect(planned).toBeGreaterThan(0);
    expect((await stateOf(b)).summary.plannedWeakShare).toBeCloseTo(planned ?? -1, 6);
    await a.close(1000);
    const restarted = servers.adopt(await start());
    await restarted.state.learners.sync();
    expect((await stateOf(restarted)).summary.outcomes).toBe(120);
  }, 60_000);
});
