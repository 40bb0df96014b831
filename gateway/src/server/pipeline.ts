// The request pipeline of the /v1 endpoints, on bare node:http (see README: express cost measurably on
// this path). Per request: size and concurrency limits → authenticate → read and parse the body → route by
// model → check the request's shape → experiment variant → admit → select → compliance (a route's PII
// policy, allowed providers and regions) → cache lookup → upstream (attempts, fallbacks, streaming) → store
// cache → settle → mirror to the route's shadow, if any, after the answer (the last three in
// request-outcome.ts).
// Selection comes before the cache because an entry belongs to the backend variant that produced it: the
// request's plan says whose answers it may get, and a miss is stored under the backend that answered.
// Each stage is called once, and the policy layer makes the stages a route does not configure cost nothing.
// Every error is an OpenAI-style JSON body; nothing here throws to the server.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { CacheLookup } from '../cache/response-cache.js';
import type { RuntimeBackend, RuntimeConfig } from '../config/load.js';
import type { ConfigStore } from '../config/store.js';
import * as experiments from '../experiments/request.js';
import type { RecentRequests } from '../feedback/recent-requests.js';
import type { Logger } from '../log.js';
import type { Admission, GatewayPolicy } from '../policy/policy.js';
import type { Caller } from '../policy/types.js';
import type { ShadowMirror } from '../shadow/mirror.js';
import type { Tracer } from '../tracing/tracer.js';
import { boundPlan, cacheProducers, planAttempts, promptText, type PlanDeps } from './attempt-plan.js';
import type { EmbeddingScore } from './embedding-scores.js';
import type { AttemptRunner } from './attempt-runner.js';
import { Cancellation } from './cancel.js';
import { retainedLookup, screenPlan } from './compliance-stage.js';
import { gatewayError, isGatewayError, type GatewayError } from './errors.js';
import type { GatewayMetrics, ServedBy } from './metrics.js';
import { jsonObject, parseJson, readBody, slowBodyRefusal } from './request-body.js';
import {
  MODEL_ENDPOINTS,
  requestIdOf,
  sendErrorWithServedHeaders,
  sendJson,
  type Answering,
} from './pipeline-http.js';
import { answerFromCache, finish, settle, type Exchange } from './request-outcome.js';
import { requestShapeError } from './request-shape.js';

export { MODEL_ENDPOINTS, requestIdOf, servesPath } from './pipeline-http.js';

/** A feedback body holds an id, a score and a comment of at most 2,000 characters. */
const MAX_FEEDBACK_BYTES = 16_384;

const NONE: ServedBy = { namespace: '', route: '', backend: '', variant: '' };

export interface PipelineDeps {
  store: ConfigStore;
  policy: GatewayPolicy;
  runner: AttemptRunner;
  planning: PlanDeps;
  metrics: GatewayMetrics;
  recent: RecentRequests;
  log: Logger;
  tracer: Tracer;
  /** Mirrors a share of the requests of routes with a shadow, after their answer. */
  shadow: ShadowMirror;
}

/** The attempt plan of an admitted request: backends in order, the one spilled from, and whether the cache may be used. */
interface Planned {
  plan: RuntimeBackend[];
  spilledFrom: RuntimeBackend | undefined;
  cacheable: boolean;
}

export class Pipeline {
  private inflight = 0;

  constructor(private readonly deps: PipelineDeps) {}

  get inflightRequests(): number {
    return this.inflight;
  }

  /** The node:http handler for the paths `servesPath` accepts. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = requestIdOf(req.headers);
    const snapshot = this.deps.store.current();
    // The request id, the revision, the backend and the variant are written with the answer (one
    // writeHead on the hot path), the last two as "none" on errors.
    const a: Answering = { res, requestId, revision: snapshot?.config.revision ?? 'none' };
    this.deps.tracer.begin(req, res, requestId);
    if (snapshot === undefined) {
      const e = gatewayError(503, 'the gateway has no config yet', 'not_ready', { retryAfterSeconds: 1 });
      return this.refuse(a, e);
    }
    if (this.inflight >= snapshot.config.limits.maxConcurrentRequests) {
      res.setHeader('connection', 'close');
      const e = gatewayError(503, 'too many concurrent requests, retry shortly', 'overloaded', {
        retryAfterSeconds: 1,
      });
      return this.refuse(a, e);
    }
    this.inflight++;
    this.deps.metrics.requestsInFlight.inc();
    const client = new Cancellation();
    let released = false;
    // A response closes once: `on` spares the wrapper `once` makes.
    res.on('close', () => {
      if (!released) {
        released = true;
        this.inflight--;
        this.deps.metrics.requestsInFlight.dec();
      }
      // A client that goes away aborts the upstream call and frees its slot.
      if (!res.writableFinished) client.abort();
    });
    void this.serveSafely(req, a, snapshot, client);
  };

  private refuse(a: Answering, e: GatewayError, by = NONE): void {
    this.deps.tracer.refused(a.res, e);
    this.deps.metrics.request(by, e.status);
    sendErrorWithServedHeaders(a, e);
  }

  private async serveSafely(
    req: IncomingMessage,
    a: Answering,
    snapshot: RuntimeConfig,
    client: Cancellation,
  ): Promise<void> {
    try {
      await this.serve(req, a, snapshot, client);
    } catch (err) {
      if (client.cancelled) return;
      this.deps.log.log('error', 'Request failed unexpectedly', {
        requestId: a.requestId,
        reason: err instanceof Error ? err.message : String(err),
      });
      this.refuse(a, gatewayError(500, 'internal gateway error', 'internal_error'));
    }
  }

  /** Authenticate, then by path: the model list, feedback, or a model endpoint's body and route. */
  private async serve(
    req: IncomingMessage,
    a: Answering,
    snapshot: RuntimeConfig,
    client: Cancellation,
  ): Promise<void> {
    const { res } = a;
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const auth = this.deps.policy.authenticate(req.headers, snapshot.config);
    if (!auth.ok) return this.refuse(a, auth.refusal);
    if (path === '/v1/models') {
      if (req.method !== 'GET')
        return this.refuse(a, gatewayError(405, 'use GET /v1/models', 'method_not_allowed'));
      return this.listModels(a, snapshot);
    }
    if (path === '/v1/feedback') return this.feedback(req, a, auth.caller);
    const endpoint = MODEL_ENDPOINTS[path];
    if (endpoint === undefined)
      return this.refuse(a, gatewayError(404, `unknown path ${path}`, 'unknown_url'));
    if (req.method !== 'POST')
      return this.refuse(a, gatewayError(405, `use POST ${path}`, 'method_not_allowed'));
    const max = snapshot.config.limits.maxRequestBytes;
    const body = this.modelRequestBody(req, a, max, await readBody(req, max));
    if (body === undefined) return;
    const model = body.model;
    if (typeof model !== 'string' || model === '') {
      const e = gatewayError(400, 'you must provide a model parameter', 'missing_model', { param: 'model' });
      return this.refuse(a, e);
    }
    const route = snapshot.routes.get(model);
    if (route === undefined) {
      const e = gatewayError(404, `The model \`${model}\` does not exist`, 'model_not_found', {
        param: 'model',
      });
      return this.refuse(a, e);
    }
    // Before admission: a malformed request spends no rate-limit token, budget, cache lookup or upstream.
    const malformed = requestShapeError(endpoint, body);
    if (malformed !== undefined)
      return this.refuse(a, this.deps.policy.countRefusal(malformed), route.labels);
    const stream = body.stream === true && endpoint !== 'embeddings';
    const arm = experiments.assign(route, endpoint, req.headers, body, auth.caller, this.deps.planning);
    if (arm !== undefined) res.setHeader(HEADERS.experiment, arm.variant.header);
    const x: Exchange = {
      requestId: a.requestId,
      revision: a.revision,
      route,
      endpoint,
      body: arm?.body ?? body,
      experiment: arm,
      stream,
      res,
      client,
      observer: undefined,
      headers: req.headers,
      caller: auth.caller,
      trace: this.deps.tracer.spanOf(res),
    };
    x.trace?.routed(x);
    await this.admitted(x);
  }

  /**
   * The body read (`raw`) as a JSON object, or undefined once the client was answered 408, 413 or 400. The
   * caller awaits the read itself: one async step less on every request.
   */
  private modelRequestBody(
    req: IncomingMessage,
    a: Answering,
    max: number,
    raw: Buffer | undefined,
  ): Record<string, unknown> | undefined {
    if (raw === undefined) {
      a.res.setHeader('connection', 'close');
      this.refuse(
        a,
        slowBodyRefusal(req) ??
          gatewayError(413, `request body is larger than ${max} bytes`, 'request_too_large'),
      );
      return undefined;
    }
    const body = jsonObject(raw);
    if (body === undefined)
      this.refuse(a, gatewayError(400, 'the request body is not a JSON object', 'invalid_json'));
    return body;
  }

  /** admit → select and screen → cache lookup → upstream → store cache → settle. */
  private async admitted(x: Exchange): Promise<void> {
    let admitted = this.deps.policy.admit(x.caller, x.route.spec, x.body);
    if (admitted instanceof Promise) admitted = await admitted;
    // A refusal on a known route counts against that route (its error rate, its dashboards).
    if (isGatewayError(admitted)) return this.refuse(x, admitted, x.route.labels);
    let planned = this.planned(x, admitted);
    if (planned instanceof Promise) planned = await planned;
    if (planned !== undefined) await this.cachedOrUpstream(x, admitted, planned);
  }

  /**
   * select → compliance screening → concurrency bounds: the attempt plan, or undefined once the client
   * was refused. Synchronous unless the route's selection scores the prompt's embedding.
   */
  private planned(x: Exchange, admission: Admission): Planned | undefined | Promise<Planned | undefined> {
    const spec = x.route.spec;
    const scorer = this.deps.planning.embeddings;
    if (
      scorer !== undefined &&
      spec.selection.qualityCost?.embeddings !== undefined &&
      spec.selection.policy === 'quality-cost'
    )
      return scorer.score(spec, promptText(x.body)).then((e) => this.plannedWith(x, admission, e));
    return this.plannedWith(x, admission, undefined);
  }

  private plannedWith(
    x: Exchange,
    admission: Admission,
    embedded: EmbeddingScore | undefined,
  ): Planned | undefined {
    const spec = x.route.spec;
    const choice = planAttempts(this.deps.planning, x, admission.pinnedBackend, embedded);
    // Why a quality-cost or domain route chose its backend (its domain, the learner's plan, the router's
    // score against its threshold, or the difficulty).
    if (spec.selection.policy === 'quality-cost' || spec.selection.domains !== undefined)
      x.res.setHeader(HEADERS.routeReason, choice.reason.replace('→', '->'));
    // Compliance: only backends the route's policy allows, each sent the body its class may see.
    const c = spec.compliance;
    const screened =
      c && screenPlan(x.route, c, x.endpoint, x.body, choice.backends, this.deps.metrics.security);
    if (screened?.refusal !== undefined) {
      settle(this.deps, x, admission, undefined, { status: screened.refusal.status, served: undefined });
      this.refuse(x, screened.refusal, x.route.labels);
      return undefined;
    }
    x.compliance = screened?.pass;
    const plan = screened?.plan ?? choice.backends;
    const bounded = boundPlan(this.deps.planning.limits, x.route, x.endpoint, plan);
    if (bounded.saturated !== undefined) {
      this.refuseSaturated(x, admission, bounded.saturated);
      return undefined;
    }
    // What the learner chose goes first unless a saturated backend spilled it elsewhere.
    x.learned = bounded.plan[0]?.spec.name === choice.learned?.backend ? choice.learned : undefined;
    return { plan: bounded.plan, spilledFrom: bounded.spilled?.from, cacheable: screened?.cache !== false };
  }

  /** cache lookup → upstream (attempts, fallbacks, streaming) → finish. */
  private async cachedOrUpstream(x: Exchange, admission: Admission, planned: Planned): Promise<void> {
    const { policy } = this.deps;
    const { spec } = x.route;
    const { plan } = planned;
    let lookup: CacheLookup<RuntimeBackend> | undefined;
    const caches = experiments.caches(x.experiment, policy, spec);
    if (plan.length > 0 && caches && planned.cacheable) {
      const looked = policy.lookupCache(x.caller, spec, x.body, cacheProducers(plan));
      lookup = looked instanceof Promise ? await looked : looked;
      if (spec.compliance !== undefined) lookup = retainedLookup(lookup, spec.compliance);
      x.res.setHeader(HEADERS.cache, lookup.header);
      x.trace?.cache(lookup);
      if (lookup.result === 'hit') return answerFromCache(this.deps, x, admission, lookup);
    }
    if (plan.length === 0) {
      settle(this.deps, x, admission, undefined, { status: 400, served: undefined });
      const e = gatewayError(
        400,
        `model ${spec.model} does not support ${x.endpoint}`,
        'unsupported_endpoint',
      );
      return this.refuse(x, e, x.route.labels);
    }
    const tap = x.stream ? policy.observeStream(x.body, admission, lookup) : undefined;
    x.observer = experiments.observeFirstChunk(x.experiment, this.deps.shadow.begin(x, tap));
    const result = await this.deps.runner.run(x, plan, planned.spilledFrom);
    finish(this.deps, x, admission, lookup, tap, result);
  }

  /** Every backend that could serve the request has its bound of requests in flight. */
  private refuseSaturated(x: Exchange, admission: Admission, b: RuntimeBackend): void {
    settle(this.deps, x, admission, undefined, { status: 429, served: undefined });
    const e = gatewayError(
      429,
      `backend ${b.spec.name} of model ${x.route.spec.model} is at its bound of requests in flight; retry shortly`,
      'backend_saturated',
      { retryAfterSeconds: 1 },
    );
    this.refuse(x, e, x.route.labels);
  }

  /** POST /v1/feedback: a score for a request this caller made, read with its own small body limit. */
  private async feedback(req: IncomingMessage, a: Answering, caller: Caller): Promise<void> {
    if (req.method !== 'POST')
      return this.refuse(a, gatewayError(405, 'use POST /v1/feedback', 'method_not_allowed'));
    const raw = await readBody(req, MAX_FEEDBACK_BYTES);
    if (raw === undefined) {
      a.res.setHeader('connection', 'close');
      const message = `feedback bodies are limited to ${MAX_FEEDBACK_BYTES} bytes`;
      return this.refuse(a, slowBodyRefusal(req) ?? gatewayError(413, message, 'request_too_large'));
    }
    const body = parseJson(raw);
    if (body === undefined) return this.refuse(a, gatewayError(400, 'body is not JSON', 'invalid_json'));
    const answer = await this.deps.policy.recordFeedback(body, caller).catch(() => undefined);
    if (answer === undefined) return this.refuse(a, gatewayError(500, 'feedback failed'));
    if (!answer.ok) return this.refuse(a, answer.refusal);
    if (answer.accepted !== undefined)
      experiments.observeFeedback(this.deps.metrics.experiments, this.deps.store.current(), answer.accepted);
    sendJson(a, 202, answer.receipt);
  }

  private listModels(a: Answering, snapshot: RuntimeConfig): void {
    const data = [...snapshot.routes.keys()]
      .sort()
      .map((id) => ({ id, object: 'model', created: 0, owned_by: 'beastmode' }));
    sendJson(a, 200, { object: 'list', data });
  }
}
