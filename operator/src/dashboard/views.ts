// What the dashboard shows of each object: plain views built field by field from the informer cache. Views
// are an allowlist, never a copy of the object minus some fields, so that a field added to a kind later
// (a Secret reference, cohort headers, API keys) stays out of the page until someone decides to show it.
// Prompts never reach the operator; credentials are named nowhere here. Pure: no clock, no I/O.
import {
  Reason,
  type AutoscalingPolicy,
  type Canary,
  type Condition,
  type ModelGateway,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';
import type { ExperimentView } from './experiment-view.js';

export const VIEW_KINDS = ['gateway', 'route', 'canary', 'autoscaler', 'experiment'] as const;
export type ViewKind = (typeof VIEW_KINDS)[number];

export type Health = 'healthy' | 'progressing' | 'degraded' | 'unknown';

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  since: string;
}

export interface BaseView {
  kind: ViewKind;
  key: string;
  namespace: string;
  name: string;
  health: Health;
  /** The Ready condition's reason and message, or what makes the health what it is. */
  summary: string;
  conditions: ConditionView[];
}

export interface GatewayView extends BaseView {
  kind: 'gateway';
  replicas: number | undefined;
  readyReplicas: number | undefined;
  attachedRoutes: number | undefined;
  address: string | undefined;
}

export interface RouteView extends BaseView {
  kind: 'route';
  gateway: string;
  model: string;
  backends: {
    name: string;
    variant: string;
    weightPercent: number;
    model: string | undefined;
    provider: string | undefined;
    excluded: string | undefined;
    pricing: { inputPerMillionTokens?: number; outputPerMillionTokens?: number } | undefined;
  }[];
  policy: string;
  policies: string[];
  fallback: { when: string[]; maxAttempts: number | undefined } | undefined;
  cache: { mode: string; ttl: string | undefined; scope: string | undefined } | undefined;
  rateLimits: { per: string; requestsPerMinute?: number; tokensPerMinute?: number }[];
  budgets: { per: string; usd: number; window: string; onExhausted: string }[];
  canaryWeight: number | undefined;
}

export interface CanaryView extends BaseView {
  kind: 'canary';
  route: string;
  backend: string;
  steps: number[];
  interval: string;
  phase: string;
  weight: number;
  currentStep: number | undefined;
  stableRevision: string | undefined;
  candidateRevision: string | undefined;
  rolledBackRevision: string | undefined;
  promotionMode: string;
  approvedRevision: string | undefined;
  abort: boolean;
  thresholds: { name: string; max?: number; min?: number }[];
  lastAnalysis: NonNullable<Canary['status']>['lastAnalysis'];
  message: string | undefined;
}

export interface AutoscalerView extends BaseView {
  kind: 'autoscaler';
  target: string;
  minReplicas: number | undefined;
  maxReplicas: number | undefined;
  currentReplicas: number | undefined;
  desiredReplicas: number | undefined;
  metrics: { type: string; value: string }[];
  forecast: { requestsPerSecond: string; accuracy: string | undefined } | undefined;
}

export type View = GatewayView | RouteView | CanaryView | AutoscalerView | ExperimentView;

export const viewKey = (kind: ViewKind, namespace: string, name: string): string =>
  `${kind}/${namespace}/${name}`;

const MAX_MESSAGE = 512;
export const clip = (s: string | undefined): string => (s ?? '').slice(0, MAX_MESSAGE);

function conditionViews(conditions: Condition[] | undefined): ConditionView[] {
  return (conditions ?? []).map((c) => ({
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: clip(c.message),
    since: c.lastTransitionTime,
  }));
}

/** Ready False for these reasons is a wait (pods starting, a canary between steps or awaiting approval). */
const WAITING: ReadonlySet<string> = new Set([
  Reason.Progressing,
  Reason.Initializing,
  Reason.Waiting,
  Reason.Paused,
  Reason.AwaitingPromotion,
  Reason.Promoting,
  Reason.DeploymentNotReady,
  Reason.ConfigPending,
]);

/**
 * Health from the conditions, as kstatus reads them: Ready True is healthy unless the status is for an
 * older generation; Reconciling True, or Ready False for a reason that is a wait, is progressing; any other
 * Ready False, or Stalled True, is degraded.
 */
export function healthOf(
  meta: { generation?: number | undefined },
  status: { observedGeneration?: number | undefined; conditions?: Condition[] | undefined } | undefined,
): { health: Health; summary: string } {
  const conds = status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  const stalled = conds.find((c) => c.type === 'Stalled' && c.status === 'True');
  const reconciling = conds.find((c) => c.type === 'Reconciling' && c.status === 'True');
  if (stalled) return { health: 'degraded', summary: `${stalled.reason}: ${clip(stalled.message)}` };
  if (ready === undefined) return { health: 'unknown', summary: 'no Ready condition yet' };
  const text = `${ready.reason}: ${clip(ready.message)}`;
  if (ready.status === 'False')
    return { health: reconciling || WAITING.has(ready.reason) ? 'progressing' : 'degraded', summary: text };
  if (ready.status !== 'True') return { health: 'progressing', summary: text };
  const stale =
    meta.generation !== undefined &&
    status?.observedGeneration !== undefined &&
    status.observedGeneration < meta.generation;
  if (stale) return { health: 'progressing', summary: 'the operator has not yet seen the latest spec' };
  return { health: reconciling ? 'progressing' : 'healthy', summary: text };
}

export function base<K extends ViewKind>(
  kind: K,
  o: {
    metadata: { namespace?: string | undefined; name: string; generation?: number | undefined };
    status?: { observedGeneration?: number | undefined; conditions?: Condition[] | undefined } | undefined;
  },
): BaseView & { kind: K } {
  const namespace = o.metadata.namespace ?? '';
  return {
    kind,
    key: viewKey(kind, namespace, o.metadata.name),
    namespace,
    name: o.metadata.name,
    ...healthOf(o.metadata, o.status),
    conditions: conditionViews(o.status?.conditions),
  };
}

export function gatewayView(g: ModelGateway): GatewayView {
  return {
    ...base('gateway', g),
    replicas: g.status?.replicas,
    readyReplicas: g.status?.readyReplicas,
    attachedRoutes: g.status?.attachedRoutes,
    address: g.status?.address,
  };
}

export function routeView(r: ModelRoute): RouteView {
  const s = r.spec;
  const effective = r.status?.backends;
  const byName = new Map(s.backends.map((b) => [b.name, b]));
  const rows = (effective ?? s.backends.map((b) => ({ ...b, variant: 'stable', weightPercent: 0 }))).map(
    (e) => {
      const spec = byName.get(e.name);
      return {
        name: e.name,
        variant: e.variant,
        weightPercent: e.weightPercent,
        model: e.model ?? spec?.model,
        provider: spec?.provider,
        excluded: 'excluded' in e ? e.excluded : undefined,
        pricing: spec?.pricing
          ? {
              inputPerMillionTokens: spec.pricing.inputPerMillionTokens,
              outputPerMillionTokens: spec.pricing.outputPerMillionTokens,
            }
          : undefined,
      };
    },
  );
  return {
    ...base('route', r),
    gateway: s.gatewayRef.name,
    model: s.model,
    backends: rows,
    policy: s.selection?.policy ?? 'weighted',
    policies: r.status?.policies ?? [],
    fallback: s.fallback
      ? { when: [...(s.fallback.when ?? [])], maxAttempts: s.fallback.maxAttempts }
      : undefined,
    cache: s.cache ? { mode: s.cache.mode, ttl: s.cache.ttl, scope: s.cache.scope } : undefined,
    rateLimits: (s.rateLimits ?? []).map((l) => ({
      per: l.per,
      ...(l.requestsPerMinute !== undefined ? { requestsPerMinute: l.requestsPerMinute } : {}),
      ...(l.tokensPerMinute !== undefined ? { tokensPerMinute: l.tokensPerMinute } : {}),
    })),
    budgets: (s.budgets ?? []).map((b) => ({
      per: b.per,
      usd: b.usd,
      window: b.window,
      onExhausted: b.onExhausted,
    })),
    canaryWeight: r.status?.canaryWeight,
  };
}

export function canaryView(c: Canary): CanaryView {
  const s = c.spec;
  const st = c.status ?? {};
  return {
    ...base('canary', c),
    route: s.routeRef.name,
    backend: s.backend,
    steps: [...s.steps],
    interval: s.interval,
    phase: st.phase ?? 'Initializing',
    weight: st.canaryWeight ?? 0,
    currentStep: st.currentStep,
    stableRevision: st.stableRevision,
    candidateRevision: st.candidateRevision,
    rolledBackRevision: st.rolledBackRevision,
    promotionMode: s.promotion?.mode ?? 'auto',
    approvedRevision: s.promotion?.approvedRevision,
    abort: s.abort ?? false,
    thresholds: s.analysis.metrics.map((m) => ({
      name: m.name,
      ...(m.max !== undefined ? { max: m.max } : {}),
      ...(m.min !== undefined ? { min: m.min } : {}),
    })),
    lastAnalysis: st.lastAnalysis
      ? {
          verdict: st.lastAnalysis.verdict,
          ...(st.lastAnalysis.stable ? { stable: { ...st.lastAnalysis.stable } } : {}),
          ...(st.lastAnalysis.canary ? { canary: { ...st.lastAnalysis.canary } } : {}),
          ...(st.lastAnalysis.failures ? { failures: st.lastAnalysis.failures.map(clip) } : {}),
        }
      : undefined,
    message: st.message === undefined ? undefined : clip(st.message),
  };
}

export function autoscalerView(p: AutoscalingPolicy): AutoscalerView {
  const s = p.spec;
  const st = p.status ?? {};
  return {
    ...base('autoscaler', p),
    target: `${s.targetRef.kind}/${s.targetRef.name}`,
    minReplicas: s.minReplicas,
    maxReplicas: s.maxReplicas,
    currentReplicas: st.currentReplicas,
    desiredReplicas: st.desiredReplicas,
    metrics: (st.currentMetrics ?? []).map((m) => ({ type: m.type, value: m.value })),
    forecast: st.forecast
      ? { requestsPerSecond: st.forecast.requestsPerSecond, accuracy: st.forecast.accuracy }
      : undefined,
  };
}
