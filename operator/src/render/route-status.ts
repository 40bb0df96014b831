// The status of a ModelRoute, explaining its effective routing in words a person can act on: which
// backends get which share of traffic, which get none and why, and the policies in force.
import {
  Reason,
  type CompiledRoute,
  type ModelRoute,
  type ModelRouteStatus,
} from '../../../api/v1alpha1/index.js';
import { buildConditions, type Health } from './conditions.js';
import type { RouteVerdict } from './translate.js';

type EffectiveBackend = NonNullable<ModelRouteStatus['backends']>[number];

const pct = (x: number): number => Math.round(x * 100) / 100;

function effectiveBackends(c: CompiledRoute): EffectiveBackend[] {
  const policy = c.selection.policy;
  const canaryWeight = c.canary?.weight ?? 0;
  const shareOf = (b: CompiledRoute['backends'][number]): number =>
    b.variant === 'canary'
      ? canaryWeight / 100
      : c.canary && b.name === c.canary.backend
        ? 1 - canaryWeight / 100
        : 1;
  const base = (b: CompiledRoute['backends'][number]) => ({
    name: b.name,
    variant: b.variant,
    model: b.model,
  });
  switch (policy) {
    case 'weighted': {
      const stable = c.backends.filter((b) => b.variant === 'stable');
      const total = stable.reduce((s, b) => s + b.weight, 0);
      return c.backends.map((b) => {
        const w = c.backends.find((x) => x.name === b.name && x.variant === 'stable')?.weight ?? 0;
        const share = total > 0 ? (w / total) * shareOf(b) * 100 : 0;
        return w === 0
          ? { ...base(b), weightPercent: 0, excluded: 'weight 0: used only as a fallback' }
          : { ...base(b), weightPercent: pct(share) };
      });
    }
    case 'least-cost': {
      const price = (b: CompiledRoute['backends'][number]): number =>
        b.pricing.inputPerMillionTokens + b.pricing.outputPerMillionTokens;
      const cheapest = Math.min(...c.backends.map(price));
      const winners = c.backends.filter((b) => price(b) === cheapest && b.variant === 'stable');
      return c.backends.map((b) => {
        if (b.variant === 'canary') return { ...base(b), weightPercent: pct(canaryWeight / winners.length) };
        if (price(b) !== cheapest)
          return {
            ...base(b),
            weightPercent: 0,
            excluded: 'more expensive than the cheapest backend: used only as a fallback',
          };
        return { ...base(b), weightPercent: pct((100 / winners.length) * shareOf(b)) };
      });
    }
    case 'least-latency':
    case 'quality-cost': {
      const qc = c.selection.qualityCost;
      const inPlay = (b: CompiledRoute['backends'][number]): boolean =>
        policy === 'least-latency' || b.name === qc?.strongBackend || b.name === qc?.weakBackend;
      const n = new Set(c.backends.filter(inPlay).map((b) => b.name)).size;
      return c.backends.map((b) =>
        inPlay(b)
          ? { ...base(b), weightPercent: pct((100 / Math.max(1, n)) * shareOf(b)) }
          : {
              ...base(b),
              weightPercent: 0,
              excluded: 'not named by selection.qualityCost: used only as a fallback',
            },
      );
    }
    default: {
      const never: never = policy;
      throw new Error(`unknown selection policy ${String(never)}`);
    }
  }
}

function describePolicies(c: CompiledRoute): string[] {
  const out: string[] = [];
  const sel = c.selection;
  const how: Record<string, string> = {
    weighted: 'weighted random',
    'least-latency': 'lowest observed latency per request (shares above are nominal)',
    'least-cost': 'cheapest backend by price per token',
    'quality-cost': `prompts scored above ${sel.qualityCost?.threshold ?? 0.5} go to ${sel.qualityCost?.strongBackend ?? '?'}, the rest to ${sel.qualityCost?.weakBackend ?? '?'} (shares above are nominal)`,
  };
  out.push(
    `selection: ${how[sel.policy] ?? sel.policy}${sel.stickiness === 'none' ? '' : `, sticky per ${sel.stickiness}`}`,
  );
  out.push(`fallback: on ${c.fallback.on.join(', ')}, at most ${c.fallback.maxAttempts} attempts in all`);
  out.push(
    `retry: ${c.retry.attempts} on the same backend, backoff ${c.retry.backoffMs}ms up to ${c.retry.maxBackoffMs}ms`,
  );
  out.push(`timeouts: first token ${c.timeouts.firstTokenMs / 1000}s, total ${c.timeouts.totalMs / 1000}s`);
  out.push(
    c.cache.mode === 'off'
      ? 'cache: off'
      : `cache: exact, ttl ${c.cache.ttlMs / 1000}s, shared per ${c.cache.scope}${c.cache.cacheNonDeterministic ? ', including temperature > 0' : ''}`,
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
  return out.slice(0, 16).map((s) => s.slice(0, 256));
}

/** The whole status of a route from its verdict. Pure: `now` only stamps condition transitions. */
export function renderRouteStatus(route: ModelRoute, verdict: RouteVerdict, now: string): ModelRouteStatus {
  const gen = route.metadata.generation ?? 0;
  const prev = route.status?.conditions;
  const refsOk =
    verdict.accepted ||
    (verdict.reason !== Reason.SecretNotFound && verdict.reason !== Reason.BackendNotFound);
  const refsCondition = refsOk
    ? {
        type: 'ResolvedRefs',
        status: 'True' as const,
        reason: Reason.Succeeded,
        message: 'All references resolved',
      }
    : { type: 'ResolvedRefs', status: 'False' as const, reason: verdict.reason, message: verdict.message };
  let health: Health;
  if (verdict.accepted) {
    const message = `Serving model ${route.spec.model} on gateway ${route.spec.gatewayRef.name}`;
    health = {
      ready: { status: 'True', reason: Reason.Accepted, message },
      extra: [{ type: 'Accepted', status: 'True', reason: Reason.Accepted, message }, refsCondition],
    };
  } else {
    const { reason, message } = verdict;
    health = {
      ready: { status: 'False', reason, message },
      stalled: { reason, message },
      extra: [{ type: 'Accepted', status: 'False', reason, message }, refsCondition],
    };
  }
  const status: ModelRouteStatus = {
    observedGeneration: gen,
    conditions: buildConditions(health, prev, gen, now),
    gateway: route.spec.gatewayRef.name,
  };
  if (verdict.accepted) {
    const backends = effectiveBackends(verdict.compiled);
    status.backends = backends.slice(0, 32);
    status.backendCount = backends.filter((b) => b.weightPercent > 0).length;
    status.canaryWeight = verdict.compiled.canary?.weight ?? 0;
    status.policies = describePolicies(verdict.compiled);
  } else {
    status.backendCount = 0;
    status.canaryWeight = 0;
  }
  return status;
}
