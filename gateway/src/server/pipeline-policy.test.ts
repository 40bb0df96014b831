// The policy layer in the pipeline, over real HTTP: exact cache hits, token accounting in one place, and
// feedback (served beside the other /v1 endpoints) attributed to the variant that served the request.
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { createLogger } from '../log.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { startGateway, type Gateway } from './gateway.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';

let sim: Simulator;
let gw: Gateway;

beforeAll(async () => {
  sim = await startSimulator();
  const route = compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
    cache: { mode: 'exact', ttlMs: 60_000, scope: 'route', cacheNonDeterministic: true },
  });
  gw = await startGateway({
    source: { config: gatewayConfig([route]) },
    logger: createLogger('error', true),
  });
});

afterAll(async () => {
  await gw.close(1000);
  await sim.close();
});

test('serves a repeated request from the cache and records feedback for the variant', async () => {
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'none', maxRetries: 0 });
  const ask = { model: 'chat', messages: [{ role: 'user' as const, content: 'cache me' }], temperature: 0 };
  const first = await client.chat.completions.create(ask).withResponse();
  const second = await client.chat.completions.create(ask).withResponse();
  expect(first.response.headers.get(HEADERS.cache)).toBe('miss');
  expect(second.response.headers.get(HEADERS.cache)).toBe('hit');
  expect(second.data).toEqual(first.data);
  expect(sim.stats().requests).toBe(1);

  const tokens = await gw.state.metrics.registry.getSingleMetricAsString('beastmode_tokens_total');
  const output = /direction="output"\} (\d+)/.exec(tokens)?.[1];
  expect(Number(output)).toBe(first.data.usage?.completion_tokens);

  const id = first.response.headers.get(HEADERS.requestId) ?? '';
  const fb = await fetch(`${gw.url}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: id, score: 1 }),
  });
  expect(fb.status).toBe(202);
  const scores = await gw.state.metrics.registry.getSingleMetricAsString('beastmode_feedback_score');
  expect(scores).toMatch(/beastmode_feedback_score_count\{[^}]*backend="primary",variant="stable"\} 1/);
});

test('feedback keeps its limits: 16 KiB bodies, JSON, POST', async () => {
  const post = (body: string) =>
    fetch(`${gw.url}/v1/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const big = await post(JSON.stringify({ request_id: 'x', score: 1, comment: 'y'.repeat(20_000) }));
  expect(big.status).toBe(413);
  expect(((await big.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  const notJson = await post('{"request_id":');
  expect(notJson.status).toBe(400);
  expect(await notJson.json()).toEqual({
    error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_json' },
  });
  const unknown = await post(JSON.stringify({ request_id: 'never-served', score: 1 }));
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('request_not_found');
  const get = await fetch(`${gw.url}/v1/feedback`);
  expect(get.status).toBe(405);
});
