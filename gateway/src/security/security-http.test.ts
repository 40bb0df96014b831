// The security metrics over real HTTP: the official openai client (and raw fetch for headers the client
// cannot send) against a gateway with the real policy layer, a keys file it re-reads, and a simulator
// upstream. Checks each event is counted under a bounded label (a key's name or "unknown") and that no
// presented secret reaches /metrics.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { METRICS } from '../../../api/v1alpha1/index.js';
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
  alice: { name: 'alice', key: 'sk-test-alice-0123456789abcdef', team: 'web', models: ['chat', 'budget'] },
  bob: { name: 'bob', key: 'sk-test-bob-0123456789abcdef01', team: 'data' },
  old: { name: 'old', key: 'sk-test-old-0123456789abcdef01' },
};
const BOGUS = 'sk-test-bogus-0123456789abcdef';

let sim: Simulator;
let gw: PolicyGateway;
let keysFile: string;

beforeAll(async () => {
  sim = await startSimulator();
  keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, Object.values(KEYS));
  const upstream = [{ name: 'sim', url: `${sim.url}/v1` }];
  const pricey = { inputPerMillionTokens: 1000, outputPerMillionTokens: 2000 };
  gw = await startPolicyGateway({
    keysFile,
    routes: [
      compiledRoute('chat', upstream),
      compiledRoute('other', upstream),
      compiledRoute('budget', [{ ...upstream[0]!, pricing: pricey }], {
        budgets: [{ per: 'api-key', usd: 0.05, window: 'day', onExhausted: 'reject' }],
      }),
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await sim?.close();
});

const failures = (labels: Record<string, string>) => metricSum(gw.gw, METRICS.authFailures, labels);

async function postRaw(headers: Record<string, string>): Promise<number> {
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(chat('hi')),
  });
  await r.arrayBuffer();
  return r.status;
}

describe('security metrics over HTTP', () => {
  test('count a missing, a malformed and an unknown key under key="unknown" with their reason', async () => {
    expect(await postRaw({})).toBe(401);
    expect(await postRaw({ authorization: `Basic ${Buffer.from('u:p').toString('base64')}` })).toBe(401);
    expect(await statusOf(gw.client(BOGUS).chat.completions.create(chat('hi')))).toBe(401);
    expect(await failures({ key: 'unknown', reason: 'missing' })).toBe(1);
    expect(await failures({ key: 'unknown', reason: 'malformed' })).toBe(1);
    expect(await failures({ key: 'unknown', reason: 'unknown' })).toBe(1);
    expect(await failures({ reason: 'revoked' })).toBe(0);
  });

  test('count a key removed from the keys file as revoked, under its name, with the same 401', async () => {
    const ok = await gw.client(KEYS.old!.key).chat.completions.create(chat('hi'));
    expect(ok.choices.length).toBe(1);
    writeKeys(keysFile, [KEYS.alice!, KEYS.bob!]);
    await eventually(
      async () => (await statusOf(gw.client(KEYS.old!.key).chat.completions.create(chat('hi')))) === 401,
    );
    expect(await failures({ key: 'old', reason: 'revoked' })).toBeGreaterThanOrEqual(1);
    // A key no file ever held is still unknown.
    const before = await failures({ key: 'unknown', reason: 'unknown' });
    expect(await statusOf(gw.client(BOGUS).chat.completions.create(chat('hi')))).toBe(401);
    expect(await failures({ key: 'unknown', reason: 'unknown' })).toBe(before + 1);
  });

  test("count a request for a model outside the key's scope by key and the route's model", async () => {
    expect(
      await statusOf(gw.client(KEYS.alice!.key).chat.completions.create(chat('hi', { model: 'other' }))),
    ).toBe(403);
    expect(await metricSum(gw.gw, METRICS.modelRefusals, { key: 'alice', model: 'other' })).toBe(1);
    expect(
      await statusOf(gw.client(KEYS.bob!.key).chat.completions.create(chat('hi', { model: 'other' }))),
    ).toBe(200);
    expect(await metricSum(gw.gw, METRICS.modelRefusals, { key: 'bob' })).toBe(0);
  });

  test('count budget exhaustion by route and key once the budget refuses', async () => {
    const client = gw.client(KEYS.alice!.key);
    const statuses: number[] = [];
    for (let i = 0; i < 12 && !statuses.includes(429); i++)
      statuses.push(
        await statusOf(client.chat.completions.create(chat('spend', { model: 'budget', max_tokens: 20 }))),
      );
    expect(statuses).toContain(429);
    expect(
      await metricSum(gw.gw, METRICS.budgetExhaustions, { route: 'budget', key: 'alice', action: 'refused' }),
    ).toBe(statuses.filter((s) => s === 429).length);
  });

  test('count requests per key and export warm-up scores for both signals', async () => {
    expect(
      await metricSum(gw.gw, METRICS.callerRequests, { key: 'bob', team: 'data' }),
    ).toBeGreaterThanOrEqual(1);
    const scores = await gw.gw.state.metrics.registry.getSingleMetricAsString(METRICS.keyAnomalyScore);
    expect(scores).toContain('key="alice",signal="requests"} 0');
    expect(scores).toContain('key="alice",signal="spend"} 0');
  });

  test('never export a presented secret or its digest', async () => {
    const text = await gw.gw.state.metrics.registry.metrics();
    for (const secret of [BOGUS, ...Object.values(KEYS).map((k) => k.key)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(createHash('sha256').update(secret).digest('hex'));
    }
  });
});
