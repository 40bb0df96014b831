// Upstream attempts for one request: the fallback chain with retries, circuit breakers and timeouts, for
// plain JSON and for SSE streams. Nothing is sent to the client before an attempt has a response (or, for
// a stream, its first chunk), so any failure before that can still fall over; a failure after it ends the
// stream with an SSE error event.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { SecretResolver } from '../config/secrets.js';
import type { RuntimeBackend, RuntimeRoute } from '../config/load.js';
import { openAIUsage } from '../providers/openai.js';
import { buildUpstreamBody, clientWantsUsage, upstreamHeaders } from '../providers/provider.js';
import { SseParser } from '../providers/sse.js';
import {
  UpstreamStreamError,
  type Endpoint,
  type OpenAIErrorObject,
  type TransformContext,
  type Usage,
} from '../providers/types.js';
import type { CircuitBreakers } from '../resilience/breaker.js';
import type { StreamObserver } from './policy.js';
import {
  decideAfterFailure,
  hurtsBreaker,
  parseRetryAfter,
  type AttemptFailure,
} from '../resilience/retry.js';
import { gatewayError, type GatewayError } from './errors.js';
import type { GatewayMetrics, ServedBy } from './metrics.js';
import type { ObservedStatsStore } from './observed.js';
import type { UpstreamPools } from './pools.js';
import { Cancellation } from './cancel.js';
import {
  costOf,
  drained,
  finalError,
  looksLikeJsonObject,
  outcomeForStatus,
  scanUsage,
} from './upstream-answer.js';

export interface ProxyDeps {
  pools: UpstreamPools;
  breakers: CircuitBreakers;
  metrics: GatewayMetrics;
  observed: ObservedStatsStore;
  secrets: SecretResolver;
  now: () => number;
  /** False when the policy accounts tokens and cost itself (beastmode_tokens_total, beastmode_cost_usd_total). */
  countTokens: boolean;
  log: (level: 'debug' | 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
}

export interface ProxyRequest {
  requestId: string;
  route: RuntimeRoute;
  endpoint: Endpoint;
  body: Record<string, unknown>;
  stream: boolean;
  plan: RuntimeBackend[];
  res: ServerResponse;
  clientSignal: Cancellation;
  /** Sees the SSE text written to the client (policy metering and stream caching). */
  observer?: StreamObserver | undefined;
}

export interface ProxyResult {
  status: number;
  served: RuntimeBackend | undefined;
  usage: Usage | undefined;
  costUsd: number;
  /** The body of a complete non-streaming 2xx answer (for the cache). */
  body?: string | undefined;
  /** The error to answer with, when no attempt succeeded and nothing was sent yet. */
  error?: GatewayError | undefined;
}

type AttemptResult =
  | { ok: true; usage: Usage | undefined; body?: string; status: number }
  | { ok: false; failure: AttemptFailure; error: OpenAIErrorObject; committed: boolean };

export const servedBy = (route: RuntimeRoute, b: RuntimeBackend): ServedBy => ({
  namespace: route.spec.namespace,
  route: route.spec.name,
  backend: b.spec.name,
  variant: b.spec.variant,
});

function sleep(ms: number, signal: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    if (signal.cancelled) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.off('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.once('abort', done);
  });
}

/** Resolves when the response can take more data, or when it closed. */
export class Proxy {
  constructor(private readonly deps: ProxyDeps) {}

  /** Runs the attempt plan and answers the client (unless the result carries an error to send). */
  async run(req: ProxyRequest): Promise<ProxyResult> {
    const { route, plan } = req;
    const { metrics, breakers, now } = this.deps;
    const max = route.spec.fallback.maxAttempts;
    let attempts = 0;
    let last: { b: RuntimeBackend; failure: AttemptFailure; error: OpenAIErrorObject } | undefined;
    for (let i = 0; i < plan.length && attempts < max; i++) {
      const b = plan[i] as RuntimeBackend;
      for (let retries = 0; attempts < max;) {
        if (req.clientSignal.cancelled) return this.aborted(b);
        attempts++;
        breakers.begin(b.key, now());
        const started = now();
        const r = await this.attempt(req, b, started);
        const by = servedBy(route, b);
        if (r.ok) {
          metrics.attempt(by, 'ok');
          breakers.success(b.key);
          this.deps.observed.observeLatency(route.spec, b.spec.name, now() - started);
          metrics.latency(by, (now() - started) / 1000);
          return this.succeeded(req, b, r.usage, r.status, r.body);
        }
        const f = r.failure;
        metrics.attempt(by, f.outcome);
        if (hurtsBreaker(f)) breakers.failure(b.key, now());
        else breakers.neutral(b.key);
        this.deps.log('debug', 'Upstream attempt failed', {
          requestId: req.requestId,
          backend: b.spec.name,
          variant: b.spec.variant,
          outcome: f.outcome,
          status: f.status,
          reason: f.message,
        });
        if (r.committed || f.outcome === 'aborted') {
          // A stream that broke after its first chunk answered 200 on the wire but failed the user: count it
          // as a 502 so error rates (and canary analysis) see it. 499: the client went away.
          return { status: f.outcome === 'aborted' ? 499 : 502, served: b, usage: undefined, costUsd: 0 };
        }
        last = { b, failure: f, error: r.error };
        const decision = decideAfterFailure(route.spec, f, retries);
        if (decision.action === 'fail') return this.failed(last);
        if (decision.action === 'retry' && attempts < max) {
          metrics.retries.inc({
            namespace: by.namespace,
            route: by.route,
            backend: by.backend,
            cause: f.outcome,
          });
          await sleep(decision.delayMs, req.clientSignal);
          retries++;
          continue;
        }
        const next = plan[i + 1];
        if (next !== undefined && attempts < max) {
          metrics.fallbacks.inc({
            namespace: by.namespace,
            route: by.route,
            from: b.spec.name,
            to: next.spec.name,
            cause: f.outcome,
          });
        }
        break;
      }
    }
    if (last === undefined) {
      return {
        status: 503,
        served: undefined,
        usage: undefined,
        costUsd: 0,
        error: gatewayError(503, 'no backend available', 'no_backend'),
      };
    }
    return this.failed(last);
  }

  private aborted(b: RuntimeBackend): ProxyResult {
    return { status: 499, served: b, usage: undefined, costUsd: 0 };
  }

  private failed(last: {
    b: RuntimeBackend;
    failure: AttemptFailure;
    error: OpenAIErrorObject;
  }): ProxyResult {
    const error = finalError(last.failure, last.error);
    return { status: error.status, served: last.b, usage: undefined, costUsd: 0, error };
  }

  private succeeded(
    req: ProxyRequest,
    b: RuntimeBackend,
    usage: Usage | undefined,
    status: number,
    body: string | undefined,
  ): ProxyResult {
    const by = servedBy(req.route, b);
    const costUsd = costOf(b, usage);
    if (usage !== undefined && this.deps.countTokens) {
      this.deps.metrics.tokens.inc({ ...by, direction: 'input' }, usage.input);
      this.deps.metrics.tokens.inc({ ...by, direction: 'output' }, usage.output);
      if (costUsd > 0) this.deps.metrics.cost.inc(by, costUsd);
    }
    if (usage !== undefined) this.deps.observed.observeTokens(req.route.spec, usage.input, usage.output);
    return { status, served: b, usage, costUsd, body };
  }

  /** One upstream call with its timers; answers the client itself on success. */
  private async attempt(req: ProxyRequest, b: RuntimeBackend, started: number): Promise<AttemptResult> {
    const { timeouts } = req.route.spec;
    const path = b.adapter.paths[req.endpoint];
    if (path === undefined) {
      const message = `backend ${b.spec.name} does not serve ${req.endpoint}`;
      return {
        ok: false,
        failure: { outcome: '4xx', status: 400, message },
        error: gatewayError(400, message).error,
        committed: false,
      };
    }
    let apiKey: string | undefined;
    if (b.spec.credentials !== undefined) {
      apiKey = await this.deps.secrets.resolve(b.spec.credentials);
      if (apiKey === undefined) {
        const c = b.spec.credentials;
        const message = `credentials ${c.namespace}/${c.name} key ${c.key} of backend ${b.spec.name} are not available`;
        this.deps.log('warn', 'Backend credentials unavailable', {
          backend: b.spec.name,
          secret: `${c.namespace}/${c.name}`,
          key: c.key,
        });
        return {
          ok: false,
          failure: { outcome: 'connect-error', message },
          error: gatewayError(502, message).error,
          committed: false,
        };
      }
    }
    const ac = new Cancellation();
    let why: 'first' | 'total' | 'client' | undefined;
    const onClient = () => {
      why ??= 'client';
      ac.abort();
    };
    req.clientSignal.once('abort', onClient);
    const firstTimer = setTimeout(() => {
      why ??= 'first';
      ac.abort();
    }, timeouts.firstTokenMs);
    const totalTimer = setTimeout(() => {
      why ??= 'total';
      ac.abort();
    }, timeouts.totalMs);
    const ctx: TransformContext = {
      model: b.spec.model,
      created: Math.floor(this.deps.now() / 1000),
      clientWantsUsage: clientWantsUsage(req.body),
    };
    let headersIn = false;
    try {
      const upstreamBody = JSON.stringify(buildUpstreamBody(b.adapter, req.endpoint, req.body, b.spec.model));
      const resp = await this.deps.pools.get(b.origin).request({
        path: b.basePath + path,
        method: 'POST',
        headers: upstreamHeaders(b.adapter, apiKey),
        body: upstreamBody,
        signal: ac,
      });
      headersIn = true;
      if (resp.statusCode < 200 || resp.statusCode >= 300) return await this.upstreamError(b, resp);
      if (!req.stream) {
        const text = await resp.body.text();
        clearTimeout(firstTimer);
        return this.answerJson(req, b, text, ctx, started);
      }
      return await this.answerStream(req, b, resp, ctx, started, () => clearTimeout(firstTimer));
    } catch (err) {
      const committed = req.res.headersSent;
      const outcome: AttemptFailure['outcome'] =
        why === 'client'
          ? 'aborted'
          : why !== undefined
            ? 'timeout'
            : headersIn || committed
              ? 'stream-error'
              : 'connect-error';
      const message =
        why === 'first'
          ? `no ${req.stream ? 'first chunk' : 'response'} within ${timeouts.firstTokenMs}ms`
          : why === 'total'
            ? `not complete within ${timeouts.totalMs}ms`
            : err instanceof Error
              ? err.message
              : String(err);
      const error =
        err instanceof UpstreamStreamError
          ? err.error
          : gatewayError(outcome === 'timeout' ? 504 : 502, `upstream ${outcome}: ${message}`, outcome).error;
      if (committed) {
        this.endStreamWithError(req.res, error);
        req.observer?.end(false);
      }
      return { ok: false, failure: { outcome, message }, error, committed };
    } finally {
      clearTimeout(firstTimer);
      clearTimeout(totalTimer);
      req.clientSignal.off('abort', onClient);
    }
  }

  private async upstreamError(b: RuntimeBackend, resp: Dispatcher.ResponseData): Promise<AttemptResult> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await resp.body.text());
    } catch {
      parsed = undefined;
    }
    const error = b.adapter.transformError(resp.statusCode, parsed);
    const failure: AttemptFailure = {
      outcome: outcomeForStatus(resp.statusCode),
      status: resp.statusCode,
      code: error.code ?? undefined,
      retryAfterMs: parseRetryAfter(resp.headers['retry-after'], this.deps.now()),
      message: error.message,
    };
    if (error.type === 'insufficient_quota') failure.code = 'insufficient_quota';
    return { ok: false, failure, error, committed: false };
  }

  private answerJson(
    req: ProxyRequest,
    b: RuntimeBackend,
    text: string,
    ctx: TransformContext,
    started: number,
  ): AttemptResult {
    let body: string;
    let usage: Usage | undefined;
    if (b.adapter.passthroughResponses && looksLikeJsonObject(text)) {
      // Same wire format: send the upstream bytes untouched and read usage without parsing everything.
      body = text;
      usage = scanUsage(text);
    } else {
      let upstream: unknown;
      try {
        upstream = JSON.parse(text);
      } catch {
        const message = 'upstream sent a response that is not JSON';
        return {
          ok: false,
          failure: { outcome: 'stream-error', message },
          error: gatewayError(502, message).error,
          committed: false,
        };
      }
      const out = b.adapter.transformResponse(req.endpoint, upstream, ctx);
      body = out === upstream ? text : JSON.stringify(out);
      usage = openAIUsage(out);
    }
    this.deps.metrics.ttft(servedBy(req.route, b), (this.deps.now() - started) / 1000);
    req.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      [HEADERS.backend]: b.spec.name,
      [HEADERS.variant]: b.spec.variant,
    });
    req.res.end(body);
    return { ok: true, usage, body, status: 200 };
  }

  private async answerStream(
    req: ProxyRequest,
    b: RuntimeBackend,
    resp: Dispatcher.ResponseData,
    ctx: TransformContext,
    started: number,
    onFirstChunk: () => void,
  ): Promise<AttemptResult> {
    const res = req.res;
    const parser = new SseParser();
    const tx = b.adapter.newStreamTransformer(ctx);
    const write = async (payloads: string[]) => {
      if (payloads.length === 0) return;
      if (!res.headersSent) {
        onFirstChunk();
        this.deps.metrics.ttft(servedBy(req.route, b), (this.deps.now() - started) / 1000);
        res.writeHead(200, {
          [HEADERS.backend]: b.spec.name,
          [HEADERS.variant]: b.spec.variant,
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache',
          connection: 'keep-alive',
        });
      }
      let s = '';
      for (const p of payloads) s += `data: ${p}\n\n`;
      req.observer?.write(s);
      if (!res.write(s)) await drained(res);
    };
    for await (const chunk of resp.body as AsyncIterable<Buffer>) {
      const out: string[] = [];
      for (const ev of parser.push(chunk)) out.push(...tx.push(ev));
      await write(out);
    }
    const tail: string[] = [];
    for (const ev of parser.end()) tail.push(...tx.push(ev));
    await write(tail);
    if (!res.headersSent) {
      const message = 'upstream closed the stream before the first chunk';
      return {
        ok: false,
        failure: { outcome: 'stream-error', message },
        error: gatewayError(502, message).error,
        committed: false,
      };
    }
    res.end();
    req.observer?.end(true);
    return { ok: true, usage: tx.usage(), status: 200 };
  }

  private endStreamWithError(res: ServerResponse, error: OpenAIErrorObject): void {
    if (res.writableEnded || res.destroyed) return;
    res.end(`data: ${JSON.stringify({ error })}\n\n`);
  }
}
