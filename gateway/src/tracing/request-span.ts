// The spans of one sampled request, named and filled after the OpenTelemetry HTTP and GenAI semantic
// conventions: a SERVER span for the request ("chat {model}") and a CLIENT child per upstream attempt
// ("chat {backend model}"), whose id the upstream call carries in its traceparent. The pipeline and the
// attempt runner tell the span what happened; it ends itself when the response closes. Prompt and answer
// text are recorded only for a route that captures prompts, redacted on a route with a PII policy; API keys
// never (only the key's name).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { costUsd } from '../accounting/tokens.js';
import { traceScrub, type TextScrub } from '../compliance/trace-capture.js';
import type { CacheLookup } from '../cache/response-cache.js';
import type { RuntimeBackend, RuntimeRoute } from '../config/load.js';
import type { Caller } from '../policy/types.js';
import type { Endpoint, Usage } from '../providers/types.js';
import type { FailedAttempt } from '../resilience/retry.js';
import type { GatewayError } from '../server/errors.js';
import { inputMessages, outputMessages, StreamedText } from './capture.js';
import type { Attributes, SpanEvent, SpanRecord } from './otlp.js';
import { formatTraceparent, newSpanId, type SpanContext } from './trace-context.js';

/** gen_ai.operation.name of each endpoint. */
const OPERATION: Record<Endpoint, string> = {
  chat: 'chat',
  completions: 'text_completion',
  embeddings: 'embeddings',
};

/** Why an attempt was made: the first of the plan, again on the same backend, or on the next one. */
export type AttemptKind = 'first' | 'retry' | 'fallback' | 'spill-over';

/** What a span needs of the request once its route is known. */
export interface RoutedRequest {
  route: RuntimeRoute;
  endpoint: Endpoint;
  body: Record<string, unknown>;
  stream: boolean;
  caller: Caller;
}

/** What the request came to. */
export interface SpanOutcome {
  served: RuntimeBackend | undefined;
  usage?: Usage | undefined;
  body?: string | undefined;
  error?: GatewayError | undefined;
}

export type SpanSink = (span: SpanRecord) => void;

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function backendAttributes(a: Attributes, b: RuntimeBackend): void {
  a['gen_ai.provider.name'] = b.spec.provider;
  a['gen_ai.response.model'] = b.spec.model;
  a['beastmode.backend'] = b.spec.name;
  a['beastmode.variant'] = b.spec.variant;
  a['beastmode.canary'] = b.spec.variant === 'canary';
}

/** server.address and server.port of a backend, parsed once per config rather than once per attempt. */
const servers = new WeakMap<RuntimeBackend, { address: string | undefined; port: number | undefined }>();

function serverOf(b: RuntimeBackend): { address: string | undefined; port: number | undefined } {
  let s = servers.get(b);
  if (s === undefined) {
    const url = URL.parse(b.origin);
    const port = url !== null ? Number(url.port || (url.protocol === 'https:' ? 443 : 80)) : undefined;
    s = { address: url?.hostname, port };
    servers.set(b, s);
  }
  return s;
}

/** One upstream attempt: a CLIENT span, child of the request's. */
export class AttemptSpan {
  readonly spanId = newSpanId();
  private readonly startMs: number;
  private readonly attributes: Attributes;
  private readonly events: SpanEvent[] = [];

  constructor(
    private readonly parent: RequestSpan,
    private readonly backend: RuntimeBackend,
    number: number,
    kind: AttemptKind,
  ) {
    this.startMs = parent.now();
    const server = serverOf(backend);
    this.attributes = {
      'gen_ai.operation.name': parent.operation,
      'gen_ai.request.model': backend.spec.model,
      'gen_ai.provider.name': backend.spec.provider,
      'server.address': server.address,
      'server.port': server.port,
      'beastmode.backend': backend.spec.name,
      'beastmode.variant': backend.spec.variant,
      'beastmode.attempt': number,
      'beastmode.attempt.kind': kind,
    };
  }

  get traceparent(): string {
    return formatTraceparent(this.parent.traceId, this.spanId, true);
  }

  firstToken(): void {
    if (this.attributes['beastmode.ttft_ms'] !== undefined) return;
    const at = this.parent.now();
    this.attributes['beastmode.ttft_ms'] = Math.round((at - this.startMs) * 1000) / 1000;
    this.events.push({ name: 'gen_ai.first_token', timeMs: at });
  }

  end(r: { ok: true; status: number; usage: Usage | undefined } | FailedAttempt): void {
    const a = this.attributes;
    const status = r.ok ? r.status : r.failure.status;
    a['http.response.status_code'] = status;
    if (r.ok) {
      a['gen_ai.usage.input_tokens'] = r.usage?.input;
      a['gen_ai.usage.output_tokens'] = r.usage?.output;
    } else {
      a['error.type'] = r.failure.outcome;
      a['beastmode.upstream.error_code'] = r.failure.code;
    }
    this.parent.sink({
      traceId: this.parent.traceId,
      spanId: this.spanId,
      parentSpanId: this.parent.spanId,
      name: `${this.parent.operation} ${this.backend.spec.model}`,
      kind: 'client',
      startMs: this.startMs,
      endMs: this.parent.now(),
      attributes: a,
      events: this.events,
      status: r.ok ? { code: 'unset' } : { code: 'error', message: r.failure.message },
    });
  }
}

/** The request: a SERVER span from its first byte to its response's close. */
export class RequestSpan {
  readonly spanId = newSpanId();
  operation = 'http';
  private readonly startMs: number;
  private readonly attributes: Attributes;
  private name: string;
  private capture = false;
  /** On a capturing route with a PII policy: what the recorded text goes through. */
  private scrub: TextScrub | undefined;
  private streamed: StreamedText | undefined;
  private errorType: string | undefined;
  private current: AttemptSpan | undefined;
  private attempts = 0;
  private ended = false;

  /** `traceId`: the parent's, or a new one when the request has no parent. */
  constructor(
    readonly sink: SpanSink,
    readonly now: () => number,
    req: IncomingMessage,
    private readonly parent: SpanContext | undefined,
    readonly traceId: string,
    requestId: string,
  ) {
    this.startMs = now();
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    this.name = `${req.method ?? 'GET'} ${path}`;
    this.attributes = {
      'http.request.method': req.method,
      'url.path': path,
      'http.route': path,
      'beastmode.request_id': requestId,
    };
  }

  /** The route is known: the GenAI request attributes, and the prompt when the route captures it. */
  routed(x: RoutedRequest): void {
    const a = this.attributes;
    const model = typeof x.body.model === 'string' ? x.body.model : x.route.spec.model;
    this.operation = OPERATION[x.endpoint];
    this.name = `${this.operation} ${model}`;
    a['gen_ai.operation.name'] = this.operation;
    a['gen_ai.request.model'] = model;
    a['gen_ai.request.temperature'] = num(x.body.temperature);
    a['gen_ai.request.top_p'] = num(x.body.top_p);
    a['gen_ai.request.max_tokens'] = num(x.body.max_completion_tokens) ?? num(x.body.max_tokens);
    a['beastmode.route'] = `${x.route.spec.namespace}/${x.route.spec.name}`;
    a['beastmode.stream'] = x.stream;
    a['beastmode.caller.key'] = x.caller.key;
    a['beastmode.caller.team'] = x.caller.team;
    this.capture = x.route.spec.tracing?.capturePrompts === true;
    if (!this.capture) return;
    const pii = x.route.spec.compliance?.pii;
    this.scrub = pii === undefined ? undefined : traceScrub(pii);
    a['gen_ai.input.messages'] = inputMessages(x.endpoint, x.body, this.scrub);
  }

  /** A streamed answer's text, seen as the client receives it, for a route that captures prompts. */
  streamText(): StreamedText | undefined {
    if (this.capture) this.streamed ??= new StreamedText(this.scrub);
    return this.streamed;
  }

  refused(e: GatewayError): void {
    this.errorType = e.error.code ?? e.error.type;
    this.attributes['beastmode.refusal'] = e.refusal ?? this.errorType;
  }

  cache(lookup: CacheLookup<RuntimeBackend>): void {
    this.attributes['beastmode.cache'] =
      lookup.result === 'hit' ? lookup.header.split(';', 1)[0] : lookup.result;
    if (lookup.result === 'hit') backendAttributes(this.attributes, lookup.producer);
  }

  attempt(b: RuntimeBackend, kind: AttemptKind): AttemptSpan {
    this.current = new AttemptSpan(this, b, ++this.attempts, kind);
    return this.current;
  }

  /** The attempt in progress, whose id the upstream call carries. */
  get attemptInProgress(): AttemptSpan | undefined {
    return this.current;
  }

  settled(o: SpanOutcome): void {
    const a = this.attributes;
    if (o.served !== undefined) backendAttributes(a, o.served);
    if (o.usage !== undefined) {
      a['gen_ai.usage.input_tokens'] = o.usage.input;
      a['gen_ai.usage.output_tokens'] = o.usage.output;
      if (o.served !== undefined) a['beastmode.cost_usd'] = costUsd(o.usage, o.served.spec.pricing);
    }
    if (o.error !== undefined) this.errorType ??= o.error.error.code ?? o.error.error.type;
    if (this.capture && o.body !== undefined && this.operation !== 'embeddings')
      a['gen_ai.output.messages'] = outputMessages(
        this.operation === 'chat' ? 'chat' : 'completions',
        o.body,
        this.scrub,
      );
  }

  /** The response closed (sent, or the client left). */
  end(res: ServerResponse): void {
    if (this.ended) return;
    this.ended = true;
    const a = this.attributes;
    const status = res.writableFinished ? res.statusCode : 499;
    a['http.response.status_code'] = status;
    if (this.attempts > 0) a['beastmode.attempts'] = this.attempts;
    if (this.streamed !== undefined) a['gen_ai.output.messages'] = this.streamed.messages();
    const errorType =
      this.errorType ?? (status === 499 ? 'client_closed' : status >= 400 ? String(status) : undefined);
    a['error.type'] = errorType;
    this.sink({
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parent?.spanId,
      name: this.name,
      kind: 'server',
      startMs: this.startMs,
      endMs: this.now(),
      attributes: a,
      events: [],
      // HTTP server convention: a 4xx is the client's error, not the server's; 5xx marks the span failed.
      status: status >= 500 ? { code: 'error', message: errorType } : { code: 'unset' },
    });
  }
}
