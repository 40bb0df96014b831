// Tracing over real HTTP: the official openai client calls a gateway in front of simulator upstreams, and
// a local OTLP receiver collects the spans the gateway exports. Spans are found by the x-request-id each
// test sends.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/index.js';
import { finishGatewayConfig } from '../../../api/v1alpha1/index.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../testkit/otlp-receiver.js';
import { metricSum } from '../../../testkit/policy-http.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { startGateway, type Gateway } from '../server/gateway.js';
import type { TracingOptions } from './tracer.js';

const servers = new TestServers();
let receiver: OtlpReceiver;
let sim: Simulator;
let failing: Simulator;
let gw: Gateway;
let routes: CompiledRoute[];

const SERVER = 2;
const CLIENT = 3;
const FAST = { intervalMs: 20, timeoutMs: 1000 };

function traced(tracing: GatewayConfig['tracing'], rs = routes): GatewayConfig {
  const { revision: _revision, apiVersion: _v, kind: _k, ...draft } = gatewayConfig(rs);
  return finishGatewayConfig({ ...draft, ...(tracing !== undefined ? { tracing } : {}) });
}

async function tracedGateway(
  tracing: GatewayConfig['tracing'],
  exporter: TracingOptions['exporter'] = FAST,
): Promise<Gateway> {
  return servers.adopt(
    await startGateway({
      source: { config: traced(tracing) },
      logger: silent,
      random: () => 0,
      tracing: { exporter, pod: { namespace: 'llm', name: 'gw-0' } },
    }),
  );
}

const client = (g: Gateway) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'unused', maxRetries: 0 });

/** A chat request with its own request id (and any other headers), answered or failed. */
async function ask(g: Gateway, model: string, extra: Record<string, unknown> = {}, headers = {}) {
  const id = randomUUID();
  const body = { model, messages: [{ role: 'user' as const, content: 'Say hello to Ada' }], ...extra };
  const answer = await client(g)
    .chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming, {
      headers: { 'x-request-id': id, ...headers },
    })
    .catch((e: unknown) => e);
  return { id, answer };
}

const ofRequest = (id: string) => (spans: ReceivedSpan[]) =>
  spans.filter((s) => s.attributes['beastmode.request_id'] === id && s.kind === SERVER);

/** The request's SERVER span and its CLIENT children, in start order. */
async function spansOf(id: string): Promise<{ server: ReceivedSpan; attempts: ReceivedSpan[] }> {
  const all = await receiver.waitFor((s) => ofRequest(id)(s).length === 1);
  const server = ofRequest(id)(all)[0] as ReceivedSpan;
  const attempts = all
    .filter((s) => s.parentSpanId === server.spanId && s.kind === CLIENT)
    .sort((a, b) => (a.startNs < b.startNs ? -1 : 1));
  return { server, attempts };
}

/** Proves a request left no span: a traced request sent after it is exported, and it is not. */
async function expectUntraced(g: Gateway, id: string): Promise<void> {
  const parent = `00-${'ab'.repeat(16)}-${'cd'.repeat(8)}-01`;
  const after = await ask(g, 'chat', {}, { traceparent: parent });
  await spansOf(after.id);
  expect(ofRequest(id)(receiver.spans)).toEqual([]);
}

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  sim = await servers.sim({ faults: { ttftMs: 30 } });
  failing = await servers.sim({ faults: { errorRate: 1, errorStatus: 500 } });
  const up = [{ name: 'primary', url: `${sim.url}/v1` }];
  routes = [
    compiledRoute('chat', up),
    compiledRoute('cached', up, {
      cache: { mode: 'exact', ttlMs: 60_000, scope: 'route', cacheNonDeterministic: false },
    }),
    compiledRoute('captured', up, { tracing: { capturePrompts: true } }),
    compiledRoute('resilient', [
      { name: 'flaky', url: `${failing.url}/v1`, model: 'flaky-model' },
      { name: 'steady', url: `${sim.url}/v1`, model: 'steady-model' },
    ]),
  ];
  gw = await tracedGateway({ endpoint: receiver.url, sampleRatio: 1, serviceName: 'edge-gateway' });
});

afterAll(async () => {
  await servers.close();
  await receiver?.close();
});

describe('request spans', () => {
  test('a chat request exports a SERVER span with the GenAI attributes, cost and a CLIENT attempt child', async () => {
    const { id, answer } = await ask(gw, 'chat', { temperature: 0.5, max_tokens: 20 });
    const usage = (answer as OpenAI.ChatCompletion).usage;
    const { server, attempts } = await spansOf(id);
    expect(server.name).toBe('chat chat');
    expect(server.resource).toMatchObject({
      'service.name': 'edge-gateway',
      'k8s.namespace.name': 'llm',
      'k8s.pod.name': 'gw-0',
    });
    expect(typeof server.resource['service.instance.id']).toBe('string');
    expect(server.attributes).toMatchObject({
      'http.request.method': 'POST',
      'http.route': '/v1/chat/completions',
      'url.path': '/v1/chat/completions',
      'http.response.status_code': 200,
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'chat',
      'gen_ai.response.model': 'sim-model',
      'gen_ai.provider.name': 'openai-compatible',
      'gen_ai.request.temperature': 0.5,
      'gen_ai.request.max_tokens': 20,
      'gen_ai.usage.input_tokens': usage?.prompt_tokens,
      'gen_ai.usage.output_tokens': usage?.completion_tokens,
      'beastmode.route': 'default/chat',
      'beastmode.backend': 'primary',
      'beastmode.variant': 'stable',
      'beastmode.canary': false,
      'beastmode.caller.key': 'anonymous',
    });
    // The test route's pricing: 1 USD per million input tokens, 2 per million output tokens.
    const cost = ((usage?.prompt_tokens ?? 0) * 1 + (usage?.completion_tokens ?? 0) * 2) / 1e6;
    expect(server.attributes['beastmode.cost_usd']).toBeCloseTo(cost, 12);
    expect(server.status.code).toBe(0);
    expect(attempts).toHaveLength(1);
    const [attempt] = attempts as [ReceivedSpan];
    expect(attempt.traceId).toBe(server.traceId);
    expect(attempt.name).toBe('chat sim-model');
    expect(attempt.attributes).toMatchObject({
      'beastmode.attempt': 1,
      'beastmode.attempt.kind': 'first',
      'beastmode.backend': 'primary',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
    });
    expect(attempt.startNs).toBeGreaterThanOrEqual(server.startNs);
    expect(attempt.endNs).toBeLessThanOrEqual(server.endNs);
  });

  test('records no prompt or answer text unless the route captures prompts', async () => {
    const plain = await ask(gw, 'chat');
    const { server } = await spansOf(plain.id);
    expect(server.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(server.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(JSON.stringify([server.attributes, server.events])).not.toContain('Ada');

    const captured = await ask(gw, 'captured');
    const content = (captured.answer as OpenAI.ChatCompletion).choices[0]?.message.content ?? '';
    const s = (await spansOf(captured.id)).server;
    expect(JSON.parse(String(s.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'user', parts: [{ type: 'text', content: 'Say hello to Ada' }] },
    ]);
    const out = JSON.parse(String(s.attributes['gen_ai.output.messages'])) as {
      parts: { content: string }[];
    }[];
    expect(out[0]?.parts[0]?.content).toBe(content);
    expect(content.length).toBeGreaterThan(0);
  });

  test('the second identical request on a caching route is a cache hit with no attempt span', async () => {
    const first = await ask(gw, 'cached', { temperature: 0 });
    const second = await ask(gw, 'cached', { temperature: 0 });
    const miss = await spansOf(first.id);
    const hit = await spansOf(second.id);
    expect(miss.server.attributes['beastmode.cache']).toBe('miss');
    expect(miss.attempts).toHaveLength(1);
    expect(hit.server.attributes['beastmode.cache']).toBe('hit');
    expect(hit.server.attributes['beastmode.backend']).toBe('primary');
    expect(hit.attempts).toEqual([]);
  });

  test('a failing backend gives failed attempt spans, a retry, then the fallback that answered', async () => {
    const { id, answer } = await ask(gw, 'resilient');
    expect((answer as OpenAI.ChatCompletion).choices).toHaveLength(1);
    const { server, attempts } = await spansOf(id);
    expect(
      attempts.map((a) => [a.attributes['beastmode.backend'], a.attributes['beastmode.attempt.kind']]),
    ).toEqual([
      ['flaky', 'first'],
      ['flaky', 'retry'],
      ['steady', 'fallback'],
    ]);
    expect(attempts.map((a) => a.attributes['beastmode.attempt'])).toEqual([1, 2, 3]);
    for (const failed of attempts.slice(0, 2)) {
      expect(failed.status.code).toBe(2);
      expect(failed.attributes['error.type']).toBe('5xx');
      expect(failed.attributes['http.response.status_code']).toBe(500);
    }
    expect(attempts[2]?.status.code).toBe(0);
    expect(server.attributes).toMatchObject({
      'beastmode.backend': 'steady',
      'gen_ai.response.model': 'steady-model',
      'beastmode.attempts': 3,
      'http.response.status_code': 200,
    });
  });

  test('a refused request carries why, and a 5xx marks the span as an error', async () => {
    const unknown = await ask(gw, 'no-such-model');
    expect((unknown.answer as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    const refused = (await spansOf(unknown.id)).server;
    expect(refused.attributes['error.type']).toBe('model_not_found');
    expect(refused.attributes['http.response.status_code']).toBe(404);
    expect(refused.status.code).toBe(0);

    const rs = [compiledRoute('down', [{ name: 'only', url: `${failing.url}/v1` }])];
    const g = servers.adopt(
      await startGateway({
        source: { config: traced({ endpoint: receiver.url, sampleRatio: 1, serviceName: 'x' }, rs) },
        logger: silent,
        tracing: { exporter: FAST },
      }),
    );
    const down = await ask(g, 'down');
    expect((down.answer as InstanceType<typeof OpenAI.APIError>).status).toBe(500);
    const failed = (await spansOf(down.id)).server;
    expect(failed.status.code).toBe(2);
    expect(failed.attributes['http.response.status_code']).toBe(500);
    expect(failed.attributes['error.type']).toBeDefined();
  });
});

describe('trace context', () => {
  test("an incoming traceparent is the SERVER span's parent, and the upstream call carries the attempt's", async () => {
    const traceId = randomUUID().replaceAll('-', '');
    const parentId = '0123456789abcdef';
    const { id } = await ask(gw, 'chat', {}, { traceparent: `00-${traceId}-${parentId}-01` });
    const { server, attempts } = await spansOf(id);
    expect(server.traceId).toBe(traceId);
    expect(server.parentSpanId).toBe(parentId);
    const sent = sim.stats().last?.headers.traceparent;
    expect(sent).toBe(`00-${traceId}-${attempts[0]?.spanId}-01`);
  });

  test('a request without a parent starts a trace of its own: no parentSpanId', async () => {
    const { id } = await ask(gw, 'chat');
    const { server } = await spansOf(id);
    expect(server.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(server.parentSpanId).toBeUndefined();
  });

  test('a parent that was not sampled is not traced, and the upstream call gets no traceparent', async () => {
    const { id } = await ask(gw, 'chat', {}, { traceparent: `00-${'12'.repeat(16)}-${'34'.repeat(8)}-00` });
    expect(sim.stats().last?.headers.traceparent).toBeUndefined();
    await expectUntraced(gw, id);
  });
});

describe('sampling and reloads', () => {
  test('sampleRatio 0 traces no request without a sampled parent; a reload changes it without restart', async () => {
    const g = await tracedGateway({ endpoint: receiver.url, sampleRatio: 0, serviceName: 'x' });
    const unsampled = await ask(g, 'chat');
    await expectUntraced(g, unsampled.id);

    expect(
      g.state.store.apply(traced({ endpoint: receiver.url, sampleRatio: 1, serviceName: 'x' }), 't'),
    ).toBe('applied');
    const sampled = await ask(g, 'chat');
    await spansOf(sampled.id);

    // A config without tracing turns it off; a refused config leaves it as it was.
    expect(g.state.store.apply({ ...traced(undefined), routes: 'nonsense' }, 't')).toBe('refused');
    const still = await ask(g, 'chat');
    await spansOf(still.id);
    expect(g.state.store.apply(traced(undefined), 't')).toBe('applied');
    const off = await ask(g, 'chat', {}, { traceparent: `00-${'56'.repeat(16)}-${'78'.repeat(8)}-01` });
    await new Promise((r) => setTimeout(r, 200));
    expect(ofRequest(off.id)(receiver.spans)).toEqual([]);
  });
});

describe('streaming', () => {
  test('a streamed request is traced to its end, with the time to first token on its attempt', async () => {
    const id = randomUUID();
    const stream = await client(gw).chat.completions.create(
      { model: 'captured', messages: [{ role: 'user', content: 'Stream to Ada' }], stream: true },
      { headers: { 'x-request-id': id } },
    );
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    const { server, attempts } = await spansOf(id);
    expect(server.attributes['beastmode.stream']).toBe(true);
    expect(server.attributes['http.response.status_code']).toBe(200);
    const ttft = attempts[0]?.attributes['beastmode.ttft_ms'];
    // The simulator waits 30 ms before its first chunk.
    expect(ttft).toBeGreaterThanOrEqual(25);
    expect(attempts[0]?.events.map((e) => e.name)).toContain('gen_ai.first_token');
    const out = JSON.parse(String(server.attributes['gen_ai.output.messages'])) as {
      parts: { content: string }[];
    }[];
    expect(out[0]?.parts[0]?.content).toBe(text);
    // The span ends when the stream does: after the first token.
    expect(Number(server.endNs - server.startNs) / 1e6).toBeGreaterThanOrEqual(Number(ttft));
  });
});

describe('a collector in trouble', () => {
  test('a collector that is down costs requests nothing, and the lost spans are counted', async () => {
    const down = await startOtlpReceiver();
    const endpoint = down.url;
    await down.close();
    const g = await tracedGateway({ endpoint, sampleRatio: 1, serviceName: 'x' });
    for (let i = 0; i < 5; i++) {
      const { answer } = await ask(g, 'chat');
      expect((answer as OpenAI.ChatCompletion).choices).toHaveLength(1);
    }
    const until = Date.now() + 5000;
    while ((await metricSum(g, 'beastmode_trace_spans_dropped_total', { reason: 'export-failed' })) < 10) {
      if (Date.now() > until) throw new Error('drops not counted');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  test('a slow collector never delays a request: exports time out, and a full queue drops spans', async () => {
    const slow = await startOtlpReceiver();
    slow.behave({ delayMs: 2000 });
    const g = await tracedGateway(
      { endpoint: slow.url, sampleRatio: 1, serviceName: 'x' },
      { intervalMs: 10, timeoutMs: 300, maxQueue: 2 },
    );
    const started = performance.now();
    for (let i = 0; i < 6; i++) await ask(g, 'chat');
    // Six requests in a row, each ~30 ms upstream: far from the collector's 2 s.
    expect(performance.now() - started).toBeLessThan(1500);
    const until = Date.now() + 5000;
    while ((await metricSum(g, 'beastmode_trace_spans_dropped_total')) < 12) {
      if (Date.now() > until) throw new Error('drops not counted');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(
      await metricSum(g, 'beastmode_trace_spans_dropped_total', { reason: 'queue-full' }),
    ).toBeGreaterThan(0);
    expect(await metricSum(g, 'beastmode_trace_spans_exported_total')).toBe(0);
    await slow.close();
  });
});
