// Acceptance tests of the data plane over real HTTP: the official openai client against the gateway, the
// gateway against simulator upstreams, all on 127.0.0.1 ephemeral ports.
import net from 'node:net';
import OpenAI from 'openai';
import { HEADERS, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { startGateway, type Gateway } from './gateway.js';
import { compiledRoute, gatewayConfig, type BackendSketch } from '../../../testkit/gateway-config.js';
import { TestServers, silent } from '../../../testkit/http-servers.js';

const servers = new TestServers();
const sim = (opts: Parameters<TestServers['sim']>[0] = {}) => servers.sim(opts);
const gateway = (routes: CompiledRoute[], limits = {}) => servers.gateway(routes, limits);

const client = (g: Gateway) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
const b = (name: string, s: Simulator, extra: Partial<BackendSketch> = {}): BackendSketch => ({
  name,
  url: `${s.url}/v1`,
  ...extra,
});
const ask = { model: 'chat', messages: [{ role: 'user' as const, content: 'hello there' }] };

afterEach(() => servers.close());

describe('gateway over HTTP', () => {
  test('serves non-streaming chat with the served-by headers', async () => {
    const s = await sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const { data, response } = await client(g).chat.completions.create(ask).withResponse();
    expect(data.choices[0]?.message.content).toMatch(/\w+/);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(response.headers.get(HEADERS.requestId)).toBeTruthy();
    expect(response.headers.get(HEADERS.backend)).toBe('primary');
    expect(response.headers.get(HEADERS.variant)).toBe('stable');
    expect(response.headers.get(HEADERS.configRevision)).toBe(g.state.store.current()?.config.revision);
  });

  test('every answer names its request id and config revision, whichever stage wrote it', async () => {
    const s = await sim();
    const down = await sim({ faults: { errorRate: 1, errorStatus: 500 } });
    const g = await gateway([
      compiledRoute('chat', [b('primary', s)], {
        cache: { mode: 'exact', ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: false },
      }),
      compiledRoute('down', [b('broken', down)], {
        fallback: { on: [], maxAttempts: 1 },
        retry: { attempts: 0, backoffMs: 10, maxBackoffMs: 100, maxRetryAfterMs: 10_000 },
      }),
    ]);
    const revision = g.state.store.current()?.config.revision;
    expect(revision).toMatch(/\w/);
    let n = 0;
    const send = async (path: string, body?: unknown) => {
      const id = `answer-${++n}`;
      const r = await fetch(`${g.url}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      });
      const text = await r.text();
      return { status: r.status, id, headers: r.headers, text };
    };
    const json = { ...ask, temperature: 0 };
    const answers = {
      upstream: await send('/v1/chat/completions', json),
      cacheHit: await send('/v1/chat/completions', json),
      stream: await send('/v1/chat/completions', { ...ask, stream: true }),
      models: await send('/v1/models'),
      unknownModel: await send('/v1/chat/completions', { ...ask, model: 'nope' }),
      notJson: await send('/v1/chat/completions', '{"model":'),
      upstreamFailed: await send('/v1/chat/completions', { ...ask, model: 'down' }),
    };
    const feedback = await send('/v1/feedback', { request_id: answers.upstream.id, score: 1 });
    expect({ ...answers, feedback }).toMatchObject({
      upstream: { status: 200 },
      cacheHit: { status: 200 },
      stream: { status: 200 },
      models: { status: 200 },
      unknownModel: { status: 404 },
      notJson: { status: 400 },
      upstreamFailed: { status: 500 },
      feedback: { status: 202 },
    });
    expect(answers.cacheHit.headers.get(HEADERS.cache)).toBe('hit');
    expect(answers.stream.text).toContain('data: [DONE]');
    for (const [name, a] of Object.entries({ ...answers, feedback })) {
      expect({ name, id: a.headers.get(HEADERS.requestId) }).toEqual({ name, id: a.id });
      expect({ name, revision: a.headers.get(HEADERS.configRevision) }).toEqual({ name, revision });
    }
    expect(answers.upstreamFailed.headers.get(HEADERS.backend)).toBe('broken');
    expect(answers.unknownModel.headers.get(HEADERS.backend)).toBe('none');
  });

  test('streams chat completions chunk by chunk', async () => {
    const s = await sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const stream = await client(g).chat.completions.create({ ...ask, stream: true });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      chunks++;
    }
    const plain = await client(g).chat.completions.create(ask);
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(plain.choices[0]?.message.content);
    // The gateway asked upstream for usage on the client's behalf and did not pass the usage chunk on.
    expect((s.stats().last?.body as { stream_options?: unknown }).stream_options).toBeUndefined();
  });

  test('counts tokens from the usage chunk it requests upstream', async () => {
    const s = await sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])]);
    const stream = await client(g).chat.completions.create({ ...ask, stream: true });
    for await (const _ of stream) {
      /* drain */
    }
    const text = await g.state.metrics.registry.getSingleMetricAsString('beastmode_tokens_total');
    expect(text).toMatch(/direction="output"[^\n]* [1-9]/);
  });

  test('serves completions, embeddings and the model list', async () => {
    const s = await sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)]), compiledRoute('embed', [b('e', s)])]);
    const c = client(g);
    const comp = await c.completions.create({ model: 'chat', prompt: 'say something' });
    expect(comp.choices[0]?.text).toMatch(/\w/);
    const emb = await c.embeddings.create({ model: 'embed', input: ['a', 'b'], encoding_format: 'float' });
    expect(emb.data).toHaveLength(2);
    const again = await c.embeddings.create({ model: 'embed', input: ['a', 'b'], encoding_format: 'float' });
    expect(again.data[0]?.embedding).toEqual(emb.data[0]?.embedding);
    const models = await c.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['chat', 'embed']);
  });

  test('answers errors as OpenAI errors the client types', async () => {
    const s = await sim();
    const g = await gateway([compiledRoute('chat', [b('primary', s)])], { maxRequestBytes: 2048 });
    await expect(client(g).chat.completions.create({ ...ask, model: 'nope' })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    const bad = await fetch(`${g.url}/v1/chat/completions`, { method: 'POST', body: '{"model":' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get(HEADERS.requestId)).toBeTruthy();
    expect(await bad.json()).toEqual({
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_json',
      },
    });
    const big = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ ...ask, messages: [{ role: 'user', content: 'x'.repeat(5000) }] }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
  });

  test('refuses requests beyond the concurrency limit with 503 and frees slots', async () => {
    const s = await sim({ faults: { latencyMs: 300 } });
    const g = await gateway([compiledRoute('chat', [b('primary', s)])], { maxConcurrentRequests: 2 });
    const c = client(g);
    const results = await Promise.allSettled([1, 2, 3].map(() => c.chat.completions.create(ask)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    const rejected = results.find((r) => r.status === 'rejected');
    expect((rejected?.reason as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect(g.state.inflight()).toBe(0);
    await expect(c.chat.completions.create(ask)).resolves.toBeDefined();
  });
});

describe('resilience', () => {
  test('a primary answering 500 to everything costs the client nothing while a fallback is healthy', async () => {
    const bad = await sim({ faults: { errorRate: 1, errorStatus: 500 } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('primary', bad, { weight: 100 }), b('secondary', good, { weight: 1 })], {
        selection: { policy: 'weighted', stickiness: 'none' },
      }),
    ]);
    const c = client(g);
    const n = 30;
    for (let i = 0; i < n; i++) {
      const { response } = await c.chat.completions.create(ask).withResponse();
      expect(response.headers.get(HEADERS.backend)).toBe('secondary');
    }
    const attempts = bad.stats().requests + good.stats().requests;
    expect(good.stats().ok).toBe(n);
    expect(attempts).toBeLessThanOrEqual(3 * n);
    // The breaker opened: later requests skipped the primary.
    expect(bad.stats().requests).toBeLessThan(2 * n);
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_upstream_attempts_total');
    expect(m).toMatch(/backend="primary"[^\n]*outcome="5xx"/);
  });

  test('honours Retry-After on a 429 before retrying the same backend', async () => {
    const s = await sim({ faults: { errorCount: 1, errorStatus: 429, retryAfterSeconds: 1 } });
    const g = await gateway([compiledRoute('chat', [b('only', s)])]);
    const t0 = Date.now();
    await client(g).chat.completions.create(ask);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(s.stats().requests).toBe(2);
  });

  test('falls over instead of waiting when Retry-After is longer than maxRetryAfter', async () => {
    const limited = await sim({ faults: { errorRate: 1, errorStatus: 429, retryAfterSeconds: 30 } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('a', limited, { weight: 10 }), b('b', good)], {
        selection: { policy: 'weighted', stickiness: 'none' },
      }),
    ]);
    const t0 = Date.now();
    const { response } = await client(g).chat.completions.create(ask).withResponse();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(response.headers.get(HEADERS.backend)).toBe('b');
  });

  test('never retries a 429 insufficient_quota on the same backend', async () => {
    const broke = await sim({ faults: { errorRate: 1, errorStatus: 429, errorCode: 'insufficient_quota' } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('a', broke, { weight: 10 }), b('b', good)], {
        selection: { policy: 'weighted', stickiness: 'none' },
        retry: { attempts: 3, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 10_000 },
      }),
    ]);
    await client(g).chat.completions.create(ask);
    expect(broke.stats().requests).toBe(1);
    expect(good.stats().ok).toBe(1);
  });

  test('a stream broken before its first byte fails over to the next backend', async () => {
    const broken = await sim({ faults: { breakAfterChunks: 0 } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('a', broken, { weight: 10 }), b('b', good)], {
        selection: { policy: 'weighted', stickiness: 'none' },
        retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
      }),
    ]);
    const stream = await client(g).chat.completions.create({ ...ask, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/\.$/);
    expect(broken.stats().broken).toBe(1);
  });

  test('a connection dropped before the first byte fails over', async () => {
    const dropping = await sim({ faults: { dropRate: 1 } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('a', dropping, { weight: 10 }), b('b', good)], {
        selection: { policy: 'weighted', stickiness: 'none' },
        retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
      }),
    ]);
    const { response } = await client(g).chat.completions.create(ask).withResponse();
    expect(response.headers.get(HEADERS.backend)).toBe('b');
    expect(dropping.stats().drops).toBe(1);
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_upstream_attempts_total');
    expect(m).toMatch(/backend="a"[^\n]*outcome="connect-error"/);
  });

  test('a stream broken after its first byte ends with an SSE error event', async () => {
    const broken = await sim({ faults: { breakAfterChunks: 3 } });
    const g = await gateway([compiledRoute('chat', [b('a', broken)])]);
    const stream = await client(g).chat.completions.create({ ...ask, stream: true });
    let chunks = 0;
    const consume = async () => {
      for await (const _ of stream) chunks++;
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(chunks).toBe(3);
    expect(broken.stats().requests).toBe(1);
  });

  test('a client that disconnects aborts the upstream call within a second', async () => {
    const slow = await sim({ faults: { tokenDelayMs: 50 } });
    const g = await gateway([compiledRoute('chat', [b('a', slow)])]);
    const ac = new AbortController();
    const stream = await client(g).chat.completions.create(
      { ...ask, stream: true, max_tokens: 200 },
      { signal: ac.signal },
    );
    const consume = async () => {
      for await (const _ of stream) ac.abort();
    };
    await consume().catch(() => {});
    const t0 = Date.now();
    while (slow.stats().aborted === 0 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(slow.stats().aborted).toBe(1);
    expect(slow.stats().inflight).toBe(0);
    expect(Date.now() - t0).toBeLessThan(1000);
    while (g.state.inflight() > 0 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(g.state.inflight()).toBe(0);
  });

  test('counts upstream calls in flight per backend until the stream ends, a failed attempt included', async () => {
    const failing = await sim({ faults: { errorRate: 1, errorStatus: 500 } });
    const slow = await sim({ faults: { tokenDelayMs: 40 } });
    const g = await gateway([
      compiledRoute('chat', [b('a', failing, { weight: 100 }), b('b', slow, { weight: 1 })], {
        selection: { policy: 'weighted', stickiness: 'none' },
      }),
    ]);
    const level = async (backend: string): Promise<number> => {
      const text = await g.state.metrics.registry.getSingleMetricAsString(
        'beastmode_upstream_inflight_requests',
      );
      const line = text.split('\n').find((l) => l.includes(`backend="${backend}"`));
      return line === undefined ? 0 : Number(line.split(' ').pop());
    };
    const stream = await client(g).chat.completions.create({ ...ask, stream: true, max_tokens: 20 });
    const seen: number[][] = [];
    for await (const _ of stream) seen.push([await level('a'), await level('b')]);
    // While the answer streams from b, b has one call in flight and a (failed, fallen over) none.
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every(([a, bb]) => a === 0 && bb === 1)).toBe(true);
    const t0 = Date.now();
    while ((await level('b')) !== 0 && Date.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 10));
    expect(await level('b')).toBe(0);
    expect(failing.stats().requests).toBeGreaterThanOrEqual(1);
  });

  test('a timed-out first token falls over and counts a timeout attempt', async () => {
    const slow = await sim({ faults: { latencyMs: 2000 } });
    const good = await sim();
    const g = await gateway([
      compiledRoute('chat', [b('a', slow, { weight: 10 }), b('b', good)], {
        selection: { policy: 'weighted', stickiness: 'none' },
        retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
        timeouts: { firstTokenMs: 200, totalMs: 5000 },
      }),
    ]);
    const { response } = await client(g).chat.completions.create(ask).withResponse();
    expect(response.headers.get(HEADERS.backend)).toBe('b');
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_upstream_attempts_total');
    expect(m).toMatch(/backend="a"[^\n]*outcome="timeout"/);
  });

  test('a stream that outlasts the total deadline after its first token ends with an error event', async () => {
    // At least 8 chunks 150 ms apart take over a second; the total deadline is 600 ms, the first token
    // comes at once.
    const slow = await sim({ faults: { tokenDelayMs: 150 } });
    const g = await gateway([
      compiledRoute('chat', [b('a', slow)], { timeouts: { firstTokenMs: 5000, totalMs: 600 } }),
    ]);
    const t0 = Date.now();
    const stream = await client(g).chat.completions.create({ ...ask, stream: true });
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of stream) chunks++;
      })(),
    ).rejects.toBeInstanceOf(OpenAI.APIError);
    expect(chunks).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(2000);
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_upstream_attempts_total');
    expect(m).toMatch(/backend="a"[^\n]*outcome="timeout"/);
  });

  test('a non-streamed answer slower than the total deadline times out even when the first-token one is longer', async () => {
    const slow = await sim({ faults: { latencyMs: 1500 } });
    const g = await gateway([
      compiledRoute('chat', [b('a', slow)], {
        retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
        timeouts: { firstTokenMs: 10_000, totalMs: 300 },
      }),
    ]);
    const t0 = Date.now();
    await expect(client(g).chat.completions.create(ask)).rejects.toMatchObject({ status: 504 });
    expect(Date.now() - t0).toBeLessThan(1200);
  });

  test('a failing canary falls back to stable and the failure counts against the canary', async () => {
    const stable = await sim();
    const canary = await sim({ faults: { errorRate: 1, errorStatus: 503 } });
    const g = await gateway([
      compiledRoute('chat', [b('api', stable), b('api', canary, { variant: 'canary' })], {
        canary: { backend: 'api', weight: 100, revision: 'r2' },
        retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
      }),
    ]);
    const { response } = await client(g).chat.completions.create(ask).withResponse();
    expect(response.headers.get(HEADERS.variant)).toBe('stable');
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_upstream_attempts_total');
    expect(m).toMatch(/variant="canary",outcome="5xx"\} 1/);
  });
});

/** Polls `ok` every 10 ms; fails the test after `ms`. */
async function until(ok: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('shutdown', () => {
  test('finishes requests in flight, then refuses new connections', async () => {
    const slow = await sim({ faults: { latencyMs: 300 } });
    const g = await startGateway({
      source: { config: gatewayConfig([compiledRoute('chat', [b('a', slow)])]) },
      logger: silent,
    });
    const inflight = client(g).chat.completions.create(ask);
    await new Promise((r) => setTimeout(r, 50));
    const closed = g.close(5000);
    await expect(inflight).resolves.toBeDefined();
    await closed;
    await expect(fetch(`${g.url}/healthz`)).rejects.toThrow();
  });

  /** A kept-alive connection that has had one answer and is idle when the gateway starts closing. */
  async function idleConnection(g: Gateway): Promise<{ socket: net.Socket; received: () => string }> {
    const socket = net.connect(g.port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString()));
    socket.on('error', () => undefined);
    socket.write('GET /healthz HTTP/1.1\r\nhost: gw\r\n\r\n');
    await until(() => data.includes('{"status":"ok"}'));
    data = '';
    return { socket, received: () => data };
  }

  const chatRequest = (): string => {
    const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
    return `POST /v1/chat/completions HTTP/1.1\r\nhost: gw\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };

  test('a request sent on an idle kept-alive connection during the idle grace is answered, with connection: close', async () => {
    const g = await startGateway({
      source: { config: gatewayConfig([compiledRoute('chat', [b('a', await sim())])]) },
      logger: silent,
    });
    const { socket, received } = await idleConnection(g);
    const closed = g.close(5000, 800);
    await new Promise((r) => setTimeout(r, 200));
    expect(socket.readyState).toBe('open');
    socket.write(chatRequest());
    await until(() => /\r\n\r\n[\s\S]*"choices"/.test(received()));
    expect(received()).toMatch(/^HTTP\/1\.1 200/);
    expect(received().toLowerCase()).toContain('connection: close');
    await closed;
    await until(() => socket.destroyed || socket.readyState === 'closed');
  });

  test('without an idle grace the idle connection is closed at once', async () => {
    const g = await startGateway({
      source: { config: gatewayConfig([compiledRoute('chat', [b('a', await sim())])]) },
      logger: silent,
    });
    const { socket } = await idleConnection(g);
    let ended = false;
    socket.on('end', () => (ended = true));
    socket.on('close', () => (ended = true));
    const closed = g.close(5000, 0);
    await until(() => ended);
    await closed;
  });
});

describe('config reload', () => {
  test('drops no request across 20 reloads, refusing the invalid ones', async () => {
    const s1 = await sim();
    const s2 = await sim();
    const cfg = (w: number) =>
      gatewayConfig([compiledRoute('chat', [b('one', s1, { weight: w }), b('two', s2, { weight: 10 - w })])]);
    const g = await startGateway({ source: { config: cfg(5) }, logger: silent });
    servers.adopt(g);
    const c = client(g);
    let stop = false;
    let ok = 0;
    const errors: unknown[] = [];
    const worker = async () => {
      while (!stop) {
        try {
          await c.chat.completions.create(ask);
          ok++;
        } catch (e) {
          errors.push(e);
        }
      }
    };
    const workers = [worker(), worker(), worker(), worker()];
    let refused = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (i % 4 === 3) {
        const invalid = { ...cfg(1), routes: [{ model: 'chat' }] };
        if (g.state.store.apply(invalid, 'test') === 'refused') refused++;
      } else {
        g.state.store.apply(cfg(i % 10), 'test');
      }
    }
    stop = true;
    await Promise.all(workers);
    expect(errors).toEqual([]);
    expect(ok).toBeGreaterThan(20);
    expect(refused).toBe(5);
    const m = await g.state.metrics.registry.getSingleMetricAsString('beastmode_config_loads_total');
    expect(m).toMatch(/result="refused"\} 5/);
  });
});

describe('anthropic adapter', () => {
  test('chat and streaming through the Anthropic Messages API', async () => {
    process.env.BEASTMODE_SECRET_DEFAULT_ANTHROPIC_API_KEY = 'sk-ant-test';
    const s = await sim({ provider: 'anthropic', apiKey: 'sk-ant-test' });
    const g = await gateway([
      compiledRoute('chat', [
        b('claude', s, {
          provider: 'anthropic',
          model: 'claude-test',
          credentials: { namespace: 'default', name: 'anthropic', key: 'api-key' },
        }),
      ]),
    ]);
    const c = client(g);
    const res = await c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
      stop: 'END',
    });
    expect(res.object).toBe('chat.completion');
    expect(res.choices[0]?.message.content).toMatch(/\w/);
    expect(res.choices[0]?.finish_reason).toBe('stop');
    expect(res.usage?.prompt_tokens).toBeGreaterThan(0);
    const last = s.stats().last;
    expect(last?.path).toBe('/v1/messages');
    expect(last?.headers['anthropic-version']).toBe('2023-06-01');
    expect(last?.body).toMatchObject({
      system: 'be brief',
      max_tokens: 4096,
      stop_sequences: ['END'],
      model: 'claude-test',
    });

    const stream = await c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'hello' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(res.choices[0]?.message.content);
    expect(usage?.completion_tokens).toBe(res.usage?.completion_tokens);
  });
});
