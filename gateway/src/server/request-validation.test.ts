// The request-shape check over real HTTP: a malformed request is answered 400 in OpenAI's error format
// before admission, so no upstream (primary or fallback) sees it, no rate-limit token or budget is spent,
// no cache is consulted, and the official client raises its BadRequestError; well-formed requests the
// client sends (tools, streaming, completions, embeddings) are still served.
import OpenAI from 'openai';
import { HEADERS, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import { costUsd, estimatePromptTokens } from '../accounting/tokens.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, type BackendSketch } from '../../../testkit/gateway-config.js';
import { TestServers } from '../../../testkit/http-servers.js';
import { metricSum, statusOf } from '../../../testkit/policy-http.js';
import type { Gateway } from './gateway.js';

const servers = new TestServers();
afterEach(() => servers.close());

const b = (name: string, s: Simulator, extra: Partial<BackendSketch> = {}): BackendSketch => ({
  name,
  url: `${s.url}/v1`,
  ...extra,
});

async function gateway(routes: CompiledRoute[]): Promise<Gateway> {
  const g = await servers.gateway(routes);
  await g.state.policy.ready();
  return g;
}

const client = (g: Gateway) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
const ask = { model: 'chat', messages: [{ role: 'user' as const, content: 'hello there' }] };
/** A body the client's types forbid, sent anyway (as a client in another language may). */
const untyped = (body: Record<string, unknown>) =>
  body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming;

function post(g: Gateway, body: unknown, path = '/v1/chat/completions'): Promise<Response> {
  return fetch(`${g.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

const upstreamCalls = (...sims: Simulator[]) => sims.reduce((n, s) => n + s.stats().requests, 0);

describe('malformed requests are refused at the edge', () => {
  test('a chat request without messages is answered 400 and never reaches the upstream', async () => {
    const s = await servers.sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const res = await post(g, { model: 'chat' });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get(HEADERS.requestId)).toBeTruthy();
    expect(res.headers.get(HEADERS.backend)).toBe('none');
    expect(await res.json()).toEqual({
      error: {
        message: "'messages' must be a non-empty array of message objects",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'missing_required_parameter',
      },
    });
    expect(upstreamCalls(s)).toBe(0);
    // Counted on the route, as a 4xx with no backend.
    expect(await metricSum(g, 'beastmode_requests_total', { route: 'chat', backend: '', code: '4xx' })).toBe(
      1,
    );
    // And as a refusal of an invalid request, beside auth and limit refusals.
    expect(await metricSum(g, 'beastmode_refusals_total', { reason: 'invalid' })).toBe(1);
  });

  test.each([
    ['messages as a string', 'messages', '/v1/chat/completions', { model: 'chat', messages: 'hi' }],
    [
      'a message without a role',
      'messages[0].role',
      '/v1/chat/completions',
      { model: 'chat', messages: [{}] },
    ],
    ['a prompt that is an object', 'prompt', '/v1/completions', { model: 'chat', prompt: { text: 'hi' } }],
    ['an empty embedding input', 'input', '/v1/embeddings', { model: 'chat', input: '' }],
    ['a temperature of 5', 'temperature', '/v1/chat/completions', { ...ask, temperature: 5 }],
  ])('%s is answered 400 naming %s', async (_name, param, path, body) => {
    const s = await servers.sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const res = await post(g, body, path);
    expect(res.status).toBe(400);
    const { error } = (await res.json()) as { error: { type: string; param: string } };
    expect(error).toMatchObject({ type: 'invalid_request_error', param });
    expect(upstreamCalls(s)).toBe(0);
  });

  test('the model is checked first: an unknown model is 404 whatever the body', async () => {
    const s = await servers.sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    expect((await post(g, { model: 'nope' })).status).toBe(404);
    expect((await post(g, { messages: 'hi' })).status).toBe(400);
    expect(upstreamCalls(s)).toBe(0);
  });

  test('spends no rate-limit token: with a limit of one request a minute, the next valid one is admitted', async () => {
    const s = await servers.sim();
    const g = await gateway([
      compiledRoute('chat', [b('primary', s)], { rateLimits: [{ per: 'api-key', requestsPerMinute: 1 }] }),
    ]);
    expect((await post(g, { model: 'chat', messages: [] })).status).toBe(400);
    expect((await post(g, { model: 'chat', messages: [{ role: 'robot', content: 'hi' }] })).status).toBe(400);
    expect(await statusOf(client(g).chat.completions.create(ask))).toBe(200);
    // The limit is in force: the second valid request in the minute is refused.
    expect(await statusOf(client(g).chat.completions.create(ask))).toBe(429);
    expect(upstreamCalls(s)).toBe(1);
  });

  test('spends no budget: with a budget of exactly one worst case, the next valid request is admitted', async () => {
    const s = await servers.sim();
    const pricing = { inputPerMillionTokens: 1000, outputPerMillionTokens: 2000 };
    const valid = { ...ask, max_tokens: 20 };
    const worst = costUsd({ input: estimatePromptTokens(valid), output: 20 }, pricing);
    const g = await gateway([
      compiledRoute('chat', [b('primary', s, { pricing })], {
        budgets: [{ per: 'api-key', usd: worst, window: 'day', onExhausted: 'reject' }],
      }),
    ]);
    // Malformed, with a large prompt in a field the check refuses: admitted, it would reserve far more.
    const res = await post(g, {
      model: 'chat',
      max_tokens: 20,
      messages: { role: 'user', content: 'x'.repeat(4000) },
    });
    expect(res.status).toBe(400);
    expect(await metricSum(g, 'beastmode_caller_cost_usd_total')).toBe(0);
    expect(await statusOf(client(g).chat.completions.create(valid))).toBe(200);
    // One request's cost is enough to exhaust it: the malformed one would have left no room.
    expect(await statusOf(client(g).chat.completions.create(valid))).toBe(429);
    expect(upstreamCalls(s)).toBe(1);
  });

  test('calls no backend of a route with fallbacks, and retries nothing', async () => {
    const failing = await servers.sim({ faults: { errorRate: 1, errorStatus: 500 } });
    const healthy = await servers.sim();
    const g = await gateway([
      compiledRoute('chat', [b('primary', failing), b('fallback', healthy)], {
        retry: { attempts: 3, backoffMs: 1, maxBackoffMs: 10, maxRetryAfterMs: 1000 },
      }),
    ]);
    expect((await post(g, { model: 'chat', messages: [{ role: 'user' }] })).status).toBe(400);
    expect(upstreamCalls(failing, healthy)).toBe(0);
    // The same route serves a valid request, through its fallback.
    const { response } = await client(g).chat.completions.create(ask).withResponse();
    expect(response.headers.get(HEADERS.backend)).toBe('fallback');
    expect(healthy.stats().requests).toBe(1);
  });

  test('consults no cache', async () => {
    const s = await servers.sim();
    const g = await gateway([
      compiledRoute('chat', [b('primary', s)], {
        cache: { mode: 'exact', ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: true },
      }),
    ]);
    const bad = await post(g, { model: 'chat', messages: [{ role: 'user', content: 1 }] });
    expect(bad.status).toBe(400);
    expect(bad.headers.get(HEADERS.cache)).toBeNull();
    expect(await metricSum(g, 'beastmode_cache_lookups_total')).toBe(0);
    const good = await post(g, ask);
    expect(good.status).toBe(200);
    expect(good.headers.get(HEADERS.cache)).toBeTruthy();
  });
});

describe('the official openai client', () => {
  test('raises BadRequestError with the parameter for a malformed request', async () => {
    const s = await servers.sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const c = client(g);
    const noMessages = await c.chat.completions.create(untyped({ model: 'chat' })).catch((e: unknown) => e);
    expect(noMessages).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noMessages).toMatchObject({
      status: 400,
      type: 'invalid_request_error',
      param: 'messages',
      code: 'missing_required_parameter',
    });
    const noRole = await c.chat.completions
      .create(untyped({ model: 'chat', messages: [{ content: 'hi' }] }))
      .catch((e: unknown) => e);
    expect(noRole).toBeInstanceOf(OpenAI.BadRequestError);
    expect(noRole).toMatchObject({ status: 400, param: 'messages[0].role' });
    expect((noRole as Error).message).toContain("'messages[0].role' is required");
    expect(upstreamCalls(s)).toBe(0);
  });

  test('is still served for chat with tools, streaming, completions and embeddings', async () => {
    const s = await servers.sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)]), compiledRoute('embed', [b('e', s)])]);
    const c = client(g);
    const toolCall = {
      id: 'call_1',
      type: 'function' as const,
      function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
    };
    const tools = await c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'developer', content: 'Use the tools.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Weather here?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
          ],
        },
        { role: 'assistant', content: null, tool_calls: [toolCall] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      tool_choice: 'auto',
      temperature: 0.2,
    });
    expect(tools.choices[0]?.message.content).toMatch(/\w/);
    const stream = await c.chat.completions.create({
      ...ask,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/\w/);
    const completion = await c.completions.create({
      model: 'chat',
      prompt: ['say something'],
      max_tokens: 8,
    });
    expect(completion.choices[0]?.text).toMatch(/\w/);
    const embeddings = await c.embeddings.create({ model: 'embed', input: ['a', 'b'] });
    expect(embeddings.data).toHaveLength(2);
    expect(upstreamCalls(s)).toBe(4);
  });
});
