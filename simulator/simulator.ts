// An OpenAI-compatible (or Anthropic Messages) upstream for tests, demos and benchmarks: the only fake in
// the project, standing in for hosted LLM APIs that cannot run here. Answers are derived from the prompt;
// faults (latency, errors, broken streams, dropped connections) are set by options or at run time through
// POST /admin/faults; GET /admin/stats counts what it served. This module owns the server and its state
// (faults, the forced-error countdown, stats); the bodies it sends are built in wire.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  completionBody,
  completionEvents,
  embeddingsBody,
  errorBody,
  modelsBody,
  notJsonBody,
  readCompletionRequest,
  type JsonObject,
  type Provider,
} from './wire.js';

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
  /**
   * Most model requests served at once; more are answered 429 `model_overloaded` at once, as a model server
   * whose queue is full does. Changing it at run time stands in for a pool gaining or losing replicas.
   */
  capacity?: number;
}

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Model names listed by /v1/models (any model is served). */
  models?: string[];
  provider?: Provider;
  /** When set, requests must carry this key (Bearer, or x-api-key in Anthropic mode). */
  apiKey?: string;
  faults?: Faults;
  /** Default answer length cap in tokens when the request sets none. */
  maxTokens?: number;
  /** Answer with the prompt itself, in chunks of a few characters (to see what a gateway sent upstream). */
  echo?: boolean;
  /**
   * A chat request that offers function tools is answered with a call to the first, whose arguments carry
   * the answer's text as `{"text": …}` (with `echo`, the prompt), streamed in fragments of a few characters.
   */
  toolCalls?: boolean;
}

export interface SimulatorStats {
  /** Requests received on model endpoints (including those failed by faults). */
  requests: number;
  ok: number;
  errors: number;
  /** Requests answered 429 because `capacity` requests were in flight. */
  overloaded: number;
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

const sleep = (ms: number) => new Promise<void>((r) => (ms > 0 ? setTimeout(r, ms) : r()));

function freshStats(): SimulatorStats {
  return {
    requests: 0,
    ok: 0,
    errors: 0,
    overloaded: 0,
    drops: 0,
    broken: 0,
    aborted: 0,
    inflight: 0,
    byPath: {},
  };
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

function chance(rate: number | undefined): boolean {
  return (rate ?? 0) > 0 && Math.random() < (rate ?? 0);
}

/** One simulator's state and request handling; the HTTP server around it is started by startSimulator. */
class SimulatorServer {
  private readonly provider: Provider;
  private readonly models: string[];
  private readonly modelPaths: string[];
  private faults: Faults = {};
  /** Requests still to be failed by `errorCount`. */
  private errorsLeft = 0;
  private stats = freshStats();

  constructor(private readonly opts: SimulatorOptions) {
    this.provider = opts.provider ?? 'openai';
    this.models = opts.models ?? ['sim-model'];
    this.modelPaths =
      this.provider === 'anthropic'
        ? ['/v1/messages']
        : ['/v1/chat/completions', '/v1/completions', '/v1/embeddings'];
    this.setFaults(opts.faults ?? {});
  }

  setFaults(f: Faults): void {
    this.applyFaults({ ...f });
  }

  statsSnapshot(): SimulatorStats {
    return { ...this.stats, byPath: { ...this.stats.byPath } };
  }

  resetStats(): void {
    this.stats = freshStats();
  }

  /** Reads the whole body, then routes the request. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => this.route(req, res, path, Buffer.concat(chunks).toString('utf8')));
  }

  private applyFaults(f: Faults): void {
    this.faults = f;
    this.errorsLeft = this.faults.errorCount ?? 0;
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: string): void {
    if (req.method === 'POST' && this.modelPaths.includes(path)) {
      this.serveTracked(req, res, path, raw);
      return;
    }
    if (req.method === 'GET' && path === '/v1/models') return send(res, 200, modelsBody(this.models));
    if (this.serveAdmin(`${req.method} ${path}`, res, raw)) return;
    send(res, 404, errorBody(this.provider, 404, 'not_found'));
  }

  /** GET /admin/stats, POST /admin/faults, POST /admin/reset; false for anything else. */
  private serveAdmin(route: string, res: http.ServerResponse, raw: string): boolean {
    switch (route) {
      case 'GET /admin/stats':
        send(res, 200, this.stats);
        return true;
      case 'POST /admin/faults':
        try {
          this.applyFaults(JSON.parse(raw || '{}') as Faults);
          send(res, 200, this.faults);
        } catch {
          send(res, 400, notJsonBody('faults'));
        }
        return true;
      case 'POST /admin/reset':
        this.resetStats();
        send(res, 200, this.stats);
        return true;
      default:
        return false;
    }
  }

  /** Serves a model request, counting it in flight until its response closes (aborted if unfinished). */
  private serveTracked(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: string): void {
    this.stats.inflight++;
    let counted = true;
    res.on('close', () => {
      if (!counted) return;
      counted = false;
      this.stats.inflight--;
      if (!res.writableFinished) this.stats.aborted++;
    });
    this.serveModel(req, res, path, raw).catch(() => res.destroy());
  }

  private async serveModel(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: string) {
    this.stats.requests++;
    this.stats.byPath[path] = (this.stats.byPath[path] ?? 0) + 1;
    let body: JsonObject;
    try {
      body = JSON.parse(raw) as JsonObject;
    } catch {
      return send(res, 400, errorBody(this.provider, 400, 'invalid_json'));
    }
    this.stats.last = { path, headers: req.headers, body };
    if (!this.authorized(req)) return send(res, 401, errorBody(this.provider, 401, 'invalid_api_key'));
    // The faults in force when the request arrived apply to all of it, even if they change meanwhile.
    const f = this.faults;
    if (f.capacity !== undefined && this.stats.inflight > f.capacity) {
      this.stats.overloaded++;
      return send(res, 429, errorBody(this.provider, 429, 'model_overloaded'));
    }
    if (chance(f.dropRate)) {
      this.stats.drops++;
      req.socket.destroy();
      return;
    }
    const delay = (f.latencyMs ?? 0) + (f.jitterMs ? Math.random() * f.jitterMs : 0);
    if (delay > 0) await sleep(delay);
    if (res.destroyed) return;
    if (this.drawError(f)) return this.sendError(res, f);
    return this.answer(res, path, body, f);
  }

  private authorized(req: http.IncomingMessage): boolean {
    if (this.opts.apiKey === undefined) return true;
    const key =
      this.provider === 'anthropic'
        ? req.headers['x-api-key']
        : req.headers.authorization?.replace(/^Bearer /, '');
    return key === this.opts.apiKey;
  }

  /** Whether this request fails: one of the next `errorCount` requests, or drawn at `errorRate`. */
  private drawError(f: Faults): boolean {
    const forced = this.errorsLeft > 0;
    if (forced) this.errorsLeft--;
    return forced || chance(f.errorRate);
  }

  private sendError(res: http.ServerResponse, f: Faults): void {
    this.stats.errors++;
    const status = f.errorStatus ?? 500;
    const headers: Record<string, string> =
      f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : {};
    send(res, status, errorBody(this.provider, status, f.errorCode), headers);
  }

  private answer(res: http.ServerResponse, path: string, body: JsonObject, f: Faults): Promise<void> | void {
    const defaultModel = this.models[0] as string;
    if (path === '/v1/embeddings') {
      this.stats.ok++;
      return send(res, 200, embeddingsBody(body, defaultModel));
    }
    const request = readCompletionRequest(this.provider, path, body, {
      maxTokens: this.opts.maxTokens ?? 64,
      model: defaultModel,
      echo: this.opts.echo === true,
      toolCalls: this.opts.toolCalls === true,
    });
    if (request.stream) {
      return this.stream(res, completionEvents(this.provider, request.answer, request.includeUsage), f);
    }
    this.stats.ok++;
    return send(res, 200, completionBody(this.provider, request.answer));
  }

  /** Writes the events with the streaming faults: time to first token, delay between chunks, a break. */
  private async stream(res: http.ServerResponse, events: string[], f: Faults): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (f.breakAfterChunks === 0) {
      this.stats.broken++;
      res.flushHeaders();
      setImmediate(() => res.socket?.destroy());
      return;
    }
    if (f.ttftMs) await sleep(f.ttftMs);
    const tokenDelay = f.tokenDelayMs ?? 0;
    for (let i = 0; i < events.length; i++) {
      if (res.destroyed) return;
      if (f.breakAfterChunks !== undefined && i >= f.breakAfterChunks) {
        this.stats.broken++;
        // Let the chunks already written reach the client, then cut the connection mid-stream.
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (tokenDelay > 0 && i > 0) await sleep(tokenDelay);
      if (res.destroyed) return;
      res.write(events[i]);
    }
    this.stats.ok++;
    res.end();
  }
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const simulator = new SimulatorServer(opts);
  const server = http.createServer((req, res) => simulator.handle(req, res));
  server.keepAliveTimeout = 65_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}`,
    port,
    setFaults: (f) => simulator.setFaults(f),
    stats: () => simulator.statsSnapshot(),
    resetStats: () => simulator.resetStats(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
