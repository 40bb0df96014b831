// The embeddings server over real HTTP with the official openai client: vectors of the real sentence encoder
// (a paraphrase near, a different question far), base64 (the client's default) and float alike; requests
// OpenAI would refuse refused the same way; a full queue refused at once; and a gateway whose semantic cache
// embeds with it serving a paraphrase from the cache.
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { startPolicyGateway, sleep, type PolicyGateway } from '../../../testkit/policy-http.js';
import { embedText } from '../cache/semantic/embedder.js';
import { createLogger } from '../log.js';
import { ENCODER_DIMENSIONS, ENCODER_MODEL } from './sentence-encoder.js';
import { startEmbeddingsServer, type EmbeddingsServer } from './server.js';

const MAX_QUEUE = 40;
let server: EmbeddingsServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startEmbeddingsServer({
    port: 0,
    host: '127.0.0.1',
    threads: 1,
    maxQueue: MAX_QUEUE,
    log: createLogger('error', true),
  });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, 30_000);

afterAll(async () => {
  await server?.close();
});

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * (b[i] ?? 0), 0);

const QUESTION = 'How do I reset my password?';
const PARAPHRASE = 'How can I change my password?';
const OTHER = 'What is the capital of France?';

test('embeds with the sentence encoder: unit vectors, a paraphrase near and another question far', async () => {
  const r = await client.embeddings.create({ model: ENCODER_MODEL, input: [QUESTION, PARAPHRASE, OTHER] });
  expect(r.model).toBe(ENCODER_MODEL);
  expect(r.data.map((d) => d.index)).toEqual([0, 1, 2]);
  const [q, p, o] = r.data.map((d) => d.embedding);
  for (const v of [q!, p!, o!]) {
    expect(v).toHaveLength(ENCODER_DIMENSIONS);
    expect(dot(v, v)).toBeCloseTo(1, 4);
  }
  expect(dot(q!, p!)).toBeGreaterThan(0.85);
  expect(dot(q!, o!)).toBeLessThan(0.4);
  expect(r.usage.prompt_tokens).toBeGreaterThan(0);
});

test('answers float and base64 (the official client asks base64) with the same vector', async () => {
  const viaBase64 = (await client.embeddings.create({ model: ENCODER_MODEL, input: QUESTION })).data[0]!;
  const viaFloat = (
    await client.embeddings.create({ model: ENCODER_MODEL, input: QUESTION, encoding_format: 'float' })
  ).data[0]!;
  expect(viaFloat.embedding).toHaveLength(ENCODER_DIMENSIONS);
  viaFloat.embedding.forEach((x, i) => expect(viaBase64.embedding[i]).toBeCloseTo(x, 6));
});

test('refuses what OpenAI refuses, with its error shape', async () => {
  const refusal = async (body: Record<string, unknown>) => {
    try {
      await client.embeddings.create(body as never);
    } catch (err) {
      const e = err as InstanceType<typeof OpenAI.APIError>;
      return { status: e.status, code: e.code, param: e.param };
    }
    throw new Error('expected a refusal');
  };
  expect(await refusal({ model: 'text-embedding-3-small', input: 'x' })).toEqual({
    status: 404,
    code: 'model_not_found',
    param: 'model',
  });
  for (const input of [[], '', [[1, 2, 3]], [QUESTION, 7]]) {
    expect(await refusal({ model: ENCODER_MODEL, input })).toMatchObject({ status: 400, param: 'input' });
  }
  expect(await refusal({ model: ENCODER_MODEL, input: 'x', dimensions: 256 })).toMatchObject({
    status: 400,
    param: 'dimensions',
  });
  expect(await refusal({ model: ENCODER_MODEL, input: 'x', encoding_format: 'int8' })).toMatchObject({
    status: 400,
    param: 'encoding_format',
  });
  const raw = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{"model": ' });
  expect(raw.status).toBe(400);
  expect(((await raw.json()) as { error: { type: string } }).error.type).toBe('invalid_request_error');
  expect((await fetch(`${server.url}/v1/embeddings`)).status).toBe(405);
});

test('a request past the free queue is refused with 503 overloaded (not queued), and served after', async () => {
  const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag} question ${i}`);
  const first = client.embeddings.create({ model: ENCODER_MODEL, input: texts(MAX_QUEUE, 'first') });
  const queued = async () =>
    Number(
      /^beastmode_embeddings_queued_texts (\d+)/m.exec(
        await (await fetch(`${server.url}/metrics`)).text(),
      )?.[1],
    );
  while ((await queued()) === 0) await sleep(1);
  const refused = await fetch(`${server.url}/v1/embeddings`, {
    method: 'POST',
    // A whole queue's worth: refused while any text of the first request still waits.
    body: JSON.stringify({ model: ENCODER_MODEL, input: texts(MAX_QUEUE, 'second') }),
  });
  expect(refused.status).toBe(503);
  expect(refused.headers.get('retry-after')).toBe('1');
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('overloaded');
  expect((await first).data).toHaveLength(MAX_QUEUE);
  const after = await client.embeddings.create({ model: ENCODER_MODEL, input: texts(8, 'second') });
  expect(after.data).toHaveLength(8);
  // More than the queue holds could never be served: refused as a bad request, not as overload.
  const tooMany = await fetch(`${server.url}/v1/embeddings`, {
    method: 'POST',
    body: JSON.stringify({ model: ENCODER_MODEL, input: texts(MAX_QUEUE + 1, 'third') }),
  });
  expect(tooMany.status).toBe(400);
});

test('reports ready, its model and its counts', async () => {
  expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  const models = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
  expect(models.data.map((m) => m.id)).toEqual([ENCODER_MODEL]);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const texts = Number(/^beastmode_embeddings_texts_total (\d+)/m.exec(metrics)?.[1]);
  expect(texts).toBeGreaterThanOrEqual(3 + 2 + MAX_QUEUE + 8);
  expect(metrics).toMatch(/^beastmode_embeddings_requests_total\{code="503"\} 1$/m);
  expect(metrics).toMatch(/^beastmode_embeddings_threads 1$/m);
});

describe('behind a gateway semantic cache', () => {
  let sim: Simulator;
  let g: PolicyGateway;

  beforeAll(async () => {
    sim = await startSimulator();
    const semantic = {
      ...{ threshold: 0.85, guard: true, maxEntries: 1000 },
      embeddings: { url: `${server.url}/v1`, model: ENCODER_MODEL, timeoutMs: 2000 },
    };
    const route = compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
      cache: { mode: 'semantic', semantic, ttlMs: 60_000, scope: 'route', cacheNonDeterministic: false },
    });
    g = await startPolicyGateway({ routes: [route] });
  });

  afterAll(async () => {
    await g?.close();
    await sim?.close();
  });

  test('a paraphrase that shares few words is served from the cache; another question is not', async () => {
    // Too far apart for the built-in embedder's threshold: the hit below is the encoder's doing.
    const lexical = embedText(QUESTION).reduce((s, v, i) => s + v * (embedText(PARAPHRASE)[i] ?? 0), 0);
    expect(lexical).toBeLessThan(0.85);
    const openai = g.client('unused');
    const ask = (content: string) =>
      openai.chat.completions
        .create({ model: 'chat', messages: [{ role: 'user', content }], temperature: 0 })
        .withResponse();
    const first = await ask(QUESTION);
    expect(first.response.headers.get(HEADERS.cache)).toBe('miss');
    await sleep(100); // the store runs after the answer
    const upstreamBefore = sim.stats().requests;
    const hit = await ask(PARAPHRASE);
    expect(hit.response.headers.get(HEADERS.cache)).toMatch(/^semantic-hit; similarity=0\.(8[5-9]|9)\d*$/);
    expect(hit.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    expect(sim.stats().requests).toBe(upstreamBefore);
    const other = await ask(OTHER);
    expect(other.response.headers.get(HEADERS.cache)).toBe('miss');
    expect(sim.stats().requests).toBe(upstreamBefore + 1);
  });
});
