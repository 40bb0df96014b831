// An OpenAI-compatible (or Anthropic Messages) upstream for tests, demos and benchmarks: the only fake in
// the project, standing in for hosted LLM APIs that cannot run here. Answers are derived from the prompt;
// faults (latency, errors, broken streams, dropped connections) are set by options or at run time through
// POST /admin/faults; GET /admin/stats counts what it served.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { answerTokens, countTokens, embed, idFor, promptOf } from './answers.js';

export interface Faults {
  /** Delay before the response headers, ms (plus up to `jitterMs`). */
  latencyMs?: number;
  jitterMs?: number;
  /** Streaming: delay between headers and the first chunk, ms. */
  ttftMs?: number;
  /** Streaming: delay between chunks, ms. */
  tokenDelayMs?: number;
  /** Fraction 0–1 of requests answered with an error. */
  errorRate?: number;
  /** Answer exactly the next N requests with an error (deterministic; counted from when faults are set). */
  errorCount?: number;
  errorStatus?: number;
  /** e.g. "insufficient_quota" on a 429. */
  errorCode?: string;
  retryAfterSeconds?: number;
  /** Streaming: destroy the connection after this many chunks (0 = right after the headers). */
  breakAfterChunks?: number;
  /** Fraction 0–1 of requests whose connection is dropped before the first byte. */
  dropRate?: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Model names listed by /v1/models (any model is served). */
  models?: string[];
  provider?: 'openai' | 'anthropic';
  /** When set, requests must carry this key (Bearer, or x-api-key in Anthropic mode). */
  apiKey?: string;
  faults?: Faults;
  /** Default answer length cap in tokens when the request sets none. */
  maxTokens?: number;
}

export interface SimulatorStats {
  /** Requests received on model endpoints (including those failed by faults). */
  requests: number;
  ok: number;
  errors: number;
  drops: number;
  broken: number;
  /** Responses whose client went away before the end. */
  aborted: number;
  inflight: number;
  byPath: Record<string, number>;
  /** The last model request's body and headers (for adapter tests). */
  last?: { path: string; headers: http.IncomingHttpHeaders; body: unknown };
}

export interface Simulator {
  url: string;
  port: number;
  close(): Promise<void>;
  setFaults(f: Faults): void;
  stats(): SimulatorStats;
  resetStats(): void;
}

type Obj = Record<string, unknown>;
const sleep = (ms: number) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : r()));

function freshStats(): SimulatorStats {
  return { requests: 0, ok: 0, errors: 0, drops: 0, broken: 0, aborted: 0, inflight: 0, byPath: {} };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function errorBody(provider: 'openai' | 'anthropic', status: number, code: string | undefined): unknown {
  const message =
    code === 'insufficient_quota' ? 'You exceeded your current quota' : `simulated error ${status}`;
  if (provider === 'anthropic') {
    const type =
      status === 429
        ? 'rate_limit_error'
        : status === 529
          ? 'overloaded_error'
          : status >= 500
            ? 'api_error'
            : 'invalid_request_error';
    return { type: 'error', error: { type, message } };
  }
  const type =
    code ??
    (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error');
  return { error: { message, type, param: null, code: code ?? null } };
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const provider = opts.provider ?? 'openai';
  let faults: Faults = { ...(opts.faults ?? {}) };
  let errorsLeft = faults.errorCount ?? 0;
  let stats = freshStats();
  const models = opts.models ?? ['sim-model'];

  async function serveModel(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: string) {
    stats.requests++;
    stats.byPath[path] = (stats.byPath[path] ?? 0) + 1;
    let body: Obj;
    try {
      body = JSON.parse(raw) as Obj;
    } catch {
      return send(res, 400, errorBody(provider, 400, 'invalid_json'));
    }
    stats.last = { path, headers: req.headers, body };
    if (opts.apiKey !== undefined) {
      const key =
        provider === 'anthropic'
          ? req.headers['x-api-key']
          : req.headers.authorization?.replace(/^Bearer /, '');
      if (key !== opts.apiKey) return send(res, 401, errorBody(provider, 401, 'invalid_api_key'));
    }
    const f = faults;
    if ((f.dropRate ?? 0) > 0 && Math.random() < (f.dropRate ?? 0)) {
      stats.drops++;
      req.socket.destroy();
      return;
    }
    const delay = (f.latencyMs ?? 0) + (f.jitterMs ? Math.random() * f.jitterMs : 0);
    if (delay > 0) await sleep(delay);
    if (res.destroyed) return;
    const forced = errorsLeft > 0;
    if (forced) errorsLeft--;
    if (forced || ((f.errorRate ?? 0) > 0 && Math.random() < (f.errorRate ?? 0))) {
      stats.errors++;
      const status = f.errorStatus ?? 500;
      const headers: Record<string, string> =
        f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {};
      return send(res, status, errorBody(provider, status, f.errorCode), headers);
    }
    return answer(res, path, body, f);
  }

  function answer(res: http.ServerResponse, path: string, body: Obj, f: Faults): Promise<void> | void {
    if (path === '/v1/embeddings') return serveEmbeddings(res, body);
    const prompt =
      provider === 'anthropic'
        ? `${typeof body.system === 'string' ? body.system : ''}\n${promptOf(body)}`
        : promptOf(body);
    const max =
      typeof body.max_tokens === 'number'
        ? body.max_tokens
        : typeof body.max_completion_tokens === 'number'
          ? body.max_completion_tokens
          : (opts.maxTokens ?? 64);
    const tokens = answerTokens(prompt, max);
    const model = typeof body.model === 'string' ? body.model : (models[0] as string);
    const ctx = { prompt, tokens, model, inputTokens: countTokens(prompt), chat: path !== '/v1/completions' };
    if (body.stream === true) return streamAnswer(res, body, ctx, f);
    stats.ok++;
    return send(res, 200, provider === 'anthropic' ? anthropicMessage(ctx) : openAICompletion(ctx));
  }

  interface Ctx {
    prompt: string;
    tokens: string[];
    model: string;
    inputTokens: number;
    chat: boolean;
  }

  function openAICompletion(c: Ctx): unknown {
    const text = c.tokens.join('');
    const usage = {
      prompt_tokens: c.inputTokens,
      completion_tokens: c.tokens.length,
      total_tokens: c.inputTokens + c.tokens.length,
    };
    const id = idFor(c.chat ? 'chatcmpl' : 'cmpl', c.prompt);
    if (!c.chat) {
      return {
        id,
        object: 'text_completion',
        created: 1_700_000_000,
        model: c.model,
        choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }],
        usage,
      };
    }
    return {
      id,
      object: 'chat.completion',
      created: 1_700_000_000,
      model: c.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: text, refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage,
    };
  }

  function anthropicMessage(c: Ctx): unknown {
    return {
      id: idFor('msg', c.prompt),
      type: 'message',
      role: 'assistant',
      model: c.model,
      content: [{ type: 'text', text: c.tokens.join('') }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: c.inputTokens, output_tokens: c.tokens.length },
    };
  }

  function openAIEvents(c: Ctx, body: Obj): string[] {
    const id = idFor(c.chat ? 'chatcmpl' : 'cmpl', c.prompt);
    const wantUsage = (body.stream_options as Obj | undefined)?.include_usage === true;
    const base = {
      id,
      object: c.chat ? 'chat.completion.chunk' : 'text_completion',
      created: 1_700_000_000,
      model: c.model,
    };
    const choice = (text: string | undefined, finish: string | null, first: boolean) =>
      c.chat
        ? {
            index: 0,
            delta: finish ? {} : first ? { role: 'assistant', content: text } : { content: text },
            logprobs: null,
            finish_reason: finish,
          }
        : { index: 0, text: text ?? '', logprobs: null, finish_reason: finish };
    const out = c.tokens.map((t, i) => JSON.stringify({ ...base, choices: [choice(t, null, i === 0)] }));
    out.push(JSON.stringify({ ...base, choices: [choice(undefined, 'stop', false)] }));
    if (wantUsage) {
      out.push(
        JSON.stringify({
          ...base,
          choices: [],
          usage: {
            prompt_tokens: c.inputTokens,
            completion_tokens: c.tokens.length,
            total_tokens: c.inputTokens + c.tokens.length,
          },
        }),
      );
    }
    return [...out.map((d) => `data: ${d}\n\n`), 'data: [DONE]\n\n'];
  }

  function anthropicEvents(c: Ctx): string[] {
    const ev = (type: string, data: Obj) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const id = idFor('msg', c.prompt);
    return [
      ev('message_start', {
        message: {
          id,
          type: 'message',
          role: 'assistant',
          model: c.model,
          content: [],
          stop_reason: null,
          usage: { input_tokens: c.inputTokens, output_tokens: 1 },
        },
      }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('ping', {}),
      ...c.tokens.map((t) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } })),
      ev('content_block_stop', { index: 0 }),
      ev('message_delta', {
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        usage: { output_tokens: c.tokens.length },
      }),
      ev('message_stop', {}),
    ];
  }

  async function streamAnswer(res: http.ServerResponse, body: Obj, c: Ctx, f: Faults) {
    const events = provider === 'anthropic' ? anthropicEvents(c) : openAIEvents(c, body);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (f.breakAfterChunks === 0) {
      stats.broken++;
      res.flushHeaders();
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (f.ttftMs) await sleep(f.ttftMs);
    const tokenDelay = f.tokenDelayMs ?? 0;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (f.breakAfterChunks !== undefined && i >= f.breakAfterChunks) {
        stats.broken++;
        // Let the chunks already written reach the client, then cut the connection mid-stream.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (tokenDelay > 0 && i > 0) await sleep(tokenDelay);
      if (res.destroyed) return;
      res.write(events[i]);
    }
    stats.ok++;
    res.end();
  }

  function serveEmbeddings(res: http.ServerResponse, body: Obj) {
    const input = Array.isArray(body.input)
      ? body.input.map(String)
      : [typeof body.input === 'string' ? body.input : ''];
    const dims = typeof body.dimensions === 'number' ? Math.min(4096, Math.max(1, body.dimensions)) : 16;
    const tokens = input.reduce((s, t) => s + countTokens(t), 0);
    stats.ok++;
    send(res, 200, {
      object: 'list',
      data: input.map((t, index) => ({ object: 'embedding', index, embedding: embed(t, dims) })),
      model: typeof body.model === 'string' ? body.model : models[0],
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  const MODEL_PATHS =
    provider === 'anthropic'
      ? ['/v1/messages']
      : ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'];

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'POST' && MODEL_PATHS.includes(path)) {
        stats.inflight++;
        let counted = true;
        const done = () => {
          if (!counted) return;
          counted = false;
          stats.inflight--;
          if (!res.writableFinished) stats.aborted++;
        };
        res.on('close', done);
        serveModel(req, res, path, raw).catch(() => res.destroy());
        return;
      }
      if (req.method === 'GET' && path === '/v1/models') {
        return send(res, 200, {
          object: 'list',
          data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'simulator' })),
        });
      }
      if (req.method === 'GET' && path === '/admin/stats') return send(res, 200, stats);
      if (req.method === 'POST' && path === '/admin/faults') {
        try {
          faults = JSON.parse(raw || '{}') as Faults;
          errorsLeft = faults.errorCount ?? 0;
          return send(res, 200, faults);
        } catch {
          return send(res, 400, {
            error: { message: 'faults must be JSON', type: 'invalid_request_error', param: null, code: null },
          });
        }
      }
      if (req.method === 'POST' && path === '/admin/reset') {
        stats = freshStats();
        return send(res, 200, stats);
      }
      send(res, 404, errorBody(provider, 404, 'not_found'));
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    port,
    setFaults: (f) => {
      faults = { ...f };
      errorsLeft = f.errorCount ?? 0;
    },
    stats: () => ({ ...stats, byPath: { ...stats.byPath } }),
    resetStats: () => {
      stats = freshStats();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
