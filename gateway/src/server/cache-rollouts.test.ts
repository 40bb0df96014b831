// Cached answers follow rollouts, over real HTTP: two gateway replicas share a real redis-server, as a
// Deployment with a Redis cache does; simulators stand in for the stable version, a bad canary and the next
// version (each answers with its own model name, so a response says who produced it); every config is
// applied to both replicas, as the operator's ConfigMap is. Users are placed in or out of the canary cohort
// by the same sticky hash the gateway uses.
import type { Redis } from 'ioredis';
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, type BackendSketch } from '../../../testkit/gateway-config.js';
import { captureLogger } from '../../../testkit/policy-fixtures.js';
import {
  chat,
  metricSum,
  policyConfig,
  sleep,
  startPolicyGateway,
  type PolicyGateway,
} from '../../../testkit/policy-http.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { producerOf } from '../cache/producer.js';
import { connectRedis, redisReady } from '../policy/redis.js';
import { isCanaryRequest } from '../routing/canary.js';
import { bucketOf } from '../routing/hash.js';

let stableSim: Simulator;
let badSim: Simulator;
let nextSim: Simulator;
let redis: TestRedis;
let inspect: Redis;
const replicas: { g: PolicyGateway; lines: string[] }[] = [];

const CACHE: CompiledRoute['cache'] = {
  mode: 'exact',
  ttlMs: 60_000,
  scope: 'route',
  cacheNonDeterministic: false,
};
const KEEP: CompiledRoute['cache'] = { ...CACHE, keepAcrossRevisions: true };

const main = (sim: Simulator, model: string, variant: 'stable' | 'canary' = 'stable'): BackendSketch => ({
  name: 'main',
  url: `${sim.url}/v1`,
  model,
  variant,
});
const stableRoute = (model = 'chat', cache = CACHE) =>
  compiledRoute(model, [main(stableSim, 'm-stable')], { cache });
const rolloutRoute = (model = 'chat', cache = CACHE, candidate = main(badSim, 'm-bad', 'canary')) =>
  compiledRoute(model, [main(stableSim, 'm-stable'), candidate], {
    cache,
    canary: { backend: 'main', weight: 50, revision: `rev-${candidate.model}` },
  });
const promotedRoute = (model = 'chat', cache = CACHE) =>
  compiledRoute(model, [main(nextSim, 'm-next')], { cache });

/** Applies one config to both replicas, as both watch the same ConfigMap. */
function apply(routes: CompiledRoute[]): void {
  const config = policyConfig({ routes, redisUrl: redis.url, logLevel: 'info' });
  for (const { g } of replicas) expect(g.gw.state.store.apply(config, 'test')).not.toBe('refused');
}

/** Users in (or out of) the canary cohort of the rollout, by the gateway's own sticky assignment. */
function cohort(inCanary: boolean, n: number): string[] {
  const route = rolloutRoute();
  const users: string[] = [];
  for (let i = 0; users.length < n; i++) {
    const identity = `user-${i}`;
    if (isCanaryRequest(route, { identity, headers: {} }) === inCanary) users.push(identity);
  }
  return users;
}
let stableUsers: string[] = [];
let canaryUsers: string[] = [];

interface Answer {
  status: number;
  cache: string | null;
  backend: string | null;
  variant: string | null;
  requestId: string | null;
  model: string | undefined;
}

/** One deterministic request from `user`; `model` is the answer's (the producing version's) model name. */
async function ask(
  g: PolicyGateway,
  user: string,
  content: string,
  extra: Record<string, unknown> = {},
): Promise<Answer> {
  const r = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [HEADERS.user]: user },
    body: JSON.stringify(chat(content, { temperature: 0, ...extra })),
  });
  const text = await r.text();
  const first =
    extra.stream === true
      ? text
          .split('\n\n')
          .find((f) => f.startsWith('data: {'))
          ?.slice(6)
      : text;
  return {
    status: r.status,
    cache: r.headers.get(HEADERS.cache),
    backend: r.headers.get(HEADERS.backend),
    variant: r.headers.get(HEADERS.variant),
    requestId: r.headers.get(HEADERS.requestId),
    model: r.ok && first !== undefined ? (JSON.parse(first) as { model?: string }).model : undefined,
  };
}

// Stores run after the response is sent (a stream's after its last frame): give them a moment.
const settle = () => sleep(100);
const g1 = () => replicas[0]!.g;
const g2 = () => replicas[1]!.g;

/** The number of feedback scores a replica observed for a backend variant. */
async function scoresCounted(g: PolicyGateway, backend: string, variant: string): Promise<number> {
  const text = await g.gw.state.metrics.registry.getSingleMetricAsString('beastmode_feedback_score');
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('beastmode_feedback_score_count{') &&
        l.includes(`backend="${backend}"`) &&
        l.includes(`variant="${variant}"`),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function feedback(g: PolicyGateway, requestId: string, score: number): Promise<number> {
  const r = await fetch(`${g.url}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: requestId, score }),
  });
  return r.status;
}

beforeAll(async () => {
  stableSim = await startSimulator();
  badSim = await startSimulator();
  nextSim = await startSimulator();
  redis = await startRedis();
  inspect = connectRedis(redis.url);
  await redisReady(inspect);
  stableUsers = cohort(false, 2);
  canaryUsers = cohort(true, 2);
  for (let i = 0; i < 2; i++) {
    const { logger, lines } = captureLogger();
    const g = await startPolicyGateway({
      routes: [stableRoute()],
      redisUrl: redis.url,
      logger,
      logLevel: 'info',
    });
    replicas.push({ g, lines });
  }
});

afterAll(async () => {
  for (const { g } of replicas) await g.close();
  inspect?.disconnect();
  await redis?.stop();
  for (const s of [stableSim, badSim, nextSim]) await s?.close();
});

describe('cache across rollouts (two replicas, Redis)', () => {
  test('cache: canary-cohort and stable users never share an entry during a rollout', async () => {
    apply([rolloutRoute()]);
    const [s1, s2] = stableUsers as [string, string];
    const [c1, c2] = canaryUsers as [string, string];
    const bad = badSim.stats().requests;
    const stable = stableSim.stats().requests;
    expect(await ask(g1(), s1, 'share')).toMatchObject({
      cache: 'miss',
      variant: 'stable',
      model: 'm-stable',
    });
    await settle();
    expect(await ask(g2(), c1, 'share')).toMatchObject({ cache: 'miss', variant: 'canary', model: 'm-bad' });
    await settle();
    expect(await ask(g2(), s2, 'share')).toMatchObject({
      cache: 'hit',
      backend: 'main',
      variant: 'stable',
      model: 'm-stable',
    });
    expect(await ask(g1(), c2, 'share')).toMatchObject({
      cache: 'hit',
      backend: 'main',
      variant: 'canary',
      model: 'm-bad',
    });
    // A streamed canary answer fills the canary's entry, not the stable one.
    expect(await ask(g1(), c1, 'share, streamed', { stream: true })).toMatchObject({
      cache: 'miss',
      variant: 'canary',
      model: 'm-bad',
    });
    await settle();
    expect(await ask(g2(), s1, 'share, streamed')).toMatchObject({ cache: 'miss', model: 'm-stable' });
    expect(await ask(g2(), c2, 'share, streamed')).toMatchObject({ cache: 'hit', model: 'm-bad' });
    expect(badSim.stats().requests - bad).toBe(2);
    expect(stableSim.stats().requests - stable).toBe(2);
  });

  test('cache: a bad canary’s cached answer is never served after the rollback, on either replica', async () => {
    apply([rolloutRoute()]);
    const [c1, c2] = canaryUsers as [string, string];
    expect(await ask(g1(), c1, 'rollback')).toMatchObject({ cache: 'miss', model: 'm-bad' });
    await settle();
    expect(await ask(g2(), c2, 'rollback')).toMatchObject({ cache: 'hit', model: 'm-bad' });
    const canaryProducer = producerOf(rolloutRoute(), rolloutRoute().backends[1]!);
    const canaryKeys = `bm:default/test:cache:${canaryProducer}:*`;
    expect((await inspect.keys(canaryKeys)).length).toBeGreaterThan(0);
    const fencedAt = Date.now();

    apply([stableRoute()]);
    const answers: Answer[] = [];
    for (const g of [g1(), g2(), g1(), g2()])
      for (const u of [c1, c2]) answers.push(await ask(g, u, 'rollback'));
    expect(answers.filter((a) => a.model !== 'm-stable')).toEqual([]);
    expect(answers.every((a) => a.variant === 'stable' && a.status === 200)).toBe(true);
    expect(answers.at(-1)?.cache).toBe('hit');

    const reports = await Promise.all(replicas.map(({ g }) => g.gw.state.policy.fenced()));
    expect(reports.map((r) => r?.producers)).toEqual([[canaryProducer], [canaryProducer]]);
    expect(reports.every((r) => r?.complete === true && r.store === 'redis')).toBe(true);
    expect(await inspect.keys(canaryKeys)).toEqual([]);
    let deleted = 0;
    for (const { g, lines } of replicas) {
      deleted += await metricSum(g.gw, 'beastmode_cache_fenced_entries_total', { store: 'redis' });
      expect(await metricSum(g.gw, 'beastmode_cache_last_fence_timestamp_seconds')).toBeGreaterThanOrEqual(
        Math.floor(fencedAt / 1000),
      );
      const logged = lines.filter((l) => l.includes('Cache entries of a retired producer fenced'));
      expect(logged.at(-1)).toContain(canaryProducer);
    }
    expect(deleted).toBeGreaterThanOrEqual(1);

    // Rolling the same revision out again finds nothing of the first time.
    apply([rolloutRoute()]);
    expect(await ask(g2(), c1, 'rollback')).toMatchObject({
      cache: 'miss',
      variant: 'canary',
      model: 'm-bad',
    });
  });

  test('cache: after a promotion the replaced revision’s entries are not served, unless keepAcrossRevisions', async () => {
    apply([stableRoute(), stableRoute('keep', KEEP)]);
    const [s1, s2] = stableUsers as [string, string];
    for (const model of ['chat', 'keep'])
      expect(await ask(g1(), s1, 'promotion', { model })).toMatchObject({ cache: 'miss', model: 'm-stable' });
    await settle();
    const good = main(nextSim, 'm-next', 'canary');
    apply([rolloutRoute('chat', CACHE, good), rolloutRoute('keep', KEEP, good)]);
    expect(await ask(g2(), s2, 'promotion')).toMatchObject({ cache: 'hit', model: 'm-stable' });

    apply([promotedRoute(), promotedRoute('keep', KEEP)]);
    expect(await ask(g2(), s2, 'promotion')).toMatchObject({
      cache: 'miss',
      variant: 'stable',
      model: 'm-next',
    });
    expect(await ask(g1(), s1, 'promotion', { model: 'keep' })).toMatchObject({
      cache: 'hit',
      backend: 'main',
      variant: 'stable',
      model: 'm-stable',
    });
    const reports = await Promise.all(replicas.map(({ g }) => g.gw.state.policy.fenced()));
    const oldStable = producerOf(stableRoute(), stableRoute().backends[0]!);
    expect(reports[0]?.producers).toContain(oldStable);
    const keep = stableRoute('keep', KEEP);
    expect(reports[0]?.producers).not.toContain(producerOf(keep, keep.backends[0]!));
  });

  test('cache: a hit names its producer; feedback on it counts for that variant until its rollback', async () => {
    apply([rolloutRoute()]);
    const [c1, c2] = canaryUsers as [string, string];
    await ask(g1(), c1, 'feedback');
    await settle();
    const canary = { backend: 'main', variant: 'canary' };
    const attempts = await metricSum(g2().gw, 'beastmode_upstream_attempts_total', canary);
    const hit = await ask(g2(), c2, 'feedback');
    expect(hit).toMatchObject({ cache: 'hit', backend: 'main', variant: 'canary' });
    // Counted as an answer of the canary cohort from the cache, never as an upstream attempt of the canary.
    expect(await metricSum(g2().gw, 'beastmode_upstream_attempts_total', canary)).toBe(attempts);
    expect(
      await metricSum(g2().gw, 'beastmode_requests_total', { backend: 'cache', variant: 'canary' }),
    ).toBeGreaterThanOrEqual(1);
    expect(await feedback(g2(), hit.requestId!, 0.2)).toBe(202);
    expect(await scoresCounted(g2(), 'main', 'canary')).toBe(1);

    const late = await ask(g2(), c1, 'feedback');
    expect(late).toMatchObject({ cache: 'hit', variant: 'canary' });
    apply([stableRoute()]);
    // The canary's labels will describe the next candidate: a score for the rolled-back one is not counted.
    expect(await feedback(g2(), late.requestId!, 0.1)).toBe(202);
    expect(await scoresCounted(g2(), 'main', 'canary')).toBe(1);
  });

  test('cache: stable users share the answers of a route’s stable backends; a hit names the one that produced it', async () => {
    const pair = compiledRoute(
      'pair',
      [
        { name: 'a', url: `${stableSim.url}/v1`, model: 'm-stable' },
        { name: 'b', url: `${nextSim.url}/v1`, model: 'm-next' },
      ],
      { cache: CACHE },
    );
    apply([stableRoute(), pair]);
    // Weighted 1:1 and sticky per user: the lower half of the buckets chooses a, the upper half b.
    const choosing = (half: 0 | 1) =>
      Array.from({ length: 50 }, (_, i) => `pair-user-${i}`).find(
        (u) => Math.floor(bucketOf(u, 'default/pair#weighted') / 5000) === half,
      )!;
    expect(await ask(g1(), choosing(1), 'pair', { model: 'pair' })).toMatchObject({
      cache: 'miss',
      backend: 'b',
      model: 'm-next',
    });
    await settle();
    expect(await ask(g2(), choosing(0), 'pair', { model: 'pair' })).toMatchObject({
      cache: 'hit',
      backend: 'b',
      variant: 'stable',
      model: 'm-next',
    });
  });

  test('cache: a fallback’s answer is stored under the backend that gave it, never under the rolled-out canary', async () => {
    apply([rolloutRoute()]);
    const [s1] = stableUsers as [string];
    const [c1, c2] = canaryUsers as [string, string];
    badSim.setFaults({ errorCount: 2, errorStatus: 500 });
    try {
      expect(await ask(g1(), c1, 'fallback')).toMatchObject({
        status: 200,
        cache: 'miss',
        variant: 'stable',
        model: 'm-stable',
      });
    } finally {
      badSim.setFaults({});
    }
    await settle();
    expect(await ask(g2(), s1, 'fallback')).toMatchObject({
      cache: 'hit',
      variant: 'stable',
      model: 'm-stable',
    });
    expect(await ask(g2(), c2, 'fallback')).toMatchObject({
      cache: 'miss',
      variant: 'canary',
      model: 'm-bad',
    });
  });
});
