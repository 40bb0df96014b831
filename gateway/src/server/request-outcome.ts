// How a model request ends, once it has a route: the answer from a cache hit, or the upstream stage's
// result turned into the client's error (if any), metrics, the record feedback reads, the learner's failure,
// the cache store, settling with the policy layer and the shadow mirror. Also the Exchange, the request as
// every stage after routing reads it.
import type { IncomingHttpHeaders } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { CacheLookup } from '../cache/response-cache.js';
import type { RuntimeBackend } from '../config/load.js';
import * as experiments from '../experiments/request.js';
import type { RecentRequests } from '../feedback/recent-requests.js';
import type { Admission, GatewayPolicy } from '../policy/policy.js';
import type { StreamTap } from '../policy/stream-tap.js';
import type { Caller } from '../policy/types.js';
import type { ShadowMirror } from '../shadow/mirror.js';
import type { LearnedChoice, PlanDeps } from './attempt-plan.js';
import type { RunResult } from './attempt-runner.js';
import { servedBy, type GatewayMetrics } from './metrics.js';
import { sendErrorWithServedHeaders } from './pipeline-http.js';
import type { UpstreamRequest } from './upstream-attempt.js';

/** One request on a model endpoint, once its route is known: all that later stages read of it. */
export interface Exchange extends UpstreamRequest {
  headers: IncomingHttpHeaders;
  caller: Caller;
  /** The learning router's choice, whose outcome it is told. */
  learned?: LearnedChoice | undefined;
  /** Its variant, on a route with an experiment (the body above is the variant's). */
  experiment?: experiments.ExperimentArm | undefined;
}

/** What ending a request writes to. */
export interface OutcomeDeps {
  policy: GatewayPolicy;
  planning: PlanDeps;
  metrics: GatewayMetrics;
  recent: RecentRequests;
  shadow: ShadowMirror;
}

/**
 * A hit names the backend variant that produced it, in its headers and for feedback; its metrics count
 * it as backend "cache" of that variant, never as an upstream attempt (canary analysis reads attempts).
 */
export function answerFromCache(
  deps: OutcomeDeps,
  x: Exchange,
  admission: Admission,
  hit: CacheLookup<RuntimeBackend> & { result: 'hit' },
): void {
  const r = hit.response;
  const producer = hit.producer;
  const body = r.bytes ?? (r.stream ? r.events.join('') : r.body);
  x.res.writeHead(200, {
    'content-type': r.stream ? 'text/event-stream; charset=utf-8' : 'application/json',
    'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    [HEADERS.requestId]: x.requestId,
    [HEADERS.configRevision]: x.revision,
    [HEADERS.backend]: producer.spec.name,
    [HEADERS.variant]: producer.spec.variant,
  });
  x.res.end(body);
  deps.metrics.request(producer.cacheLabels, 200);
  recordServed(deps, x, producer);
  if (hit.semantic !== undefined) deps.policy.servedFromSemantic(x.requestId, hit.semantic);
  settle(deps, x, admission, undefined, { status: 200, served: undefined });
}

/** Who gave the answer to a request, for feedback on it. */
function recordServed(deps: OutcomeDeps, x: Exchange, by: RuntimeBackend): void {
  const { spec } = x.route;
  const learned = x.learned?.backend === by.spec.name ? x.learned : undefined;
  deps.recent.record(x.requestId, {
    namespace: spec.namespace,
    route: spec.name,
    model: spec.model,
    backend: by.spec.name,
    variant: by.spec.variant,
    producer: by.producer,
    caller: x.caller.key,
    ...(learned !== undefined ? { learned: { cell: learned.cell, arm: learned.arm } } : {}),
    ...experiments.servedIn(x.experiment, by),
  });
}

/** The learner's choice failed: it answered 5xx, or another backend answered after it. */
function learnFailure(deps: OutcomeDeps, x: Exchange, result: RunResult): void {
  const l = x.learned;
  const failed =
    result.status >= 500 || (result.served !== undefined && result.served.spec.name !== l?.backend);
  if (l === undefined || result.status === 499 || !failed) return;
  const { namespace, name } = x.route.spec;
  deps.planning.learners?.observe(namespace, name, l.cell, l.arm, false);
  deps.planning.routerMetrics?.outcome(namespace, name, l.arm, 'failed');
}

/** After the upstream stage: the error response if any, metrics, recent requests, cache store, settle. */
export function finish(
  deps: OutcomeDeps,
  x: Exchange,
  admission: Admission,
  lookup: CacheLookup | undefined,
  tap: StreamTap | undefined,
  result: RunResult,
): void {
  const { res, route } = x;
  const served = result.served;
  if (result.error !== undefined) {
    if (served !== undefined) {
      res.setHeader(HEADERS.backend, served.spec.name);
      res.setHeader(HEADERS.variant, served.spec.variant);
    }
    if (result.status !== 499) sendErrorWithServedHeaders(x, result.error);
  }
  const by = served ? servedBy(route, served) : route.labels;
  deps.metrics.request(by, result.status);
  learnFailure(deps, x, result);
  if (served !== undefined && result.status < 400) recordServed(deps, x, served);
  // Stored under the backend that answered: a fallback's answer is found by requests that choose it.
  if (lookup?.result === 'miss' && served !== undefined && result.status === 200)
    void deps.policy.storeCache(lookup, served.producer, result.body, tap);
  const usd = settle(deps, x, admission, tap, result);
  experiments.observeOutcome(deps.metrics.experiments, x.experiment, result.status, served, usd);
  deps.shadow.mirror(x, result);
}

/** Settles the request with the policy layer; its cost in USD when metered. */
export function settle(
  deps: OutcomeDeps,
  x: Exchange,
  admission: Admission,
  tap: StreamTap | undefined,
  result: RunResult,
): number | undefined {
  x.trace?.settled(result);
  return deps.policy.settle({
    caller: x.caller,
    route: x.route.spec,
    request: x.body,
    admission,
    backend: result.served?.spec,
    usage: result.usage,
    body: result.body,
    tap,
  });
}
