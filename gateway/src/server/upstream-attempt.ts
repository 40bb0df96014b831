// One upstream attempt of one request on one backend: its credentials, its two timers (first token, total),
// the upstream request, and the answer to the client — a JSON body written whole, or an SSE stream relayed
// chunk by chunk. Nothing reaches the client before the attempt has a response (or, streaming, its first
// chunk), so a failure before that can still fall over; a failure after it ends the stream with an SSE
// error event.
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { RuntimeBackend, RuntimeRoute } from '../config/load.js';
import type { SecretResolver } from '../config/secrets.js';
import type { CompliancePass } from '../compliance/route-policy.js';
import type { Logger } from '../log.js';
import type { RequestSpan } from '../tracing/request-span.js';
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
import { parseRetryAfter, type AttemptFailure, type FailedAttempt } from '../resilience/retry.js';
import { Cancellation } from './cancel.js';
import { answerRestore, sentBody } from './compliance-attempt.js';
import { gatewayError } from './errors.js';
import { servedBy, type GatewayMetrics } from './metrics.js';
import { upstreamVia } from './loops.js';
import type { UpstreamPools } from './pools.js';
import { drained, looksLikeJsonObject, outcomeForStatus, scanUsage } from './upstream-answer.js';

/** Sees every SSE text written to the client of a streamed answer. */
export interface StreamObserver {
  write(sse: string): void;
  /** `complete`: the upstream stream ended normally (not broken, not aborted by the client). */
  end(complete: boolean): void;
}

/** What an attempt needs of the request it serves. */
export interface UpstreamRequest {
  requestId: string;
  /** The config revision it is served under, named in its answer. */
  revision: string;
  route: RuntimeRoute;
  endpoint: Endpoint;
  body: Record<string, unknown>;
  stream: boolean;
  res: ServerResponse;
  /** Cancelled when the client goes away. */
  client: Cancellation;
  observer: StreamObserver | undefined;
  /** The request's span, when it is traced. */
  trace: RequestSpan | undefined;
  /** What each backend class is sent, on routes with a compliance policy. */
  compliance?: CompliancePass | undefined;
}

export type AttemptResult =
  { ok: true; status: number; usage: Usage | undefined; body?: string | undefined } | FailedAttempt;

export interface UpstreamDeps {
  pools: UpstreamPools;
  secrets: SecretResolver;
  metrics: GatewayMetrics;
  now: () => number;
  log: Logger;
  /** This gateway's Via pseudonym (loops.ts). */
  self: () => string;
}

/** The longest upstream error message passed on to a client, in characters. */
const MAX_UPSTREAM_MESSAGE = 1000;

type Expiry = 'first' | 'total' | 'client';

/**
 * The attempt's cancellation: the client left, no first token in time, or not complete in time. One timer
 * at a time: the first-token deadline (or the total one, if sooner), then, once the first token is in, the
 * rest of the total — a JSON answer, complete when its first token is, never arms the second. Its clocks
 * start (`arm`) once the upstream request is on its way, so arming them adds nothing to the request's
 * latency; both deadlines count from the attempt's start.
 */
class AttemptDeadline {
  readonly signal = new Cancellation();
  why: Expiry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedAt = performance.now();
  private readonly onClientGone = (): void => this.expire('client');

  constructor(
    private readonly client: Cancellation,
    readonly timeouts: RuntimeRoute['spec']['timeouts'],
  ) {}

  arm(): void {
    if (this.client.cancelled) return this.expire('client');
    this.client.once('abort', this.onClientGone);
    const { firstTokenMs, totalMs } = this.timeouts;
    const first = firstTokenMs < totalMs;
    const elapsed = performance.now() - this.startedAt;
    this.timer = setTimeout(
      expire,
      Math.max(0, (first ? firstTokenMs : totalMs) - elapsed),
      this,
      first ? 'first' : 'total',
    );
  }

  expire(why: Expiry): void {
    this.why ??= why;
    this.signal.abort();
  }

  /** The first token is in: from now on only the total deadline holds. */
  firstTokenArrived(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Streaming goes on after the first token: arm what is left of the total deadline. */
  streaming(): void {
    const left = this.timeouts.totalMs - (performance.now() - this.startedAt);
    if (this.timer === undefined) this.timer = setTimeout(expire, Math.max(0, left), this, 'total');
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.client.off('abort', this.onClientGone);
  }
}

const expire = (deadline: AttemptDeadline, why: Expiry): void => deadline.expire(why);

const failed = (failure: AttemptFailure, error: OpenAIErrorObject, committed = false): FailedAttempt => ({
  ok: false,
  failure,
  error,
  committed,
});

/** A failure the gateway itself diagnosed (not an upstream answer), with its 502 error. */
const failedHere = (outcome: AttemptFailure['outcome'], message: string): FailedAttempt =>
  failed({ outcome, message }, gatewayError(502, message).error);

/** A backend outside what the route's compliance policy screened (a spill-over target): never called. */
function refusedByCompliance(b: RuntimeBackend): FailedAttempt {
  const message = `backend ${b.spec.name} is not allowed this request by its route's compliance policy`;
  return failed(
    { outcome: '4xx', status: 403, message },
    gatewayError(403, message, 'compliance_refused').error,
  );
}

/** Calls one backend for one request and, on success, answers the client. */
export class UpstreamCaller {
  constructor(private readonly deps: UpstreamDeps) {}

  async attempt(x: UpstreamRequest, b: RuntimeBackend, started: number): Promise<AttemptResult> {
    const path = b.adapter.paths[x.endpoint];
    if (path === undefined) {
      const message = `backend ${b.spec.name} does not serve ${x.endpoint}`;
      return failed({ outcome: '4xx', status: 400, message }, gatewayError(400, message).error);
    }
    const body = sentBody(x, b);
    if (body === undefined) return refusedByCompliance(b);
    // A backend without credentials (an in-cluster model server) awaits nothing for them.
    const apiKey = b.spec.credentials === undefined ? undefined : await this.credentials(b);
    if (typeof apiKey === 'object') return apiKey;
    const deadline = new AttemptDeadline(x.client, x.route.spec.timeouts);
    let headersIn = false;
    const by = b.labels;
    this.deps.metrics.upstreamCall(by, 1);
    try {
      // The request goes upstream first (undici writes it before returning): what it does not need is done
      // while the backend works, off the latency the gateway adds.
      const answer = this.deps.pools.get(b.origin).request({
        path: b.basePath + path,
        method: 'POST',
        headers: traced(
          upstreamHeaders(b.adapter, apiKey, upstreamVia(x.res.req.headers.via, this.deps.self())),
          x.trace,
        ),
        body: JSON.stringify(buildUpstreamBody(b.adapter, x.endpoint, body, b.spec.model)),
        signal: deadline.signal,
      });
      deadline.arm();
      const ctx: TransformContext = {
        model: b.spec.model,
        created: Math.floor(this.deps.now() / 1000),
        clientWantsUsage: clientWantsUsage(x.body),
      };
      const resp = await answer;
      headersIn = true;
      if (resp.statusCode < 200 || resp.statusCode >= 300) return await this.upstreamError(b, resp);
      if (x.stream) return await this.answerStream(x, b, resp, ctx, started, deadline);
      // The first-token deadline holds while the body is read; `dispose` clears it once the answer is out.
      const text = await resp.body.text();
      return this.answerJson(x, b, text, ctx, started);
    } catch (err) {
      return this.brokenOff(x, err, deadline, headersIn);
    } finally {
      deadline.dispose();
      this.deps.metrics.upstreamCall(by, -1);
    }
  }

  /** The backend's API key, undefined when it needs none, or the failed attempt when it is missing. */
  private async credentials(b: RuntimeBackend): Promise<string | undefined | FailedAttempt> {
    const c = b.spec.credentials;
    if (c === undefined) return undefined;
    const apiKey = await this.deps.secrets.resolve(c);
    if (apiKey !== undefined) return apiKey;
    this.deps.log.log('warn', 'Backend credentials unavailable', {
      backend: b.spec.name,
      secret: `${c.namespace}/${c.name}`,
      key: c.key,
    });
    const message = `credentials ${c.namespace}/${c.name} key ${c.key} of backend ${b.spec.name} are not available`;
    return failedHere('connect-error', message);
  }

  /** An attempt that threw: a timeout, the client leaving, or the connection or stream breaking. */
  private brokenOff(x: UpstreamRequest, err: unknown, deadline: AttemptDeadline, headersIn: boolean) {
    const committed = x.res.headersSent;
    const why = deadline.why;
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
        ? `no ${x.stream ? 'first chunk' : 'response'} within ${deadline.timeouts.firstTokenMs}ms`
        : why === 'total'
          ? `not complete within ${deadline.timeouts.totalMs}ms`
          : err instanceof Error
            ? err.message
            : String(err);
    const error =
      err instanceof UpstreamStreamError
        ? err.error
        : gatewayError(outcome === 'timeout' ? 504 : 502, `upstream ${outcome}: ${message}`, outcome).error;
    if (committed) {
      endStreamWithError(x.res, error);
      x.observer?.end(false);
    }
    return failed({ outcome, message }, error, committed);
  }

  private async upstreamError(b: RuntimeBackend, resp: Dispatcher.ResponseData): Promise<FailedAttempt> {
    if (resp.statusCode < 400) {
      // A redirect (or another answer that is not final) is never followed: it could point anywhere.
      await resp.body.dump().catch(() => undefined);
      const message = `upstream answered ${resp.statusCode} instead of a response; redirects are not followed`;
      return failed({ outcome: '5xx', status: 502, message }, gatewayError(502, message).error);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await resp.body.text());
    } catch {
      parsed = undefined;
    }
    const error = b.adapter.transformError(resp.statusCode, parsed);
    // Only the structured error reaches the client (never the raw body), its message bounded.
    if (error.message.length > MAX_UPSTREAM_MESSAGE)
      error.message = `${error.message.slice(0, MAX_UPSTREAM_MESSAGE)}…`;
    return failed(
      {
        outcome: outcomeForStatus(resp.statusCode),
        status: resp.statusCode,
        code: error.type === 'insufficient_quota' ? 'insufficient_quota' : (error.code ?? undefined),
        retryAfterMs: parseRetryAfter(resp.headers['retry-after'], this.deps.now()),
        message: error.message,
      },
      error,
    );
  }

  private answerJson(
    x: UpstreamRequest,
    b: RuntimeBackend,
    text: string,
    ctx: TransformContext,
    started: number,
  ): AttemptResult {
    let body: string;
    let usage: Usage | undefined;
    // Same wire format: send the upstream bytes untouched, and read usage (without parsing everything)
    // once they are on their way.
    const passthrough = b.adapter.passthroughResponses && looksLikeJsonObject(text);
    if (passthrough) body = text;
    else {
      let upstream: unknown;
      try {
        upstream = JSON.parse(text);
      } catch {
        return failedHere('stream-error', 'upstream sent a response that is not JSON');
      }
      const out = b.adapter.transformResponse(x.endpoint, upstream, ctx);
      body = out === upstream ? text : JSON.stringify(out);
      usage = openAIUsage(out);
    }
    body = answerRestore(x, b)?.json(body) ?? body;
    const answered = this.deps.now();
    x.trace?.attemptInProgress?.firstToken();
    x.res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      [HEADERS.requestId]: x.requestId,
      [HEADERS.configRevision]: x.revision,
      [HEADERS.backend]: b.spec.name,
      [HEADERS.variant]: b.spec.variant,
    });
    x.res.end(body);
    if (passthrough) usage = scanUsage(text);
    this.deps.metrics.ttft(servedBy(x.route, b), (answered - started) / 1000);
    return { ok: true, status: 200, usage, body };
  }

  private async answerStream(
    x: UpstreamRequest,
    b: RuntimeBackend,
    resp: Dispatcher.ResponseData,
    ctx: TransformContext,
    started: number,
    deadline: AttemptDeadline,
  ): Promise<AttemptResult> {
    const res = x.res;
    const parser = new SseParser();
    const tx = b.adapter.newStreamTransformer(ctx);
    const restorer = answerRestore(x, b)?.stream();
    const write = async (upstream: string[], last = false) => {
      const payloads =
        restorer === undefined ? upstream : [...restorer.push(upstream), ...(last ? restorer.end() : [])];
      if (payloads.length === 0) return;
      if (!res.headersSent) this.startStream(x, b, started, deadline);
      let s = '';
      for (const p of payloads) s += `data: ${p}\n\n`;
      x.observer?.write(s);
      x.trace?.streamText()?.push(s);
      if (!res.write(s)) await drained(res);
    };
    for await (const chunk of resp.body as AsyncIterable<Buffer>) {
      const out: string[] = [];
      for (const ev of parser.push(chunk)) out.push(...tx.push(ev));
      await write(out);
    }
    const tail: string[] = [];
    for (const ev of parser.end()) tail.push(...tx.push(ev));
    await write(tail, true);
    if (!res.headersSent)
      return failedHere('stream-error', 'upstream closed the stream before the first chunk');
    res.end();
    x.observer?.end(true);
    return { ok: true, status: 200, usage: tx.usage() };
  }

  private startStream(
    x: UpstreamRequest,
    b: RuntimeBackend,
    started: number,
    deadline: AttemptDeadline,
  ): void {
    deadline.firstTokenArrived();
    deadline.streaming();
    this.deps.metrics.ttft(servedBy(x.route, b), (this.deps.now() - started) / 1000);
    x.trace?.attemptInProgress?.firstToken();
    x.res.writeHead(200, {
      [HEADERS.requestId]: x.requestId,
      [HEADERS.configRevision]: x.revision,
      [HEADERS.backend]: b.spec.name,
      [HEADERS.variant]: b.spec.variant,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
  }
}

/** A traced attempt's upstream call carries its span as the parent of whatever the backend traces. */
function traced(headers: Record<string, string>, trace: RequestSpan | undefined): Record<string, string> {
  const attempt = trace?.attemptInProgress;
  if (attempt !== undefined) headers.traceparent = attempt.traceparent;
  return headers;
}

function endStreamWithError(res: ServerResponse, error: OpenAIErrorObject): void {
  if (res.writableEnded || res.destroyed) return;
  res.end(`data: ${JSON.stringify({ error })}\n\n`);
}
