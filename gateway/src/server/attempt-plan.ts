// The select stage: the facts of one request (sticky identity, headers, caller, prompt) and the breakers'
// verdicts, handed to the pure selector; its choice, restricted to backends that serve the endpoint, is the
// attempt plan the runner works through, and whose cached answers the request may get.
import type { IncomingHttpHeaders } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { RuntimeBackend, RuntimeRoute } from '../config/load.js';
import { variantFirst, type ExperimentArm } from '../experiments/request.js';
import type { Logger } from '../log.js';
import type { Caller } from '../policy/types.js';
import type { Endpoint } from '../providers/types.js';
import type { CircuitBreakers } from '../resilience/breaker.js';
import type { ConcurrencyLimits } from '../resilience/concurrency.js';
import type { RouterDecisionVia } from '../../../api/v1alpha1/index.js';
import { bundledDomainModel, classifyDomain, type DomainGuess } from '../routing/domain-model.js';
import type { RouteLearners } from '../routing/route-learners.js';
import type { RouterModels } from '../routing/router-models.js';
import type { Arm } from '../routing/router-learner.js';
import { bundledRouterModel, routerScore } from '../routing/router-model.js';
import { domainBackend, selectBackends } from '../routing/select.js';
import type { EmbeddingScore, EmbeddingScorer } from './embedding-scores.js';
import type { ObservedStatsStore } from './observed.js';
import type { RouterMetrics } from './router-metrics.js';

export interface PlanDeps {
  breakers: CircuitBreakers;
  /** In-flight bounds per backend, shared with the attempt runner. */
  limits: ConcurrencyLimits;
  observed: ObservedStatsStore;
  log: Logger;
  now: () => number;
  random: () => number;
  /** The learning routers of quality-cost routes that declare learning. */
  learners?: RouteLearners;
  /** The router model of each quality-cost route (the bundled one unless a ConfigMap's). */
  models?: RouterModels;
  routerMetrics?: RouterMetrics;
  /** Prompt scores from the embeddings servers routes declare. */
  embeddings?: EmbeddingScorer;
}

/** A request the learning router decided: the outcome of `backend` (its arm) teaches cell `cell`. */
export interface LearnedChoice {
  cell: string;
  arm: Arm;
  backend: string;
}

/** How a quality-cost or domain route chose, before the selector orders the backends. */
interface Decided {
  domain?: DomainGuess;
  qualityCost?: { strong: boolean; why: string };
  learned?: LearnedChoice;
  via?: RouterDecisionVia;
}

/** What selection reads of a request. */
export interface PlanRequest {
  requestId: string;
  route: RuntimeRoute;
  endpoint: Endpoint;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  caller: Caller;
  /** Its variant, on a route with an experiment: that variant's backend goes first. */
  experiment?: ExperimentArm | undefined;
}

export function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * A completion prompt's item as text: a string, a token id, or token ids joined with commas (what join gave
 * them); anything else is no text (join would convert an object, and throw on one whose toString is not a
 * function: the edge does not check `prompt` on every endpoint).
 */
const promptItem = (p: unknown): string =>
  typeof p === 'string'
    ? p
    : typeof p === 'number'
      ? String(p)
      : Array.isArray(p)
        ? p.filter((t) => typeof t === 'number').join(',')
        : '';

/** The prompt text a selection policy may read (quality-cost): message contents or the prompt. */
export function promptText(body: Record<string, unknown>): string {
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
      ? body.prompt.map(promptItem).join('\n')
      : '';
}

/**
 * The prompt-reading decisions of a route: its domain (for domain routes and the learner's clusters), and
 * for a quality-cost route with a target quality, strong or weak by the learned router — the learning
 * router's plan when the route declares learning and no domain route took the request.
 */
function decide(
  deps: PlanDeps,
  route: RuntimeRoute,
  body: Record<string, unknown>,
  embedded: EmbeddingScore | undefined,
): Decided {
  const { selection } = route.spec;
  const qc = selection.policy === 'quality-cost' ? selection.qualityCost : undefined;
  const learner = qc?.learning !== undefined ? deps.learners?.of(route.spec) : undefined;
  if (selection.domains === undefined && qc?.targetQuality === undefined)
    return qc === undefined ? {} : { via: 'heuristic' };
  const prompt = promptText(body);
  const guess =
    selection.domains !== undefined || learner !== undefined
      ? classifyDomain(bundledDomainModel(), prompt)
      : undefined;
  const domain = guess !== undefined ? { domain: guess } : {};
  if (domainBackend(route.spec, guess) !== undefined) return { ...domain, via: 'domain' };
  if (qc?.targetQuality === undefined)
    return { ...domain, ...(qc !== undefined ? { via: 'heuristic' } : {}) };
  if (embedded !== undefined && !('fallback' in embedded))
    return {
      ...domain,
      qualityCost: { strong: embedded.p < embedded.threshold, why: embedded.why },
      via: 'embeddings',
    };
  const model = deps.models?.modelFor(route.spec) ?? bundledRouterModel();
  const { p, threshold: t, why: builtIn } = routerScore(model, prompt, qc.targetQuality);
  const scored = embedded !== undefined ? `${embedded.fallback}, ${builtIn}` : builtIn;
  if (learner === undefined || guess === undefined)
    return { ...domain, qualityCost: { strong: p < t, why: scored }, via: 'static' };
  const d = learner.decide(guess.domain, p, p >= t, deps.random);
  const arm: Arm = d.weak ? 'weak' : 'strong';
  return {
    ...domain,
    qualityCost: { strong: !d.weak, why: `${d.why}, ${scored}` },
    learned: { cell: d.cell, arm, backend: d.weak ? qc.weakBackend : qc.strongBackend },
    via: d.via,
  };
}

/**
 * decide(), and its time in the decision histogram when it reads the prompt (a plain route pays for no
 * clock reads).
 */
function timedDecide(
  deps: PlanDeps,
  route: RuntimeRoute,
  body: Record<string, unknown>,
  embedded: EmbeddingScore | undefined,
): Decided {
  const { domains, qualityCost } = route.spec.selection;
  if (domains === undefined && qualityCost?.targetQuality === undefined)
    return decide(deps, route, body, embedded);
  const started = performance.now();
  const decided = decide(deps, route, body, embedded);
  if (decided.via !== undefined && decided.via !== 'heuristic')
    deps.routerMetrics?.decisionTook(
      route.spec.namespace,
      route.spec.name,
      (performance.now() - started) / 1000,
    );
  return decided;
}

/** Backends whose breaker is open (or half-open with its probe out); undefined while all are available. */
function unavailableBackends(deps: PlanDeps, route: RuntimeRoute): Set<string> | undefined {
  const now = deps.now();
  let unavailable: Set<string> | undefined;
  for (const [k, b] of route.backends) {
    if (!deps.breakers.available(b.key, now)) (unavailable ??= new Set()).add(k);
  }
  return unavailable;
}

/**
 * The ordered backends to try (the chosen one first, then the fallbacks) and why the first was chosen;
 * `embedded` is the prompt's score from the route's embeddings server when it declares one.
 */
export function planAttempts(
  deps: PlanDeps,
  x: PlanRequest,
  pinnedBackend: string | undefined,
  embedded?: EmbeddingScore,
): { backends: RuntimeBackend[]; reason: string; learned?: LearnedChoice } {
  const { route, caller } = x;
  const decided = timedDecide(deps, route, x.body, embedded);
  const apiKey = caller.anonymous ? undefined : caller.key;
  // Only a choice between backends, or a canary, reads the sticky identity: a route with one backend and
  // no canary does not pay for finding (or inventing) one.
  const chooses = route.spec.canary !== undefined || route.spec.backends.length > 1;
  // Anonymous callers have no key: stickiness falls to the user id (or chance), not one shared bucket.
  const identity = !chooses
    ? ''
    : (headerString(x.headers[HEADERS.user]) ??
      (typeof x.body.user === 'string' ? x.body.user : undefined) ??
      apiKey ??
      deps.random().toString(36).slice(2));
  const selection = selectBackends({
    route: route.spec,
    facts: { identity, headers: x.headers, apiKey, team: caller.team },
    prompt:
      route.spec.selection.policy === 'quality-cost' && decided.qualityCost === undefined
        ? promptText(x.body)
        : '',
    qualityCost: decided.qualityCost,
    domain: decided.domain,
    stats: deps.observed,
    unavailable: unavailableBackends(deps, route),
    pinnedBackend,
    random: deps.random,
  });
  if (deps.log.isDebug()) {
    deps.log.log('debug', 'Selected backend', {
      requestId: x.requestId,
      reason: selection.reason,
      canary: selection.canary,
    });
  }
  let plan: RuntimeBackend[] = [];
  for (const b of selection.attempts) {
    const rb = route.backends.get(`${b.name}/${b.variant}`);
    if (rb !== undefined && rb.adapter.paths[x.endpoint] !== undefined) plan.push(rb);
  }
  if (x.experiment !== undefined) {
    const mayAdd = (b: RuntimeBackend) =>
      pinnedBackend === undefined && deps.breakers.available(b.key, deps.now());
    plan = variantFirst(x.experiment, route, x.endpoint, plan, mayAdd);
  }
  const first = plan[0]?.spec.name;
  if (decided.via !== undefined && first !== undefined)
    deps.routerMetrics?.decided(route.spec.namespace, route.spec.name, first, decided.via);
  // The learner is taught only about the backend it chose (not one a breaker or a pin put first).
  const learned = decided.learned?.backend === first ? decided.learned : undefined;
  return { backends: plan, reason: selection.reason, ...(learned !== undefined ? { learned } : {}) };
}

/**
 * The backends whose cached answers a request may get, best first: those of its plan in the variant of its
 * first choice. A stable request may get any stable backend's answer it could be served by upstream (the
 * route offers them interchangeably); a canary request only the canary's, so the cohorts never share.
 */
export function cacheProducers(plan: readonly RuntimeBackend[]): readonly RuntimeBackend[] {
  const variant = plan[0]?.spec.variant;
  return plan.every((b) => b.spec.variant === variant)
    ? plan
    : plan.filter((b) => b.spec.variant === variant);
}

/** A plan with saturated backends moved out of the way, and the spill it made, if any. */
export interface BoundedPlan {
  plan: RuntimeBackend[];
  /** The first choice was saturated and the request goes to its spillOver target. */
  spilled?: { from: RuntimeBackend; to: RuntimeBackend };
  /** Every backend of the plan is saturated: the request is refused with 429. */
  saturated?: RuntimeBackend;
}

/**
 * Applies the in-flight bounds: a saturated first choice hands the request to its spillOver target (when
 * that one serves the endpoint and has room), and no saturated backend stays in the plan while another
 * remains.
 */
export function boundPlan(
  limits: ConcurrencyLimits,
  route: RuntimeRoute,
  endpoint: Endpoint,
  plan: RuntimeBackend[],
): BoundedPlan {
  const full = (b: RuntimeBackend) => limits.saturated(b.key, b.spec);
  const first = plan[0];
  if (first === undefined || !plan.some(full)) return { plan };
  const rest = plan.filter((b) => !full(b));
  const target = first.spec.spillOver?.to;
  const to = target === undefined ? undefined : route.backends.get(`${target}/stable`);
  if (full(first) && to !== undefined && to.adapter.paths[endpoint] !== undefined && !full(to))
    return { plan: [to, ...rest.filter((b) => b !== to)], spilled: { from: first, to } };
  return rest.length > 0 ? { plan: rest } : { plan: [], saturated: first };
}
