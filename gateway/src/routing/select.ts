// Backend selection: a pure function from a route, the facts of one request and observed statistics to an
// ordered attempt plan. The first entry is the chosen backend, the rest are fallbacks in order. No clock,
// no network, no logging: randomness and statistics are passed in.
import type { CompiledBackend, CompiledRoute, PromptDomain } from '../../../api/v1alpha1/index.js';
import { isCanaryRequest, type RequestFacts } from './canary.js';
import { scoreDifficulty } from './difficulty.js';
import { routerScore, type RouterModel } from './router-model.js';
import { bucketOf } from './hash.js';

/** What the data plane has observed, read by the latency- and cost-aware policies. */
export interface ObservedStats {
  /** EWMA of successful attempt latency in ms for a backend (stable variant), undefined if never observed. */
  latencyMs(route: CompiledRoute, backend: string): number | undefined;
  /** Mean tokens per request observed on the route, undefined before the first response. */
  tokens(route: CompiledRoute): { input: number; output: number } | undefined;
}

export interface SelectionInput {
  route: CompiledRoute;
  facts: RequestFacts;
  /** The prompt text, read by quality-cost only. */
  prompt: string;
  /** The learned router, for a quality-cost route with a target quality. */
  router?: RouterModel | undefined;
  /** Strong or weak, already decided (by the learning router): quality-cost then does not decide. */
  qualityCost?: { strong: boolean; why: string } | undefined;
  /** The prompt's domain, for a route with domain routes. */
  domain?: { domain: PromptDomain; confidence: number } | undefined;
  stats: ObservedStats;
  /** `name/variant` keys of backends to skip while others exist (open circuit breakers). */
  unavailable?: ReadonlySet<string>;
  /** A backend the request must use (e.g. a budget's cheaper fallback); restricts the plan to it. */
  pinnedBackend?: string | undefined;
  /** Uniform [0, 1), used when no sticky identity applies. */
  random: () => number;
}

export interface AttemptPlan {
  attempts: CompiledBackend[];
  /** Whether the request was assigned to the canary variant. */
  canary: boolean;
  /** Why the first backend was chosen, for debug logs. */
  reason: string;
}

export const backendKey = (b: Pick<CompiledBackend, 'name' | 'variant'>): string => `${b.name}/${b.variant}`;

const byWeight = (a: CompiledBackend, b: CompiledBackend) => b.weight - a.weight;
const ONLY = 'the only backend';

/** Weighted choice, sticky per user or API key: the identity's bucket picks a point on the weight line. */
function orderWeighted(route: CompiledRoute, stable: CompiledBackend[], input: SelectionInput) {
  const total = stable.reduce((s, b) => s + b.weight, 0);
  const rest = [...stable].sort(byWeight);
  if (total <= 0) return { order: rest, reason: 'weighted: all weights are 0' };
  const stick = route.selection.stickiness;
  const key = stick === 'user' ? input.facts.identity : stick === 'api-key' ? input.facts.apiKey : undefined;
  const point =
    key === undefined
      ? input.random() * total
      : (bucketOf(key, `${route.namespace}/${route.name}#weighted`) / 10_000) * total;
  let acc = 0;
  let chosen = rest[0] as CompiledBackend;
  for (const b of stable) {
    acc += b.weight;
    if (point < acc) {
      chosen = b;
      break;
    }
  }
  return { order: [chosen, ...rest.filter((b) => b !== chosen)], reason: `weighted: ${chosen.name}` };
}

function orderLeastLatency(route: CompiledRoute, stable: CompiledBackend[], stats: ObservedStats) {
  const lat = new Map(stable.map((b) => [b, stats.latencyMs(route, b.name)]));
  // Unobserved backends first, so each one is tried and gets a latency; then the fastest.
  const order = [...stable].sort((a, b) => {
    const la = lat.get(a);
    const lb = lat.get(b);
    if (la === undefined || lb === undefined) {
      return la === lb ? byWeight(a, b) : la === undefined ? -1 : 1;
    }
    return la - lb || byWeight(a, b);
  });
  const first = order[0] as CompiledBackend;
  const l = lat.get(first);
  return {
    order,
    reason: `least-latency: ${first.name} (${l === undefined ? 'unobserved' : `${Math.round(l)}ms`})`,
  };
}

/** Expected USD cost of one request on a backend, from pricing and the route's observed token mix. */
export function expectedCost(
  b: CompiledBackend,
  tokens: { input: number; output: number } | undefined,
): number {
  const t = tokens ?? { input: 1, output: 1 };
  return (b.pricing.inputPerMillionTokens * t.input + b.pricing.outputPerMillionTokens * t.output) / 1e6;
}

function orderLeastCost(route: CompiledRoute, stable: CompiledBackend[], stats: ObservedStats) {
  const tokens = stats.tokens(route);
  const cost = new Map(stable.map((b) => [b, expectedCost(b, tokens)]));
  const order = [...stable].sort((a, b) => (cost.get(a) ?? 0) - (cost.get(b) ?? 0) || byWeight(a, b));
  return { order, reason: `least-cost: ${(order[0] as CompiledBackend).name}` };
}

/** Strong or weak first: the learned router at the route's target quality, else the difficulty heuristic. */
function qualityCostChoice(
  qc: NonNullable<CompiledRoute['selection']['qualityCost']>,
  prompt: string,
  router: RouterModel | undefined,
): { strong: boolean; why: string } {
  if (qc.targetQuality !== undefined && router !== undefined) {
    const { p, threshold, why } = routerScore(router, prompt, qc.targetQuality);
    return { strong: p < threshold, why };
  }
  const score = scoreDifficulty(prompt);
  return { strong: score > qc.threshold, why: `difficulty ${score.toFixed(2)}` };
}

function orderQualityCost(route: CompiledRoute, stable: CompiledBackend[], input: SelectionInput) {
  const qc = route.selection.qualityCost;
  if (qc === undefined)
    throw new Error(`route ${route.namespace}/${route.name}: quality-cost without qualityCost`);
  const { strong, why } = input.qualityCost ?? qualityCostChoice(qc, input.prompt, input.router);
  const [first, second] = strong ? [qc.strongBackend, qc.weakBackend] : [qc.weakBackend, qc.strongBackend];
  const rank = (b: CompiledBackend) => (b.name === first ? 0 : b.name === second ? 1 : 2);
  const order = [...stable].sort((a, b) => rank(a) - rank(b) || byWeight(a, b));
  return { order, reason: `quality-cost: ${why} → ${first}` };
}

/**
 * The backend a route's domain routes give a prompt of this domain, when one does and the classifier is
 * confident enough.
 */
export function domainBackend(
  route: CompiledRoute,
  guess: { domain: PromptDomain; confidence: number } | undefined,
): string | undefined {
  if (guess === undefined) return undefined;
  const entry = route.selection.domains?.find((d) => d.domains.includes(guess.domain));
  return entry !== undefined && guess.confidence >= entry.minConfidence ? entry.backend : undefined;
}

/** A domain route's backend first, the rest by weight; undefined when no domain route applies. */
function orderByDomain(route: CompiledRoute, stable: CompiledBackend[], input: SelectionInput) {
  const name = domainBackend(route, input.domain);
  const chosen = stable.find((b) => b.name === name);
  if (chosen === undefined || input.domain === undefined) return undefined;
  const rest = stable.filter((b) => b !== chosen).sort(byWeight);
  const { domain, confidence } = input.domain;
  return { order: [chosen, ...rest], reason: `domain ${domain} (${confidence.toFixed(2)}) → ${chosen.name}` };
}

function orderByPolicy(route: CompiledRoute, stable: CompiledBackend[], input: SelectionInput) {
  const policy = route.selection.policy;
  switch (policy) {
    case 'weighted':
      return orderWeighted(route, stable, input);
    case 'least-latency':
      return orderLeastLatency(route, stable, input.stats);
    case 'least-cost':
      return orderLeastCost(route, stable, input.stats);
    case 'quality-cost':
      return orderQualityCost(route, stable, input);
    default: {
      const never: never = policy;
      throw new Error(`unknown selection policy ${String(never)}`);
    }
  }
}

/** Chooses the backend for one request and the fallbacks after it. */
export function selectBackends(input: SelectionInput): AttemptPlan {
  const { route, unavailable } = input;
  let stable = route.backends.filter((b) => b.variant === 'stable');
  if (input.pinnedBackend !== undefined) {
    const pinned = stable.filter((b) => b.name === input.pinnedBackend);
    if (pinned.length > 0) stable = pinned;
  }
  // Nothing to choose: one backend, no canary (and an open breaker changes nothing with no alternative).
  if (stable.length === 1 && route.canary === undefined)
    return { attempts: stable, canary: false, reason: ONLY };
  const { order, reason } = orderByDomain(route, stable, input) ?? orderByPolicy(route, stable, input);
  let attempts = order;
  const inCanary = route.canary !== undefined && isCanaryRequest(route, input.facts);
  const primary = order[0] as CompiledBackend;
  let canary = false;
  if (inCanary && primary.name === route.canary?.backend) {
    const cv = route.backends.find((b) => b.name === primary.name && b.variant === 'canary');
    if (cv !== undefined) {
      // A canary request falls back to the stable variant of the same backend first.
      attempts = [cv, ...order];
      canary = true;
    }
  }
  if (unavailable !== undefined && unavailable.size > 0) {
    const available = attempts.filter((b) => !unavailable.has(backendKey(b)));
    if (available.length > 0) attempts = available;
  }
  return { attempts, canary: canary && attempts[0]?.variant === 'canary', reason };
}
