// Policy acceptance over real HTTP, part 1: API keys (401/403, rotation without restart), rate limits
// (requests and tokens per minute, per key and per team, under concurrency, shared by two replicas through
// one Redis) and feedback. The official openai client talks to gateways that run the real policy modules
// in front of simulator upstreams, with a real redis-server.
import path from 'node:path';
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { estimatePromptTokens } from '../accounting/tokens.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import {
  chat,
  eventually,
  metricSum,
  startPolicyGateway,
  statusOf,
  tempDir,
  writeKeys,
  type KeySpec,
  type PolicyGateway,
} from '../../../testkit/policy-http.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';

const KEYS: Record<string, KeySpec> = {
  alice: { name: 'alice', key: 'sk-test-alice-0123456789abcdef', team: 'web' },
  ann: { name: 'ann', key: 'sk-test-ann-0123456789abcdef01', team: 'web' },
  bob: { name: 'bob', key: 'sk-test-bob-0123456789abcdef01', team: 'web', models: ['chat'] },
  carol: { name: 'carol', key: 'sk-test-carol-0123456789abcdef', team: 'data' },
};

let sim: Simulator;
let slow: Simulator;
let redis: TestRedis;
let keysFile: string;
let a: PolicyGateway;
let b: PolicyGateway;

beforeAll(async () => {
  sim = await startSimulator();
  // Upstream latency keeps concurrent requests in flight together (no settle between their admissions).
  slow = await startSimulator({ faults: { latencyMs: 300 } });
  redis = await startRedis();
  keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, Object.values(KEYS));
  const up = (s: Simulator) => [{ name: 'primary', url: `${s.url}/v1` }];
  const routes = [
    compiledRoute('chat', up(sim)),
    compiledRoute('chat-b', up(sim)),
    compiledRoute('rpm', up(slow), { rateLimits: [{ per: 'api-key', requestsPerMinute: 5 }] }),
    compiledRoute('tpm', up(slow), { rateLimits: [{ per: 'team', tokensPerMinute: 1000 }] }),
    compiledRoute('shared', up(slow), { rateLimits: [{ per: 'api-key', requestsPerMinute: 6 }] }),
    compiledRoute(
      'canaried',
      [
        { name: 'primary', url: `${sim.url}/v1` },
        { name: 'primary', url: `${sim.url}/v1`, variant: 'canary' },
      ],
      { canary: { backend: 'primary', weight: 100, revision: 'r2' } },
    ),
  ];
  // Two replicas of one gateway sharing one Redis.
  a = await startPolicyGateway({ routes, keysFile, redisUrl: redis.url });
  b = await startPolicyGateway({ routes, keysFile, redisUrl: redis.url });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await redis?.stop();
  await sim?.close();
  await slow?.close();
});

describe('API keys', () => {
  test('401 invalid_api_key for a missing and for a wrong key', async () => {
    const missing = new OpenAI({
      baseURL: `${a.url}/v1`,
      apiKey: 'unused',
      maxRetries: 0,
      defaultHeaders: { authorization: null },
    });
    for (const client of [missing, a.client('sk-test-wrong-0123456789abcdef')]) {
      const err = await client.chat.completions
        .create(chat('hi', { temperature: 0 }))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      const e = err as InstanceType<typeof OpenAI.AuthenticationError>;
      expect(e.status).toBe(401);
      expect(e.code).toBe('invalid_api_key');
      expect(e.type).toBe('invalid_request_error');
      expect(e.error).toEqual({
        message: expect.any(String) as string,
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      });
      expect(e.headers.get('www-authenticate')).toBe('Bearer');
    }
    // The raw body is the OpenAI shape, nothing else.
    const raw = await fetch(`${a.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-test-nope-0000000000000000' },
      body: JSON.stringify(chat('hi')),
    });
    expect(raw.status).toBe(401);
    expect(Object.keys(((await raw.json()) as { error: object }).error).sort()).toEqual([
      'code',
      'message',
      'param',
      'type',
    ]);
  });

  test('403 model_not_allowed for a model outside the key scopes', async () => {
    const bob = a.client(KEYS.bob!.key);
    await expect(bob.chat.completions.create(chat('hi'))).resolves.toBeDefined();
    const err = await bob.chat.completions
      .create({ ...chat('hi'), model: 'chat-b' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((err as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed');
  });

  test('key rotation (rewriting keys.yaml) takes effect without a restart', async () => {
    const rotated = { name: 'rotating', key: 'sk-test-rotating-new-0123456789', team: 'ops' };
    const old = { name: 'rotating', key: 'sk-test-rotating-old-0123456789', team: 'ops' };
    writeKeys(keysFile, [...Object.values(KEYS), old]);
    const ask = (key: string) => statusOf(a.client(key).chat.completions.create(chat('rotate')));
    await eventually(async () => (await ask(old.key)) === 200);
    // Step 1: both keys valid (roll clients). Step 2: the old one removed.
    writeKeys(keysFile, [...Object.values(KEYS), old, { ...rotated, name: 'rotating-2' }]);
    await eventually(async () => (await ask(rotated.key)) === 200);
    expect(await ask(old.key)).toBe(200);
    writeKeys(keysFile, [...Object.values(KEYS), rotated]);
    await eventually(async () => (await ask(old.key)) === 401);
    expect(await ask(rotated.key)).toBe(200);
    // The other replica follows the same file.
    await eventually(async () => (await statusOf(b.client(old.key).models.list())) === 401);
    // A broken file keeps the last good keys.
    writeKeys(keysFile, []);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(keysFile, 'keys: [ {name: broken');
    await new Promise((r) => setTimeout(r, 200));
    expect(await ask(rotated.key)).toBe(200);
    writeKeys(keysFile, Object.values(KEYS));
  });
});

describe('rate limits', () => {
  test('requests per minute per key under concurrency: 429 rate_limit_exceeded with Retry-After', async () => {
    const alice = a.client(KEYS.alice!.key);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        alice.chat.completions.create({ ...chat(`rpm ${i}`), model: 'rpm' }).then(
          () => undefined,
          (e: unknown) => e,
        ),
      ),
    );
    const refused = results.filter((r) => r !== undefined);
    expect(results.length - refused.length).toBe(5);
    for (const e of refused) {
      expect(e).toBeInstanceOf(OpenAI.RateLimitError);
      const r = e as InstanceType<typeof OpenAI.RateLimitError>;
      expect(r.code).toBe('rate_limit_exceeded');
      expect(r.type).toBe('rate_limit_error');
      const retryAfter = Number(r.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    }
    // Per key: another key still has its own allowance.
    expect(
      await statusOf(a.client(KEYS.carol!.key).chat.completions.create({ ...chat('x'), model: 'rpm' })),
    ).toBe(200);
    expect(await metricSum(a.gw, 'beastmode_refusals_total', { reason: 'rate-limited' })).toBe(7);
  });

  test('tokens per minute per team: keys of one team share the allowance, other teams do not', async () => {
    const ask = (i: number) => ({ ...chat(`tpm probe ${i}`), model: 'tpm', max_tokens: 100 });
    const perRequest = estimatePromptTokens(ask(10)) + 100;
    const fits = Math.floor(1000 / perRequest);
    const web = [a.client(KEYS.alice!.key), a.client(KEYS.ann!.key)];
    const statuses = await Promise.all(
      Array.from({ length: 20 }, (_, i) => statusOf(web[i % 2]!.chat.completions.create(ask(10 + i)))),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(fits);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20 - fits);
    // Team "data" has its own bucket.
    expect(await statusOf(a.client(KEYS.carol!.key).chat.completions.create(ask(99)))).toBe(200);
  });

  test('two gateway replicas sharing one Redis share the limit', async () => {
    const clients = [a.client(KEYS.carol!.key), b.client(KEYS.carol!.key)];
    const statuses = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        statusOf(clients[i % 2]!.chat.completions.create({ ...chat(`shared ${i}`), model: 'shared' })),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(10);
    // Both replicas refused some: the limit is one shared counter, not 6 per replica.
    const refusedA = await metricSum(a.gw, 'beastmode_refusals_total', { reason: 'rate-limited' });
    const refusedB = await metricSum(b.gw, 'beastmode_refusals_total', { reason: 'rate-limited' });
    expect(refusedB).toBeGreaterThan(0);
    expect(refusedA).toBeGreaterThan(7);
  });
});

describe('feedback', () => {
  test('POST /v1/feedback: own request 202, other caller 403, unknown 404, invalid 400, once per id', async () => {
    const alice = a.client(KEYS.alice!.key);
    const carol = a.client(KEYS.carol!.key);
    const served = await alice.chat.completions
      .create({ ...chat('rate me'), model: 'canaried' })
      .withResponse();
    expect(served.response.headers.get(HEADERS.variant)).toBe('canary');
    const id = served.response.headers.get(HEADERS.requestId) ?? '';
    expect(id).not.toBe('');

    const post = (c: OpenAI, body: Record<string, unknown>) => c.post('/feedback', { body });
    const typed = async (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(await typed(post(carol, { request_id: id, score: 1 }))).toBeInstanceOf(
      OpenAI.PermissionDeniedError,
    );
    expect(await typed(post(alice, { request_id: 'no-such-request', score: 1 }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    expect(await typed(post(alice, { request_id: id, score: 2 }))).toBeInstanceOf(OpenAI.BadRequestError);
    expect(await typed(post(alice, { request_id: id, score: 'good' }))).toBeInstanceOf(
      OpenAI.BadRequestError,
    );

    const ok = await post(alice, { request_id: id, score: 0.8, comment: 'useful answer' }).withResponse();
    expect(ok.response.status).toBe(202);
    expect(ok.data).toEqual({ request_id: id, recorded: true });
    const again = await typed(post(alice, { request_id: id, score: 0.1 }));
    expect(again).toBeInstanceOf(OpenAI.ConflictError);
    expect((again as InstanceType<typeof OpenAI.ConflictError>).code).toBe('feedback_already_recorded');
    // Once per id across replicas too (the ledger is in Redis); b never served the id, so it does not know it.
    expect(await typed(post(b.client(KEYS.alice!.key), { request_id: id, score: 0.1 }))).toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    // Unauthenticated feedback is refused like any other call.
    expect(
      await typed(post(a.client('sk-test-wrong-0123456789abcdef'), { request_id: id, score: 1 })),
    ).toBeInstanceOf(OpenAI.AuthenticationError);

    const text = await a.gw.state.metrics.registry.getSingleMetricAsString('beastmode_feedback_score');
    expect(text).toMatch(
      /beastmode_feedback_score_count\{namespace="default",route="canaried",backend="primary",variant="canary"\} 1/,
    );
    expect(text).toMatch(/beastmode_feedback_score_sum\{[^}]*variant="canary"\} 0\.8/);
  });
});
