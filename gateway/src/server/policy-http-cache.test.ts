// Policy acceptance over real HTTP, part 3: the exact-match cache. A hit returns the bytes of the miss
// that filled it (non-streamed and streamed, compared raw), with x-beastmode-cache: hit; no hit across
// tenants (api-key and team scopes); temperature > 0 only with cacheNonDeterministic; and a Redis-backed
// cache shared by two gateway replicas.
import path from 'node:path';
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import {
  chat,
  sleep,
  startPolicyGateway,
  tempDir,
  writeKeys,
  type KeySpec,
  type PolicyGateway,
} from '../../../testkit/policy-http.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';

const KEYS: Record<string, KeySpec> = {
  alice: { name: 'alice', key: 'sk-cache-alice-0123456789abcdef', team: 'web' },
  ann: { name: 'ann', key: 'sk-cache-ann-0123456789abcdef01', team: 'web' },
  carol: { name: 'carol', key: 'sk-cache-carol-0123456789abcdef', team: 'data' },
};

let sim: Simulator;
let redis: TestRedis;
let mem: PolicyGateway;
let r1: PolicyGateway;
let r2: PolicyGateway;

beforeAll(async () => {
  sim = await startSimulator();
  redis = await startRedis();
  const keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, Object.values(KEYS));
  const up = [{ name: 'primary', url: `${sim.url}/v1` }];
  const cache = (scope: 'api-key' | 'team' | 'route', cacheNonDeterministic = false) => ({
    cache: { mode: 'exact' as const, ttlMs: 60_000, scope, cacheNonDeterministic },
  });
  const routes = [
    compiledRoute('chat', up, cache('api-key')),
    compiledRoute('team-chat', up, cache('team')),
    compiledRoute('any-temp', up, cache('api-key', true)),
  ];
  mem = await startPolicyGateway({ routes, keysFile });
  r1 = await startPolicyGateway({ routes, keysFile, redisUrl: redis.url });
  r2 = await startPolicyGateway({ routes, keysFile, redisUrl: redis.url });
});

afterAll(async () => {
  await mem?.close();
  await r1?.close();
  await r2?.close();
  await redis?.stop();
  await sim?.close();
});

interface Raw {
  status: number;
  cache: string | null;
  backend: string | null;
  contentType: string | null;
  bytes: Buffer;
}

async function raw(g: PolicyGateway, key: string, body: Record<string, unknown>): Promise<Raw> {
  const r = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return {
    status: r.status,
    cache: r.headers.get(HEADERS.cache),
    backend: r.headers.get(HEADERS.backend),
    contentType: r.headers.get('content-type'),
    bytes: Buffer.from(await r.arrayBuffer()),
  };
}

// Stores run after the response is sent (a stream's after its last frame): give them a moment.
const settle = () => sleep(100);

describe.each([
  ['in memory', () => [mem, mem] as const],
  ['in Redis, shared by two replicas', () => [r1, r2] as const],
])('cache %s', (_label, pick) => {
  test('a non-streamed hit is byte-identical to the miss that filled it', async () => {
    const [fill, serve] = pick();
    const body = chat(`non-streamed ${_label}`, { temperature: 0 });
    const before = sim.stats().requests;
    const miss = await raw(fill, KEYS.alice!.key, body);
    expect(miss.status).toBe(200);
    expect(miss.cache).toBe('miss');
    await settle();
    const hit = await raw(serve, KEYS.alice!.key, body);
    expect(hit.status).toBe(200);
    expect(hit.cache).toBe('hit');
    // A hit names the backend that produced the entry (x-beastmode-cache says it came from the cache).
    expect(hit.backend).toBe('primary');
    expect(hit.contentType).toMatch(/^application\/json/);
    expect(hit.bytes.equals(miss.bytes)).toBe(true);
    // Through the openai client too: same parsed object, hit header, no upstream call.
    const again = await serve.client(KEYS.alice!.key).chat.completions.create(body).withResponse();
    expect(again.response.headers.get(HEADERS.cache)).toBe('hit');
    expect(again.data).toEqual(JSON.parse(miss.bytes.toString('utf8')));
    expect(sim.stats().requests - before).toBe(1);
  });

  test('a streamed hit is byte-identical to the streamed miss that filled it', async () => {
    const [fill, serve] = pick();
    const body = chat(`streamed ${_label}, a somewhat longer answer please`, {
      temperature: 0,
      stream: true,
      max_tokens: 30,
    });
    const before = sim.stats().requests;
    const miss = await raw(fill, KEYS.alice!.key, body);
    expect(miss.status).toBe(200);
    expect(miss.cache).toBe('miss');
    expect(miss.contentType).toMatch(/^text\/event-stream/);
    expect(miss.bytes.toString()).toMatch(/data: \[DONE\]\n\n$/);
    await settle();
    const hit = await raw(serve, KEYS.alice!.key, body);
    expect(hit.cache).toBe('hit');
    expect(hit.contentType).toMatch(/^text\/event-stream/);
    expect(hit.bytes.toString('utf8')).toBe(miss.bytes.toString('utf8'));
    expect(hit.bytes.equals(miss.bytes)).toBe(true);
    // The openai client's stream of a hit yields the same chunks.
    const stream = await serve.client(KEYS.alice!.key).chat.completions.create({ ...body, stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    const expected = miss.bytes
      .toString()
      .split('\n\n')
      .filter((f) => f.startsWith('data: {'))
      .map((f) => (JSON.parse(f.slice(6)) as OpenAI.ChatCompletionChunk).choices[0]?.delta.content ?? '')
      .join('');
    expect(text).toBe(expected);
    expect(text.length).toBeGreaterThan(0);
    expect(sim.stats().requests - before).toBe(1);
  });

  test('no hit across tenants: api-key scope and team scope', async () => {
    const [fill, serve] = pick();
    const body = chat(`tenant ${_label}`, { temperature: 0 });
    expect((await raw(fill, KEYS.alice!.key, body)).cache).toBe('miss');
    await settle();
    expect((await raw(serve, KEYS.alice!.key, body)).cache).toBe('hit');
    // Same team, different key: still a miss with scope api-key.
    expect((await raw(serve, KEYS.ann!.key, body)).cache).toBe('miss');
    expect((await raw(serve, KEYS.carol!.key, body)).cache).toBe('miss');

    const teamBody = { ...body, model: 'team-chat' };
    expect((await raw(fill, KEYS.alice!.key, teamBody)).cache).toBe('miss');
    await settle();
    expect((await raw(serve, KEYS.ann!.key, teamBody)).cache).toBe('hit'); // team web shares
    expect((await raw(serve, KEYS.carol!.key, teamBody)).cache).toBe('miss'); // team data does not
  });

  test('temperature > 0 is not cached unless the route says cacheNonDeterministic', async () => {
    const [fill, serve] = pick();
    const body = chat(`warm ${_label}`, { temperature: 0.7 });
    const before = sim.stats().requests;
    await raw(fill, KEYS.alice!.key, body);
    await settle();
    const second = await raw(serve, KEYS.alice!.key, body);
    expect(second.status).toBe(200);
    expect(second.cache).toBe('bypass');
    // An unset temperature is the provider default (1): not cached either.
    await raw(fill, KEYS.alice!.key, chat(`default temp ${_label}`));
    await settle();
    expect((await raw(serve, KEYS.alice!.key, chat(`default temp ${_label}`))).cache).toBe('bypass');
    expect(sim.stats().requests - before).toBe(4);

    const anyTemp = { ...body, model: 'any-temp' };
    expect((await raw(fill, KEYS.alice!.key, anyTemp)).cache).toBe('miss');
    await settle();
    expect((await raw(serve, KEYS.alice!.key, anyTemp)).cache).toBe('hit');
  });
});
