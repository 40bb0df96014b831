import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import {
  backendFixture,
  captureLogger,
  chatRequest,
  configFixture,
  manualClock,
  routeFixture,
} from '../../../testkit/policy-fixtures.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { createPolicy, type Policy } from './index.js';

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

describe.each(['memory', 'redis'])('createPolicy (%s)', (mode) => {
  let policy: Policy;
  let lines: string[];
  let registry: Registry;
  beforeEach(async () => {
    const captured = captureLogger();
    lines = captured.lines;
    registry = new Registry();
    policy = createPolicy(
      configFixture({
        gateway: { namespace: 'llm', name: `gw-${Math.random().toString(36).slice(2, 8)}` },
        auth: { apiKeysSecretRef: { namespace: 'llm', name: 'keys' } },
        ...(mode === 'redis' ? { redis: { failurePolicy: 'local' as const } } : {}),
        routes: [route],
      }),
      {
        clock: manualClock(),
        logger: captured.logger,
        registry,
        keysFile: join(dir, 'keys.yaml'),
        ...(mode === 'redis' ? { redis: server.url } : {}),
        recentRequests: (id) =>
          id === 'req-1'
            ? { namespace: 'llm', route: 'chat', backend: 'premium', variant: 'stable', callerKey: 'alice' }
            : undefined,
      },
    );
    await policy.ready();
  });
  afterEach(async () => {
    await policy.close();
  });

  it('runs a request through auth, admit, cache and settle, and answers the second from the cache', async () => {
    expect(policy.authenticate({}).ok).toBe(false);
    const auth = policy.authenticate({ authorization: `Bearer ${KEY}` });
    if (!auth.ok) throw new Error('expected a caller');
    const request = chatRequest(SECRET_PROMPT, { temperature: 0, max_tokens: 100 });

    const first = await policy.admit(auth.caller, route, request);
    if (!first.ok) throw new Error('expected admission');
    const miss = await policy.lookupCache(auth.caller, route, request);
    expect(miss.header).toBe('miss');
    expect(await policy.storeCache(miss, { kind: 'body', body: JSON.stringify(BODY) })).toBe(true);
    const settled = await policy.settle(first.ticket, {
      kind: 'body',
      backend: backendFixture(),
      body: BODY,
    });
    expect(settled.usage).toEqual({ promptTokens: 20, completionTokens: 5 });
    expect(settled.costUsd).toBeCloseTo((20 * 2.5 + 5 * 10) / 1e6, 12);

    const second = await policy.admit(auth.caller, route, request);
    if (!second.ok) throw new Error('expected admission');
    expect((await policy.lookupCache(auth.caller, route, request)).header).toBe('hit');
    await policy.settle(second.ticket, { kind: 'none' });

    const third = await policy.admit(auth.caller, route, request);
    expect(third).toMatchObject({ ok: false, refusal: { status: 429, reason: 'rate-limited' } });

    expect(await policy.recordFeedback({ request_id: 'req-1', score: 1 }, auth.caller)).toMatchObject({
      status: 202,
    });

    const text = await registry.metrics();
    expect(text).toContain('beastmode_caller_cost_usd_total{key="alice",team="red"}');
    expect(text).toContain('beastmode_refusals_total{reason="unauthenticated"} 1');
    expect(text).toContain('beastmode_refusals_total{reason="rate-limited"} 1');
    for (const l of lines) {
      expect(l).not.toContain(KEY);
      expect(l).not.toContain('hydra');
    }
  });

  it('refuses a model the key is not scoped to with 403 before any limit is charged', async () => {
    await writeFile(join(dir, 'scoped.yaml'), `keys:\n  - {name: bob, models: [other], key: ${KEY}}\n`);
    const scoped = createPolicy(
      configFixture({ auth: { apiKeysSecretRef: { namespace: 'llm', name: 'k' } } }),
      {
        keysFile: join(dir, 'scoped.yaml'),
        logger: captureLogger().logger,
      },
    );
    const auth = scoped.authenticate({ 'x-api-key': KEY });
    if (!auth.ok) throw new Error('expected a caller');
    expect(await scoped.admit(auth.caller, route, chatRequest('hi'))).toMatchObject({
      ok: false,
      refusal: { status: 403, body: { error: { code: 'model_not_allowed' } } },
    });
    await scoped.close();
  });
});
