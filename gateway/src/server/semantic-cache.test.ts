// The semantic cache over real HTTP (cache.mode semantic, the built-in embedder): a paraphrase of a cached
// question gets the cached answer, byte for byte, flagged `semantic-hit; similarity=…`, without calling the
// upstream — streamed too; a question that differs in a number is refused by the guard even when it is
// similar enough; a different system prompt or another tenant never shares an entry; bad feedback on a
// semantic hit's answer forgets the entry — on every replica when they share the index through Redis, where a
// new replica loads the entries before it reports ready.
import path from 'node:path';
import { DEFAULT_SEMANTIC_THRESHOLD, HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startRedis, type TestRedis } from '../../../testkit/redis.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import {
  chat,
  eventually,
  metricSum,
  sleep,
  startPolicyGateway,
  tempDir,
  writeKeys,
  type KeySpec,
  type PolicyGateway,
} from '../../../testkit/policy-http.js';
import { embedText } from '../cache/semantic/embedder.js';

const KEYS: Record<string, KeySpec> = {
  alice: { name: 'alice', key: 'sk-sem-alice-0123456789abcdef01', team: 'web' },
  carol: { name: 'carol', key: 'sk-sem-carol-0123456789abcdef01', team: 'data' },
};
const THRESHOLD = DEFAULT_SEMANTIC_THRESHOLD;

let sim: Simulator;
let g: PolicyGateway;

beforeAll(async () => {
  sim = await startSimulator();
  const keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, Object.values(KEYS));
  const semantic = { threshold: THRESHOLD, guard: true, maxEntries: 1000 };
  const route = compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
    cache: { mode: 'semantic', semantic, ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: false },
  });
  g = await startPolicyGateway({ routes: [route], keysFile });
});

afterAll(async () => {
  await g?.close();
  await sim?.close();
});

async function ask(key: string, body: Record<string, unknown>) {
  const r = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return {
    status: r.status,
    cache: r.headers.get(HEADERS.cache) ?? '',
    requestId: r.headers.get(HEADERS.requestId) ?? '',
    text: await r.text(),
  };
}

const similarity = (a: string, b: string) => {
  const x = embedText(a);
  const y = embedText(b);
  return x.reduce((s, v, i) => s + v * (y[i] ?? 0), 0);
};
// Stores run after the response is sent: give them a moment.
const settle = () => sleep(100);
const alice = KEYS.alice!.key;

const ORIGIN = 'How do I combine an IterableDataset with other datasets using interleave_datasets()?';
const PARAPHRASE = 'How can I combine an IterableDataset with other datasets by using interleave_datasets()?';

test('a paraphrase gets the cached answer, flagged with its similarity, without an upstream call', async () => {
  expect(similarity(ORIGIN, PARAPHRASE)).toBeGreaterThanOrEqual(THRESHOLD); // else the test proves nothing
  const before = sim.stats().requests;
  const miss = await ask(alice, chat(ORIGIN, { temperature: 0 }));
  expect(miss.cache).toBe('miss');
  await settle();
  const hit = await ask(alice, chat(PARAPHRASE, { temperature: 0 }));
  expect(hit.status).toBe(200);
  expect(hit.cache).toMatch(/^semantic-hit; similarity=0\.\d{3}$/);
  expect(Number(hit.cache.split('=')[1])).toBeCloseTo(similarity(ORIGIN, PARAPHRASE), 3);
  expect(hit.text).toBe(miss.text);
  // The identical request is an exact hit.
  expect((await ask(alice, chat(ORIGIN, { temperature: 0 }))).cache).toBe('hit');
  // Through the openai client too: another wording, the same parsed answer, flagged.
  const again = await g
    .client(alice)
    .chat.completions.create(chat(`${PARAPHRASE}  `, { temperature: 0 }))
    .withResponse();
  expect(again.response.headers.get(HEADERS.cache)).toMatch(/^semantic-hit; similarity=/);
  expect(again.data).toEqual(JSON.parse(miss.text));
  expect(sim.stats().requests - before).toBe(1);
  expect(await metricSum(g.gw, 'beastmode_cache_lookups_total', { result: 'semantic-hit' })).toBe(2);
});

test('a streamed paraphrase replays the streamed answer', async () => {
  const origin = 'What does the iter_files function of the datasets library iterate over?';
  const paraphrase = 'What does the datasets library iter_files function iterate over?';
  expect(similarity(origin, paraphrase)).toBeGreaterThanOrEqual(THRESHOLD);
  const body = (q: string) => chat(q, { temperature: 0, stream: true, max_tokens: 20 });
  const miss = await ask(alice, body(origin));
  expect(miss.text).toMatch(/data: \[DONE\]\n\n$/);
  await settle();
  const hit = await ask(alice, body(paraphrase));
  expect(hit.cache).toMatch(/^semantic-hit/);
  expect(hit.text).toBe(miss.text);
});

test('a question that differs in a number is refused by the guard though similar enough', async () => {
  const a =
    'Dataset.map with batched set to true processes the rows of a dataset in batches of 1000 rows by default: how do I change that batch size in the datasets library?';
  const b =
    'Dataset.map with batched set to true processes the rows of a dataset in batches of 500 rows by default: how do I change that batch size in the datasets library?';
  expect(similarity(a, b)).toBeGreaterThanOrEqual(THRESHOLD);
  await ask(alice, chat(a, { temperature: 0 }));
  await settle();
  expect((await ask(alice, chat(b, { temperature: 0 }))).cache).toBe('miss');
  expect(
    await metricSum(g.gw, 'beastmode_cache_semantic_refusals_total', {
      reason: 'numbers differ',
    }),
  ).toBe(1);
});

test('another system prompt, other parameters or another tenant never share an entry', async () => {
  const q = 'Which method loads a dataset from the Hugging Face Hub?';
  const p = 'Which method loads a dataset from the Hugging Face Hub, please?';
  expect(similarity(q, p)).toBeGreaterThanOrEqual(THRESHOLD);
  const withSystem = (content: string, system: string) => ({
    model: 'chat',
    temperature: 0,
    messages: [
      { role: 'system', content: system },
      { role: 'user', content },
    ],
  });
  await ask(alice, withSystem(q, 'Answer in English.'));
  await settle();
  expect((await ask(alice, withSystem(p, 'Answer in French.'))).cache).toBe('miss');
  expect((await ask(alice, { ...withSystem(p, 'Answer in English.'), max_tokens: 5 })).cache).toBe('miss');
  expect((await ask(KEYS.carol!.key, withSystem(p, 'Answer in English.'))).cache).toBe('miss');
  expect((await ask(alice, withSystem(p, 'Answer in English.'))).cache).toMatch(/^semantic-hit/);
});

test('bad feedback on a semantic hit forgets the entry', async () => {
  const origin = 'How can I shuffle the rows of a dataset with a fixed seed?';
  const paraphrase = 'How do I shuffle the rows of a dataset using a fixed seed?';
  expect(similarity(origin, paraphrase)).toBeGreaterThanOrEqual(THRESHOLD);
  await ask(alice, chat(origin, { temperature: 0 }));
  await settle();
  const hit = await ask(alice, chat(paraphrase, { temperature: 0 }));
  expect(hit.cache).toMatch(/^semantic-hit/);
  const scored = await fetch(`${g.url}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
    body: JSON.stringify({ request_id: hit.requestId, score: 0 }),
  });
  expect(scored.status).toBe(202);
  // The paraphrase (and any other wording) misses now; the identical question still hits exactly.
  expect((await ask(alice, chat(`${paraphrase} `, { temperature: 0 }))).cache).toBe('miss');
  expect((await ask(alice, chat(origin, { temperature: 0 }))).cache).toBe('hit');
});

describe('with an embeddings server', () => {
  let embeddings: Simulator;
  let e: PolicyGateway;

  beforeAll(async () => {
    embeddings = await startSimulator();
    const semantic = {
      ...{ threshold: 0.9, guard: true, maxEntries: 1000 },
      embeddings: { url: `${embeddings.url}/v1`, model: 'lex', dimensions: 256, timeoutMs: 40 },
    };
    const route = compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
      cache: { mode: 'semantic', semantic, ttlMs: 60_000, scope: 'route', cacheNonDeterministic: false },
    });
    e = await startPolicyGateway({ routes: [route] });
  });

  afterAll(async () => {
    await e?.close();
    await embeddings?.close();
  });

  const askE = async (content: string) => {
    const r = await fetch(`${e.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat(content, { temperature: 0 })),
    });
    return { cache: r.headers.get(HEADERS.cache) ?? '', text: await r.text(), status: r.status };
  };

  test('its vectors find the paraphrase; late, it is a plain miss and rested after three in a row', async () => {
    const miss = await askE(ORIGIN);
    expect(miss.cache).toBe('miss');
    await settle();
    const hit = await askE(PARAPHRASE);
    expect(hit.cache).toMatch(/^semantic-hit; similarity=0\.9\d\d$/);
    expect(hit.text).toBe(miss.text);
    expect(embeddings.stats().byPath['/v1/embeddings']).toBe(2);
    // A late embeddings server: every request is still answered (a miss), never an error.
    embeddings.setFaults({ latencyMs: 300 });
    const late = [];
    for (let i = 0; i < 4; i++) late.push(await askE(`${PARAPHRASE} (${i})`));
    expect(late.map((r) => [r.status, r.cache])).toEqual(Array(4).fill([200, 'miss']));
    expect(embeddings.stats().byPath['/v1/embeddings']).toBe(5); // the fourth was not asked: rested
    expect(await metricSum(e.gw, 'beastmode_cache_semantic_embeddings_total', { result: 'timeout' })).toBe(3);
    expect(await metricSum(e.gw, 'beastmode_cache_semantic_embeddings_total', { result: 'skipped' })).toBe(1);
  });
});

describe('shared by replicas through Redis', () => {
  let redis: TestRedis;
  const replicas: PolicyGateway[] = [];
  const route = () =>
    compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
      cache: {
        mode: 'semantic',
        semantic: { threshold: THRESHOLD, guard: true, maxEntries: 1000 },
        ttlMs: 60_000,
        scope: 'route',
        cacheNonDeterministic: false,
      },
    });
  const replica = async () => {
    const g = await startPolicyGateway({ routes: [route()], redisUrl: redis.url });
    replicas.push(g);
    return g;
  };
  const askOn = async (g: PolicyGateway, content: string) => {
    const r = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat(content, { temperature: 0 })),
    });
    return { cache: r.headers.get(HEADERS.cache) ?? '', requestId: r.headers.get(HEADERS.requestId) ?? '' };
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const g of replicas) await g.close();
    await redis?.stop();
  });

  test('one replica’s entry answers a paraphrase on another; a new replica warms before it is ready', async () => {
    const [r1, r2] = [await replica(), await replica()];
    const origin = 'How do I push a dataset with its dataset card to the Hugging Face Hub?';
    const paraphrase = 'How can I push a dataset with its dataset card to the Hugging Face Hub?';
    expect(similarity(origin, paraphrase)).toBeGreaterThanOrEqual(THRESHOLD);
    expect((await askOn(r1, origin)).cache).toBe('miss');
    // r2 follows the shared log every second: r1's entry reaches its index, and answers there.
    const entries = (g: PolicyGateway) => metricSum(g.gw, 'beastmode_cache_semantic_entries');
    await eventually(async () => (await entries(r2)) === 1);
    const hit = await askOn(r2, paraphrase);
    expect(hit.cache).toBe(`semantic-hit; similarity=${similarity(origin, paraphrase).toFixed(3)}`);
    // A replica started now loads the entries before it reports ready, and answers from them at once.
    const r3 = await replica();
    await eventually(() => r3.gw.state.ready());
    expect(await entries(r3)).toBe(1);
    expect((await askOn(r3, `${paraphrase} `)).cache).toMatch(/^semantic-hit/);
    // Bad feedback on r2's semantic hit forgets the entry on every replica.
    const scored = await fetch(`${r2.url}/v1/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: hit.requestId, score: 0 }),
    });
    expect(scored.status).toBe(202);
    await eventually(async () => (await askOn(r3, `${paraphrase}  `)).cache === 'miss');
    await eventually(async () => (await askOn(r1, `${paraphrase}   `)).cache === 'miss');
  });
});
