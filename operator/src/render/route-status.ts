// The status of a ModelRoute, explaining its effective routing in words a person can act on: which
// backends get which share of traffic, which get none and why, the policies in force, and whether the
// gateway can read the credentials its backends take.
import {
  BUNDLED_ROUTER_VERSION,
  ConditionType,
  Reason,
  type CompiledRoute,
  type ModelRoute,
  type ModelRouteStatus,
} from '../../../api/v1alpha1/index.js';
import { buildConditions, healthOf, type ConditionInput, type Health } from './conditions.js';
import type { CredentialsReport, RouteVerdict } from './translate.js';

type EffectiveBackend = NonNullable<ModelRouteStatus['backends']>[number];
type CompiledBackend = CompiledRoute['backends'][number];

const pct = (x: number): number => Math.round(x * 100) / 100;

const describeBackend = (b: CompiledBackend) => ({ name: b.name, variant: b.variant, model: b.model });

/** The part of a backend's nominal traffic its variant gets while a canary splits that backend. */
function variantShare(c: CompiledRoute, b: CompiledBackend): number {
  const canaryWeight = c.canary?.weight ?? 0;
  if (b.variant === 'canary') return canaryWeight / 100;
  return c.canary && b.name === c.canary.backend ? 1 - canaryWeight / 100 : 1;
}

function weightedBackends(c: CompiledRoute): EffectiveBackend[] {
  const stable = c.backends.filter((b) => b.variant === 'stable');
  const total = stable.reduce((s, b) => s + b.weight, 0);
  return c.backends.map((b) => {
    const w = c.backends.find((x) => x.name === b.name && x.variant === 'stable')?.weight ?? 0;
    const share = total > 0 ? (w / total) * variantShare(c, b) * 100 : 0;
    return w === 0
      ? { ...describeBackend(b), weightPercent: 0, excluded: 'weight 0: used only as a fallback' }
      : { ...describeBackend(b), weightPercent: pct(share) };
  });
}

function leastCostBackends(c: CompiledRoute): EffectiveBackend[] {
  const canaryWeight = c.canary?.weight ?? 0;
  const price = (b: CompiledBackend): number =>
    b.pricing.inputPerMillionTokens + b.pricing.outputPerMillionTokens;
  const cheapest = Math.min(...c.backends.map(price));
  const winners = c.backends.filter((b) => price(b) === cheapest && b.variant === 'stable');
  return c.backends.map((b) => {
    if (b.variant === 'canary') {
      return { ...describeBackend(b), weightPercent: pct(canaryWeight / winners.length) };
    }
    if (price(b) !== cheapest)
      return {
        ...describeBackend(b),
        weightPercent: 0,
        excluded: 'more expensive than the cheapest backend: used only as a fallback',
      };
    return { ...describeBackend(b), weightPercent: pct((100 / winners.length) * variantShare(c, b)) };
  });
}

/** Policies that pick per request among the backends in play: each gets an equal nominal share. */
function perRequestBackends(c: CompiledRoute, policy: 'least-latency' | 'quality-cost'): EffectiveBackend[] {
  const qc = c.selection.qualityCost;
  const inPlay = (b: CompiledBackend): boolean =>
    policy === 'least-latency' || b.name === qc?.strongBackend || b.name === qc?.weakBackend;
  const n = new Set(c.backends.filter(inPlay).map((b) => b.name)).size;
  return c.backends.map((b) =>
    inPlay(b)
      ? { ...describeBackend(b), weightPercent: pct((100 / Math.max(1, n)) * variantShare(c, b)) }
      : {
          ...describeBackend(b),
          weightPercent: 0,
          excluded: 'not named by selection.qualityCost: used only as a fallback',
        },
  );
}

function effectiveBackends(c: CompiledRoute): EffectiveBackend[] {
  const policy = c.selection.policy;
  switch (policy) {
    case 'weighted':
      return weightedBackends(c);
    case 'least-cost':
      return leastCostBackends(c);
    case 'least-latency':
    case 'quality-cost':
      return perRequestBackends(c, policy);
    default: {
      const never: never = policy;
      throw new Error(`unknown selection policy ${String(never)}`);
    }
  }
}

/** The learning router and the domain routes of a route, one line each. */
function describeLearning(c: CompiledRoute): string[] {
  const sel = c.selection;
  const out: string[] = [];
  const learning = sel.policy === 'quality-cost' ? sel.qualityCost?.learning : undefined;
  const emb = sel.policy === 'quality-cost' ? sel.qualityCost?.embeddings : undefined;
  if (emb !== undefined)
    out.push(
      `embeddings: ${emb.model} from ${emb.url}, scored by the router in ConfigMap ${emb.routerModel.configMapRef.name} key ${emb.routerModel.configMapRef.key}; over ${emb.timeoutMs}ms or failing, the built-in model decides`,
    );
  if (learning !== undefined)
    out.push(
      `learning: from feedback (a score of ${learning.goodScore} or more is good) and failures, per prompt domain, exploring at most ${Math.round(learning.exploration * 100)}% of requests; see beastmode_router_learned_weak_share and \`beastmode router state\``,
    );
  for (const d of sel.domains ?? [])
    out.push(
      `domain route: ${d.domains.join(', ')} → ${d.backend} (at ${d.minConfidence} confidence or more)`,
    );
  return out;
}

function describeCacheMode(cache: CompiledRoute['cache']): string {
  const s = cache.semantic;
  if (cache.mode !== 'semantic' || s === undefined) return cache.mode;
  return `exact, then semantic at similarity ${s.threshold}${s.guard ? ' with the false-hit guard' : ' without the false-hit guard'}, ${s.maxEntries} entries per replica`;
}

function describePolicies(c: CompiledRoute): string[] {
  const out: string[] = [];
  const sel = c.selection;
  const how: Record<string, string> = {
    weighted: 'weighted random',
    'least-latency': 'lowest observed latency per request (shares above are nominal)',
    'least-cost': 'cheapest backend by price per token',
    'quality-cost':
      sel.qualityCost?.targetQuality !== undefined
        ? `the learned router (${sel.qualityCost.model !== undefined ? `the model in ConfigMap ${sel.qualityCost.model.configMapRef.name} key ${sel.qualityCost.model.configMapRef.key}, the bundled ${BUNDLED_ROUTER_VERSION} until it loads; its version in beastmode_router_model_info` : `bundled model ${BUNDLED_ROUTER_VERSION}`}) sends to ${sel.qualityCost.weakBackend} the prompts it expects it to answer, keeping ${Math.round(sel.qualityCost.targetQuality * 100)}% of ${sel.qualityCost.strongBackend}'s quality on its calibration subjects (shares above are nominal)`
        : `prompts scored above ${sel.qualityCost?.threshold ?? 0.5} go to ${sel.qualityCost?.strongBackend ?? '?'}, the rest to ${sel.qualityCost?.weakBackend ?? '?'} (shares above are nominal)`,
  };
  out.push(
    `selection: ${how[sel.policy] ?? sel.policy}${sel.stickiness === 'none' ? '' : `, sticky per ${sel.stickiness}`}`,
  );
  out.push(...describeLearning(c));
  out.push(`fallback: on ${c.fallback.on.join(', ')}, at most ${c.fallback.maxAttempts} attempts in all`);
  out.push(
    `retry: ${c.retry.attempts} on the same backend, backoff ${c.retry.backoffMs}ms up to ${c.retry.maxBackoffMs}ms`,
  );
  out.push(`timeouts: first token ${c.timeouts.firstTokenMs / 1000}s, total ${c.timeouts.totalMs / 1000}s`);
  out.push(
    c.cache.mode === 'off'
      ? 'cache: off'
      : `cache: ${describeCacheMode(c.cache)}, ttl ${c.cache.ttlMs / 1000}s, shared per ${c.cache.scope}${c.cache.cacheNonDeterministic ? ', including temperature > 0' : ''}`,
  );
  for (const r of c.rateLimits) {
    const parts = [
      r.requestsPerMinute !== undefined ? `${r.requestsPerMinute} requests/min` : '',
      r.tokensPerMinute !== undefined ? `${r.tokensPerMinute} tokens/min` : '',
    ].filter(Boolean);
    out.push(`rate limit per ${r.per}: ${parts.join(', ')}`);
  }
  for (const b of c.budgets) {
    const then = b.onExhausted === 'reject' ? 'then reject' : `then fall back to ${b.fallbackBackend ?? '?'}`;
    out.push(`budget per ${b.per}: $${b.usd} per ${b.window}, ${then}`);
  }
  if (c.canary) {
    const cohort = c.canary.match ? ' of the matching cohorts' : '';
    out.push(
      `canary: ${c.canary.weight}% of ${c.canary.backend} traffic${cohort} to revision ${c.canary.revision || '?'}`,
    );
  }
  const sh = c.shadow;
  if (sh !== undefined)
    out.push(
      `shadow: ${sh.percent}% of requests mirrored to ${sh.backend.name}, at most ${sh.maxInflight} in flight per gateway process${sh.compare === 'none' ? '' : `, answers compared ${sh.compare}`}`,
    );
  return out.slice(0, 16).map((s) => s.slice(0, 256));
}

/** What a person reads when instances cannot read a credential, and what to do about it. */
function credentialsMessage(route: ModelRoute, report: CredentialsReport): string {
  const namespace = route.metadata.namespace ?? '';
  const each = report.unavailable.map(
    (u) =>
      `Secret ${namespace}/${u.secret} key ${u.key} (backend ${u.backend}${u.variant === 'canary' ? ', canary' : ''}` +
      `, ${u.instances} of ${report.instances} instances)`,
  );
  return (
    `gateway ${route.spec.gatewayRef.name} cannot read ${each.join(', ')}: create the Secret or fix credentialsSecretRef ` +
    '(a Secret reaches running gateway pods within about a minute; a newly referenced one rolls them)'
  );
}

/**
 * SpillingOver, for a route with a backend that declares spillOver: True while instances send its excess
 * away. While the instances have not been asked (the operator just started), the last condition stands.
 */
function spillCondition(route: ModelRoute, verdict: RouteVerdict & { accepted: true }): ConditionInput[] {
  if (!verdict.compiled.backends.some((b) => b.spillOver !== undefined)) return [];
  const type = ConditionType.SpillingOver;
  const report = verdict.spilling;
  if (report === undefined) {
    const prev = route.status?.conditions?.find((c) => c.type === type);
    return prev ? [{ type, status: prev.status, reason: prev.reason, message: prev.message }] : [];
  }
  if (report.backends.length === 0) {
    const message = `every backend keeps up: nothing spilled over on ${report.instances} gateway instances in the last 5 s`;
    return [{ type, status: 'False', reason: Reason.WithinCapacity, message }];
  }
  const each = report.backends.map(
    (b) =>
      `backend ${b.backend}${b.variant === 'canary' ? ' (canary)' : ''} to ${b.to} on ${b.instances} of ${report.instances} instances`,
  );
  const message = `saturated, the excess spills over: ${each.join('; ')}`;
  return [{ type, status: 'True', reason: Reason.BackendSaturated, message }];
}

/** Accepted, ResolvedRefs and the kstatus conditions of a verdict. */
function routeHealth(route: ModelRoute, verdict: RouteVerdict): Health {
  const refsOk = verdict.accepted || verdict.reason !== Reason.BackendNotFound;
  const resolved: ConditionInput = {
    type: ConditionType.ResolvedRefs,
    status: 'True',
    reason: Reason.Succeeded,
    message: 'All references resolved',
  };
  const refsCondition: ConditionInput = refsOk
    ? resolved
    : { type: ConditionType.ResolvedRefs, status: 'False', reason: verdict.reason, message: verdict.message };
  if (verdict.accepted) {
    const message = `Serving model ${route.spec.model} on gateway ${route.spec.gatewayRef.name}`;
    const accepted: ConditionInput = {
      type: ConditionType.Accepted,
      status: 'True',
      reason: Reason.Accepted,
      message,
    };
    const spill = spillCondition(route, verdict);
    if (verdict.credentials === undefined)
      return { ...healthOf('ready', Reason.Accepted, message), extra: [accepted, refsCondition, ...spill] };
    // Valid and compiled, but it does not work yet: waiting on a Secret (or on pods that mount it), which
    // no change to the route itself needs to fix, so neither Stalled nor Reconciling.
    const why = credentialsMessage(route, verdict.credentials);
    const reason = Reason.CredentialsUnavailable;
    return {
      ...healthOf('waiting', reason, why),
      extra: [
        accepted,
        { type: ConditionType.ResolvedRefs, status: 'False', reason, message: why },
        ...spill,
      ],
    };
  }
  const { reason, message } = verdict;
  return {
    ...healthOf('stalled', reason, message),
    extra: [{ type: ConditionType.Accepted, status: 'False', reason, message }, refsCondition],
  };
}

/** The whole status of a route from its verdict. Pure: `now` only stamps condition transitions. */
export function renderRouteStatus(route: ModelRoute, verdict: RouteVerdict, now: Date): ModelRouteStatus {
  const gen = route.metadata.generation ?? 0;
  const status: ModelRouteStatus = {
    observedGeneration: gen,
    conditions: buildConditions(routeHealth(route, verdict), route.status?.conditions, gen, now),
    gateway: route.spec.gatewayRef.name,
  };
  if (verdict.accepted) {
    const backends = effectiveBackends(verdict.compiled);
    status.backends = backends.slice(0, 32);
    status.backendCount = backends.filter((b) => b.weightPercent > 0).length;
    status.canaryWeight = verdict.compiled.canary?.weight ?? 0;
    status.policies = describePolicies(verdict.compiled);
    if (verdict.router !== undefined) status.router = verdict.router;
  } else {
    status.backendCount = 0;
    status.canaryWeight = 0;
  }
  return status;
}
