// The request pipeline of the OpenAI-compatible endpoints, on bare node:http (see README: express cost
// measurably on this path). Order: limits on size and concurrency → authenticate → parse → route → admit →
// cache → select → proxy/stream → settle. Every error is an OpenAI-style JSON body; nothing here throws
// to the server.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { RuntimeBackend, RuntimeConfig, RuntimeRoute } from '../config/load.js';
import type { ConfigStore } from '../config/store.js';
import type { Endpoint } from '../providers/types.js';
import { selectBackends } from '../routing/select.js';
import { gatewayError, sendError, type GatewayError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { isRefusal, type Admission, type RequestInfo, type RequestPolicy } from './policy.js';
import { servedBy, type Proxy, type ProxyResult } from './proxy.js';
import type { RecentRequests } from './recent.js';
import type { CircuitBreakers } from '../resilience/breaker.js';
import type { ObservedStatsStore } from './observed.js';
import type { Logger } from '../log.js';
import { Cancellation } from './cancel.js';

export const MODEL_ENDPOINTS: Record<string, Endpoint> = {
  '/v1/chat/completions': 'chat',
  '/v1/completions': 'completions',
  '/v1/embeddings': 'embeddings',
};

export interface PipelineDeps {
  store: ConfigStore;
  proxy: Proxy;
  policy: RequestPolicy;
  metrics: GatewayMetrics;
  recent: RecentRequests;
  breakers: CircuitBreakers;
  observed: ObservedStatsStore;
  log: Logger;
  now: () => number;
  random: () => number;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const NONE = { namespace: '', route: '', backend: '', variant: '' };

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Reads the body up to `max` bytes; undefined when it is larger (the caller answers 413). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > max) return resolve(undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('client closed the request while sending it'));
    });
  });
}

/** The prompt text a selection policy may read (quality-cost): message contents or the prompt. */
function promptText(body: Record<string, unknown>): string {
  const msgs = body.messages;
  if (Array.isArray(msgs)) {
    let s = '';
    for (const m of msgs) {
      const c = (m as { content?: unknown } | null)?.content;
      if (typeof c === 'string') s += `${c}\n`;
      else if (Array.isArray(c))
        for (const p of c) {
          const t = (p as { text?: unknown } | null)?.text;
          if (typeof t === 'string') s += `${t}\n`;
        }
    }
    return s;
  }
  return typeof body.prompt === 'string'
    ? body.prompt
    : Array.isArray(body.prompt)
      ? body.prompt.join('\n')
      : '';
}

function sendErrorWithServedHeaders(res: ServerResponse, e: GatewayError): void {
  if (!res.headersSent) {
    if (!res.hasHeader(HEADERS.backend)) res.setHeader(HEADERS.backend, 'none');
    if (!res.hasHeader(HEADERS.variant)) res.setHeader(HEADERS.variant, 'none');
  }
  sendError(res, e);
}

export class Pipeline {
  private inflight = 0;

  constructor(private readonly deps: PipelineDeps) {}

  get inflightRequests(): number {
    return this.inflight;
  }

  /** The node:http handler for /v1/*. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const incomingId = headerString(req.headers[HEADERS.requestId]);
    const requestId = incomingId !== undefined && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const snapshot = this.deps.store.current();
    // Backend and variant are set with the answer (one writeHead on the hot path), or as "none" on errors.
    res.setHeader(HEADERS.requestId, requestId);
    res.setHeader(HEADERS.configRevision, snapshot?.config.revision ?? 'none');
    if (snapshot === undefined) {
      return this.refuse(res, gatewayError(503, 'the gateway has no config yet', 'not_ready', null, 1));
    }
    if (this.inflight >= snapshot.config.limits.maxConcurrentRequests) {
      res.setHeader('connection', 'close');
      return this.refuse(
        res,
        gatewayError(503, 'too many concurrent requests, retry shortly', 'overloaded', null, 1),
      );
    }
    this.inflight++;
    this.deps.metrics.inflight.inc();
    const client = new Cancellation();
    let released = false;
    res.once('close', () => {
      if (!released) {
        released = true;
        this.inflight--;
        this.deps.metrics.inflight.dec();
      }
      // A client that goes away aborts the upstream call and frees its slot.
      if (!res.writableFinished) client.abort();
    });
    this.serve(req, res, requestId, snapshot, client).catch((err: unknown) => {
      if (client.cancelled) return;
      this.deps.log.log('error', 'Request failed unexpectedly', {
        requestId,
        reason: err instanceof Error ? err.message : String(err),
      });
      this.refuse(res, gatewayError(500, 'internal gateway error', 'internal_error'));
    });
  };

  private refuse(res: ServerResponse, e: GatewayError, by = NONE): void {
    this.deps.metrics.request(by, e.status);
    // A 401 names the scheme it wants (RFC 9110 §11.6.1); the seam's refusal carries no other headers.
    if (e.status === 401 && !res.headersSent) res.setHeader('www-authenticate', 'Bearer');
    sendErrorWithServedHeaders(res, e);
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    snapshot: RuntimeConfig,
    signal: Cancellation,
  ): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const config = snapshot.config;
    const caller = await this.deps.policy.authenticate(req.headers, config);
    if (isRefusal(caller)) {
      if (!this.deps.policy.ownsMetrics?.refusals) this.deps.metrics.refusals.inc({ reason: caller.reason });
      return this.refuse(res, caller);
    }
    if (path === '/v1/models') {
      if (req.method !== 'GET')
        return this.refuse(res, gatewayError(405, 'use GET /v1/models', 'method_not_allowed'));
      return this.listModels(res, snapshot);
    }
    const endpoint = MODEL_ENDPOINTS[path];
    if (endpoint === undefined)
      return this.refuse(res, gatewayError(404, `unknown path ${path}`, 'unknown_url'));
    if (req.method !== 'POST')
      return this.refuse(res, gatewayError(405, `use POST ${path}`, 'method_not_allowed'));
    const max = config.limits.maxRequestBytes;
    const raw = await readBody(req, max);
    if (raw === undefined) {
      res.setHeader('connection', 'close');
      return this.refuse(
        res,
        gatewayError(413, `request body is larger than ${max} bytes`, 'request_too_large'),
      );
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return this.refuse(res, gatewayError(400, 'the request body is not a JSON object', 'invalid_json'));
    }
    const model = body.model;
    if (typeof model !== 'string' || model === '') {
      return this.refuse(
        res,
        gatewayError(400, 'you must provide a model parameter', 'missing_model', 'model'),
      );
    }
    const route = snapshot.routes.get(model);
    if (route === undefined) {
      return this.refuse(
        res,
        gatewayError(404, `The model \`${model}\` does not exist`, 'model_not_found', 'model'),
      );
    }
    const info: RequestInfo = {
      requestId,
      config,
      route: route.spec,
      endpoint,
      body,
      stream: body.stream === true && endpoint !== 'embeddings',
      headers: req.headers,
      caller: caller ?? undefined,
    };
    await this.admitted(res, info, route, signal);
  }

  private async admitted(res: ServerResponse, info: RequestInfo, route: RuntimeRoute, signal: Cancellation) {
    const { policy, metrics } = this.deps;
    const admission = await policy.admit(info);
    if (isRefusal(admission)) {
      if (!policy.ownsMetrics?.refusals) metrics.refusals.inc({ reason: admission.reason });
      return this.refuse(res, admission);
    }
    if (route.spec.cache.mode !== 'off' && (await this.servedFromCache(res, info, route, admission))) return;
    const plan = this.plan(info, route, admission);
    if (plan.length === 0) {
      const e = gatewayError(
        400,
        `model ${route.spec.model} does not support ${info.endpoint}`,
        'unsupported_endpoint',
      );
      policy.settle(info, admission, {
        status: 400,
        backend: undefined,
        variant: undefined,
        usage: undefined,
        costUsd: 0,
        cached: false,
      });
      return this.refuse(res, e);
    }
    const result = await this.deps.proxy.run({
      requestId: info.requestId,
      route,
      endpoint: info.endpoint,
      body: info.body,
      stream: info.stream,
      plan,
      res,
      clientSignal: signal,
      observer: info.stream ? policy.observeStream?.(info, admission) : undefined,
    });
    this.finish(res, info, route, admission, result);
  }

  /** Answers from the cache on a hit; returns whether it did. */
  private async servedFromCache(
    res: ServerResponse,
    info: RequestInfo,
    route: RuntimeRoute,
    admission: Admission,
  ): Promise<boolean> {
    const { policy, metrics } = this.deps;
    const by0 = { namespace: route.spec.namespace, route: route.spec.name };
    const found = await policy.lookupCache(info);
    const hit = found === 'bypass' ? undefined : found;
    if (!policy.ownsMetrics?.cacheLookups) metrics.cacheLookups.inc({ ...by0, result: hit ? 'hit' : 'miss' });
    res.setHeader(HEADERS.cache, found === 'bypass' ? 'bypass' : hit ? 'hit' : 'miss');
    if (hit !== undefined) {
      res.setHeader(HEADERS.backend, hit.backend);
      res.setHeader(HEADERS.variant, hit.variant);
      res.writeHead(hit.status, {
        'content-type': hit.contentType,
        'content-length': typeof hit.body === 'string' ? Buffer.byteLength(hit.body) : hit.body.length,
      });
      res.end(hit.body);
      metrics.request({ ...by0, backend: hit.backend, variant: hit.variant }, hit.status);
      const served = {
        status: hit.status,
        backend: hit.backend,
        variant: hit.variant,
        usage: undefined,
        costUsd: 0,
        cached: true,
      };
      policy.settle(info, admission, served);
      return true;
    }
    return false;
  }

  /** After the proxy: the error response if any, metrics, recent requests, cache store, settle. */
  private finish(
    res: ServerResponse,
    info: RequestInfo,
    route: RuntimeRoute,
    admission: Admission,
    result: ProxyResult,
  ) {
    const { policy, metrics } = this.deps;
    const by0 = { namespace: route.spec.namespace, route: route.spec.name };
    const served = result.served;
    const by = served ? servedBy(route, served) : { ...by0, backend: '', variant: '' };
    if (result.error !== undefined) {
      if (served) {
        res.setHeader(HEADERS.backend, served.spec.name);
        res.setHeader(HEADERS.variant, served.spec.variant);
      }
      if (result.status !== 499) sendErrorWithServedHeaders(res, result.error);
    }
    metrics.request(by, result.status);
    if (served !== undefined && result.status < 400) {
      this.deps.recent.record(info.requestId, {
        namespace: route.spec.namespace,
        route: route.spec.name,
        model: route.spec.model,
        backend: served.spec.name,
        variant: served.spec.variant,
        caller: info.caller?.keyName,
      });
    }
    if (
      route.spec.cache.mode !== 'off' &&
      result.body !== undefined &&
      served !== undefined &&
      result.status === 200
    ) {
      policy.storeCache(info, {
        status: 200,
        contentType: 'application/json',
        body: result.body,
        backend: served.spec.name,
        variant: served.spec.variant,
      });
    }
    policy.settle(info, admission, {
      status: result.status,
      backend: served?.spec.name,
      variant: served?.spec.variant,
      usage: result.usage,
      costUsd: result.costUsd,
      cached: false,
      body: result.body,
    });
  }

  private plan(info: RequestInfo, route: RuntimeRoute, admission: Admission): RuntimeBackend[] {
    const now = this.deps.now();
    const unavailable = new Set<string>();
    for (const [k, b] of route.backends) if (!this.deps.breakers.available(b.key, now)) unavailable.add(k);
    const headers = info.headers;
    const userHeader = headerString(headers[HEADERS.user]);
    const identity =
      userHeader ??
      (typeof info.body.user === 'string' ? info.body.user : undefined) ??
      info.caller?.keyName ??
      this.deps.random().toString(36).slice(2);
    const selection = selectBackends({
      route: route.spec,
      facts: { identity, headers, apiKey: info.caller?.keyName, team: info.caller?.team },
      prompt: route.spec.selection.policy === 'quality-cost' ? promptText(info.body) : '',
      stats: this.deps.observed,
      unavailable,
      pinnedBackend: admission.pinnedBackend,
      random: this.deps.random,
    });
    if (this.deps.log.isDebug()) {
      this.deps.log.log('debug', 'Selected backend', {
        requestId: info.requestId,
        reason: selection.reason,
        canary: selection.canary,
      });
    }
    const plan: RuntimeBackend[] = [];
    for (const b of selection.attempts) {
      const rb = route.backends.get(`${b.name}/${b.variant}`);
      if (rb !== undefined && rb.adapter.paths[info.endpoint] !== undefined) plan.push(rb);
    }
    return plan;
  }

  private listModels(res: ServerResponse, snapshot: RuntimeConfig): void {
    const data = [...snapshot.routes.keys()]
      .sort()
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'beastmode' }));
    const body = JSON.stringify({ object: 'list', data });
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      [HEADERS.backend]: 'none',
      [HEADERS.variant]: 'none',
    });
    res.end(body);
  }
}
