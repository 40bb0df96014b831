import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import {
  backendFixture,
  captureLogger,
  chatRequest,
  configFixture,
  manualClock,
  routeFixture,
} from '../../../testkit/policy-fixtures.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { countTextTokens } from '../accounting/tokens.js';
import { producerOf } from '../cache/producer.js';
import { RecentRequests } from '../feedback/recent-requests.js';
import { isGatewayError } from '../server/errors.js';
import { GatewayMetrics } from '../server/metrics.js';
import { GatewayPolicy, POLICY_OFF, type Admission, type PolicySettings, type Settlement } from './policy.js';
import { ANONYMOUS, type Caller } from './types.js';

const KEY = 'sk-team-red-alice-000000000';
const SECRET_PROMPT = 'my secret prompt about project hydra';
const route = routeFixture({
  rateLimits: [{ per: 'api-key', requestsPerMinute: 2 }],
  budgets: [{ per: 'team', usd: 5, window: 'month', onExhausted: 'reject' }],
  cache: { mode: 'exact', ttlMs: 60_000, scope: 'team', cacheNonDeterministic: false },
});
const BODY = {
  id: 'chatcmpl-9',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hydra is fine' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 20, completion_tokens: 5 },
};

let dir: string;
let server: TestRedis;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bm-policy-'));
  await writeFile(join(dir, 'keys.yaml'), `keys:\n  - {name: alice, team: red, key: ${KEY}}\n`);
  server = await startRedis();
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A policy layer applied to `config`, with the gateway's metrics and a logger whose lines a test reads. */
function makePolicy(settings: PolicySettings, config: GatewayConfig) {
  const captured = captureLogger();
  const metrics = new GatewayMetrics();
  const recent = new RecentRequests();
  recent.record('req-1', {
    namespace: 'llm',
    route: 'chat',
    model: 'chat',
    backend: 'premium',
    variant: 'stable',
    caller: 'alice',
  });
  const policy = new GatewayPolicy(settings, {
    metrics,
    logger: captured.logger,
    recent,
    clock: manualClock(),
  });
  policy.apply(config);
  return { policy, registry: metrics.registry, lines: captured.lines };
}

async function admitted(
  policy: GatewayPolicy,
  caller: Caller,
  request = chatRequest('hi'),
): Promise<Admission> {
  const a = await policy.admit(caller, route, request);
  if (isGatewayError(a)) throw new Error(`expected admission, got ${a.status}`);
  return a;
}

const settlement = (caller: Caller, admission: Admission, over: Partial<Settlement> = {}): Settlement => ({
  caller,
  route,
  request: chatRequest('hi'),
  admission,
  backend: backendFixture(),
  usage: undefined,
  body: undefined,
  tap: undefined,
  ...over,
});

/** The value of one sample in the exposition text. */
const sample = (text: string, series: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
};

describe.each(['memory', 'redis'])('GatewayPolicy (%s)', (mode) => {
  const config = configFixture({
    gateway: { namespace: 'llm', name: `gw-${Math.random().toString(36).slice(2, 8)}` },
    auth: { apiKeysSecretRef: { namespace: 'llm', name: 'keys' } },
    ...(mode === 'redis' ? { redis: { failurePolicy: 'local' as const } } : {}),
    routes: [route],
  });
  let made: ReturnType<typeof makePolicy>;
  beforeEach(async () => {
    made = makePolicy(
      { keysFile: () => join(dir, 'keys.yaml'), ...(mode === 'redis' ? { redis: server.url } : {}) },
      config,
    );
    await made.policy.ready();
  });
  afterEach(async () => {
    await made.policy.close();
  });

  it('runs a request through auth, admit, cache and settle, and answers the second from the cache', async () => {
    const { policy, registry, lines } = made;
    expect(policy.authenticate({}, config).ok).toBe(false);
    const auth = policy.authenticate({ authorization: `Bearer ${KEY}` }, config);
    if (!auth.ok) throw new Error('expected a caller');
    const request = chatRequest(SECRET_PROMPT, { temperature: 0, max_tokens: 100 });

    const first = await admitted(policy, auth.caller, request);
    expect(first.charged).toBeDefined();
    const producers = [{ producer: producerOf(route, route.backends[0]!) }];
    const miss = await policy.lookupCache(auth.caller, route, request, producers);
    expect(miss.header).toBe('miss');
    expect(await policy.storeCache(miss, producers[0]!.producer, JSON.stringify(BODY), undefined)).toBe(true);
    policy.settle(settlement(auth.caller, first, { request, body: JSON.stringify(BODY) }));
    const labels = 'namespace="llm",route="chat",backend="premium",variant="stable"';
    const settled = await registry.metrics();
    expect(sample(settled, `beastmode_tokens_total{${labels},direction="input"}`)).toBe(20);
    expect(sample(settled, `beastmode_tokens_total{${labels},direction="output"}`)).toBe(5);
    expect(sample(settled, `beastmode_cost_usd_total{${labels}}`)).toBeCloseTo((20 * 2.5 + 5 * 10) / 1e6, 12);

    const second = await admitted(policy, auth.caller, request);
    expect((await policy.lookupCache(auth.caller, route, request, producers)).header).toBe('hit');
    policy.settle(settlement(auth.caller, second, { request, backend: undefined }));

    expect(await policy.admit(auth.caller, route, request)).toMatchObject({
      status: 429,
      refusal: 'rate-limited',
    });

    expect(await policy.recordFeedback({ request_id: 'req-1', score: 1 }, auth.caller)).toMatchObject({
      ok: true,
    });

    const text = await registry.metrics();
    expect(text).toContain('beastmode_caller_cost_usd_total{key="alice",team="red"}');
    expect(text).toContain('beastmode_refusals_total{reason="unauthenticated"} 1');
    expect(text).toContain('beastmode_refusals_total{reason="rate-limited"} 1');
    // The cache hit spent nothing: the tokens are those of the first request only.
    expect(sample(text, `beastmode_tokens_total{${labels},direction="output"}`)).toBe(5);
    for (const l of lines) {
      expect(l).not.toContain(KEY);
      expect(l).not.toContain('hydra');
    }
  });

  it('refuses a model the key is not scoped to with 403 before any limit is charged', async () => {
    await writeFile(join(dir, 'scoped.yaml'), `keys:\n  - {name: bob, models: [other], key: ${KEY}}\n`);
    const scopedConfig = configFixture({ auth: { apiKeysSecretRef: { namespace: 'llm', name: 'k' } } });
    const { policy: scoped } = makePolicy({ keysFile: () => join(dir, 'scoped.yaml') }, scopedConfig);
    const auth = scoped.authenticate({ 'x-api-key': KEY }, scopedConfig);
    if (!auth.ok) throw new Error('expected a caller');
    expect(await scoped.admit(auth.caller, route, chatRequest('hi'))).toMatchObject({
      status: 403,
      refusal: 'forbidden',
      error: { code: 'model_not_allowed' },
    });
    await scoped.close();
  });
});

describe('GatewayPolicy on a route that configures nothing', () => {
  const bare = routeFixture();
  const config = configFixture({ routes: [bare] });

  it('admits synchronously with one shared admission, skips the cache, and counts no prompt tokens', () => {
    const { policy } = makePolicy({}, config);
    const auth = policy.authenticate({ authorization: 'Bearer whatever' }, config);
    expect(auth).toEqual({ ok: true, caller: ANONYMOUS });
    const a = policy.admit(ANONYMOUS, bare, chatRequest('hi'));
    expect(a).not.toBeInstanceOf(Promise);
    expect(policy.admit(ANONYMOUS, bare, chatRequest('other'))).toBe(a);
    expect(policy.caches(bare)).toBe(false);
    // A request whose prompt cannot be tokenized proves settle never estimates it when usage is reported.
    const poisoned = {
      get messages(): never {
        throw new Error('the prompt was read');
      },
    };
    expect(() =>
      policy.settle(
        settlement(ANONYMOUS, a as Admission, {
          route: bare,
          request: poisoned,
          usage: { input: 3, output: 4 },
        }),
      ),
    ).not.toThrow();
  });

  it('bills a stream without reported usage for what it delivered, counted only at settle', async () => {
    const { policy, registry } = makePolicy({}, config);
    const tap = policy.observeStream(chatRequest('hi'), {}, undefined);
    tap.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Hello there' } }] })}\n\n`);
    tap.end(false);
    policy.settle(settlement(ANONYMOUS, {}, { route: bare, tap }));
    const text = await registry.metrics();
    const labels = 'namespace="llm",route="chat",backend="premium",variant="stable"';
    expect(sample(text, `beastmode_tokens_total{${labels},direction="output"}`)).toBe(
      countTextTokens('Hello there'),
    );
    expect(sample(text, `beastmode_tokens_total{${labels},direction="input"}`)).toBeGreaterThan(0);
  });
});

describe('POLICY_OFF', () => {
  it('serves a config with auth, limits, budgets and cache as if none were configured', () => {
    const config = configFixture({
      auth: { apiKeysSecretRef: { namespace: 'llm', name: 'keys' } },
      routes: [route],
    });
    const { policy } = makePolicy(POLICY_OFF, config);
    expect(policy.authenticate({}, config)).toEqual({ ok: true, caller: ANONYMOUS });
    const a = policy.admit(ANONYMOUS, route, chatRequest('hi'));
    expect(a).not.toBeInstanceOf(Promise);
    expect(a).toEqual({});
    expect(policy.caches(route)).toBe(false);
  });
});
