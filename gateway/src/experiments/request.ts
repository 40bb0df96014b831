// An experiment on the request path: the subject's sticky variant (weighted rendezvous hashing, the same
// `assignVariant` the operator uses), the variant's backend first in the attempt plan and its template on the
// body sent upstream, and the per-request and feedback observations of the metrics contract.
//
// What is counted, while the experiment runs (nothing once a winner is promoted), measures the variant, not
// the route's resilience, on the requests sent to the variant's backend first: one it answered 2xx counts
// latency-ms (assignment to the last byte), ttft-ms (streams: to the first chunk written), cost-per-request
// (USD, when usage is known) and error-rate 0; one that ended 5xx (upstream errors, timeouts, connection
// failures), or that a fallback had to answer, counts error-rate 1 and nothing else — the user still got the
// fallback's answer. A request whose plan could not start with the variant's backend (its breaker open, a
// budget's pin to another backend), a refusal before any upstream, a client error (4xx) and a client that
// went away (499) count nothing. Feedback on a request its variant's backend answered
// adds feedback-score and task-success (the explicit `success`, else score ≥ 0.75), when the route still runs
// the same revision of the experiment.
import type { IncomingHttpHeaders } from 'node:http';
import {
  HEADERS,
  assignVariant,
  type CompiledExperiment,
  type CompiledRoute,
} from '../../../api/v1alpha1/index.js';
import type { RuntimeBackend, RuntimeConfig, RuntimeRoute } from '../config/load.js';
import type { AcceptedScore } from '../feedback/feedback.js';
import type { ServedRecord } from '../feedback/recent-requests.js';
import type { Caller } from '../policy/types.js';
import type { Endpoint } from '../providers/types.js';
import type { StreamObserver } from '../server/upstream-attempt.js';
import type { ExperimentMetrics } from './experiment-metrics.js';
import type { RuntimeExperiment, RuntimeVariant } from './runtime.js';
import { applyTemplate } from './template.js';

/** A request's place in its route's experiment. */
export interface ExperimentArm {
  experiment: RuntimeExperiment;
  variant: RuntimeVariant;
  /** The body to send upstream: the client's, with the variant's template applied. */
  body: Record<string, unknown>;
  /** performance.now() at assignment, and at the first streamed chunk written to the client. */
  started: number;
  firstChunkAt?: number;
  /** The variant's backend leads the attempt plan: only then does the request measure the variant. */
  leads?: boolean;
}

/** What a request is assigned by: its user, its API key, or nothing (a fresh random key per request). */
export function subjectKey(
  subject: CompiledExperiment['subject'],
  headers: IncomingHttpHeaders,
  body: Record<string, unknown>,
  caller: Caller,
  random: () => number,
): string {
  const apiKey = caller.anonymous ? undefined : caller.key;
  const fresh = () => random().toString(36).slice(2);
  switch (subject) {
    case 'user': {
      const h = headers[HEADERS.user];
      const header = Array.isArray(h) ? h[0] : h;
      const user = typeof body.user === 'string' && body.user !== '' ? body.user : undefined;
      return (header !== undefined && header !== '' ? header : undefined) ?? user ?? apiKey ?? fresh();
    }
    case 'api-key':
      return apiKey ?? fresh();
    case 'request':
      return fresh();
    default: {
      const never: never = subject;
      throw new Error(`unknown experiment subject ${String(never)}`);
    }
  }
}

/** The variant a subject key gets: the promoted winner, else by weighted rendezvous hashing. */
export function variantOf(experiment: RuntimeExperiment, key: string): RuntimeVariant {
  const name = experiment.spec.promoted ?? assignVariant(experiment.spec.name, key, experiment.weights);
  const v = experiment.variants.get(name);
  // The config refuses a promoted name that is not a variant (api experiment-route.ts).
  if (v === undefined) throw new Error(`experiment ${experiment.spec.name} has no variant ${name}`);
  return v;
}

/** Assigns a request on a route with an experiment; undefined on other routes. */
export function assign(
  route: RuntimeRoute,
  endpoint: Endpoint,
  headers: IncomingHttpHeaders,
  body: Record<string, unknown>,
  caller: Caller,
  { random }: { random: () => number },
): ExperimentArm | undefined {
  const experiment = route.experiment;
  if (experiment === undefined) return undefined;
  const key =
    experiment.spec.promoted !== undefined
      ? ''
      : subjectKey(experiment.spec.subject, headers, body, caller, random);
  const variant = variantOf(experiment, key);
  return {
    experiment,
    variant,
    body: applyTemplate(body, endpoint, variant.template),
    started: performance.now(),
  };
}

/**
 * The attempt plan with the variant's backend first and the route's fallbacks after it, noting in the arm
 * whether it leads. A backend the plan lacks is added only when `mayAdd` says so (the plan leaves out
 * backends with an open breaker, and a budget's pin restricts it); when the selector already chose that
 * backend (its canary variant, say), the plan stands.
 */
export function variantFirst(
  arm: ExperimentArm,
  route: RuntimeRoute,
  endpoint: Endpoint,
  plan: RuntimeBackend[],
  mayAdd: (b: RuntimeBackend) => boolean,
): RuntimeBackend[] {
  const name = arm.variant.backend;
  arm.leads = true;
  if (plan[0]?.spec.name === name) return plan;
  const inPlan = plan.find((b) => b.spec.name === name && b.spec.variant === 'stable');
  if (inPlan !== undefined) return [inPlan, ...plan.filter((b) => b !== inPlan)];
  const b = route.backends.get(`${name}/stable`);
  if (b !== undefined && b.adapter.paths[endpoint] !== undefined && mayAdd(b)) return [b, ...plan];
  arm.leads = false;
  return plan;
}

/**
 * Whether a request may be answered from (and fill) the route's cache: never while its experiment runs, as
 * a hit would measure the cache rather than the variant, and variants must never share answers.
 */
export const caches = (
  arm: ExperimentArm | undefined,
  policy: { caches(route: CompiledRoute): boolean },
  route: CompiledRoute,
): boolean => arm?.experiment.running !== true && policy.caches(route);

/** Sees the first chunk of a streamed answer (ttft-ms) on its way to the route's own observer. */
export function observeFirstChunk(
  arm: ExperimentArm | undefined,
  observer: StreamObserver | undefined,
): StreamObserver | undefined {
  if (arm === undefined || !arm.experiment.running || observer === undefined) return observer;
  return {
    write(sse) {
      arm.firstChunkAt ??= performance.now();
      observer.write(sse);
    },
    end: (complete) => observer.end(complete),
  };
}

/** Counts a request that reached an upstream, by its final status (see the header). */
export function observeOutcome(
  metrics: ExperimentMetrics,
  arm: ExperimentArm | undefined,
  status: number,
  served: RuntimeBackend | undefined,
  usd: number | undefined,
): void {
  if (arm === undefined || !arm.experiment.running || arm.leads !== true) return;
  const v = arm.variant;
  if (status >= 500 || (status < 400 && served?.spec.name !== v.backend)) {
    metrics.observe(v, 'error-rate', 1);
    return;
  }
  if (status >= 400) return;
  metrics.observe(v, 'latency-ms', performance.now() - arm.started);
  if (arm.firstChunkAt !== undefined) metrics.observe(v, 'ttft-ms', arm.firstChunkAt - arm.started);
  if (usd !== undefined) metrics.observe(v, 'cost-per-request', usd);
  metrics.observe(v, 'error-rate', 0);
}

/**
 * What the recent-requests record keeps of an arm, so that feedback finds its variant: nothing outside a
 * running experiment, or when another backend than the variant's gave the answer.
 */
export function servedIn(
  arm: ExperimentArm | undefined,
  by: RuntimeBackend,
): Pick<ServedRecord, 'experiment'> {
  if (arm === undefined || !arm.experiment.running || by.spec.name !== arm.variant.backend) return {};
  const { name, revision } = arm.experiment.spec;
  return { experiment: { name, variant: arm.variant.name, revision } };
}

/** Counts an accepted feedback score on a request that was in an experiment still running as it was. */
export function observeFeedback(
  metrics: ExperimentMetrics,
  config: RuntimeConfig | undefined,
  { served, score, success }: AcceptedScore,
): void {
  const e = served.experiment;
  if (e === undefined) return;
  const route = config?.routes.get(served.model);
  const experiment = route?.experiment;
  if (
    experiment === undefined ||
    !experiment.running ||
    route?.spec.namespace !== served.namespace ||
    route.spec.name !== served.route ||
    experiment.spec.name !== e.name ||
    experiment.spec.revision !== e.revision
  )
    return;
  const v = experiment.variants.get(e.variant);
  if (v === undefined) return;
  metrics.observe(v, 'feedback-score', score);
  metrics.observe(v, 'task-success', (success ?? score >= 0.75) ? 1 : 0);
}
