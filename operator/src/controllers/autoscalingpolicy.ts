// AutoscalingPolicy controller: renders the HorizontalPodAutoscaler for a ModelGateway's Deployment or any
// Deployment, reports the HPA's view in the policy's status, and tells the autoscaling runtime (the scraper
// and the external metrics it serves) which policies exist and what they watch. Each reconcile (every 15 s
// for a policy on LLM signals) also exports the replicas, signals and forecast as metrics.
import type { AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { PolicyView, SignalType } from '../autoscaling/policy-metrics.js';
import { policyView, usesSignals } from '../autoscaling/policy-view.js';
import type { AutoscalingRuntime } from '../autoscaling/runtime.js';
import type { AutoscalingReport } from '../observability/autoscaling-metrics.js';
import {
  translateAutoscalingPolicy,
  type AutoscalingObservations,
  type AutoscalingSnapshot,
} from '../render/autoscaling.js';
import {
  controllerOwnerKey,
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type ReconcileOutcome,
} from '../runtime/framework.js';
import { POLICIES_BY_TARGET, autoscalingSnapshot, routeIndexes } from './snapshot.js';

/** How often a policy on LLM signals is looked at again (its forecast and fallback change between events). */
const REFRESH_MS = 15_000;

function observations(
  rt: Pick<AutoscalingRuntime, 'metrics'> | undefined,
  view: PolicyView | undefined,
): AutoscalingObservations {
  if (rt === undefined || view === undefined) return { fallback: false };
  return { fallback: rt.metrics.inFallback(view), forecast: rt.metrics.forecastStatus(view) };
}

/** The policy's scaling for the metrics: its HPA's replicas, and what the runtime measures and forecasts. */
function scalingReport(
  rt: Pick<AutoscalingRuntime, 'metrics'> | undefined,
  snap: AutoscalingSnapshot,
  view: PolicyView | undefined,
  obs: AutoscalingObservations,
): AutoscalingReport {
  const { policy } = snap;
  const st = (snap.hpa?.status ?? {}) as { currentReplicas?: number; desiredReplicas?: number };
  const signals: AutoscalingReport['signals'] = {};
  for (const type of Object.keys(view?.targets ?? {}) as SignalType[]) {
    const v = rt && view ? rt.metrics.measured(view, type) : undefined;
    if (v !== undefined) signals[type] = v;
  }
  const t = policy.spec.targetRef;
  return {
    namespace: policy.metadata.namespace ?? '',
    policy: policy.metadata.name,
    target: `${t.kind}/${t.name}`,
    replicas: {
      current: st.currentReplicas,
      desired: st.desiredReplicas,
      min: policy.spec.minReplicas ?? 1,
      max: policy.spec.maxReplicas,
    },
    signals,
    targets: view?.targets ?? {},
    forecast: obs.forecast && { value: obs.forecast.requestsPerSecond, accuracy: obs.forecast.accuracy },
    // Without a runtime nothing is scraped, so there is no fallback to report either way.
    fallback: rt && view && policy.spec.fallback ? obs.fallback : undefined,
  };
}

function reconcilerOf(rt: Pick<AutoscalingRuntime, 'metrics'> | undefined) {
  return async (key: string, ctx: ControllerContext): Promise<ReconcileOutcome | void> => {
    const { namespace, name } = splitKey(key);
    const asp = ctx.cache.get<AutoscalingPolicy>('AutoscalingPolicy', namespace, name);
    if (!asp || asp.metadata.deletionTimestamp) {
      ctx.metrics.autoscaling.forget(namespace, name);
      return;
    }
    const view = policyView(asp, ctx.cache);
    const obs = observations(rt, view);
    const snap = autoscalingSnapshot(ctx.cache, asp);
    const out = translateAutoscalingPolicy(snap, new Date(ctx.now()), obs);
    ctx.metrics.autoscaling.report(scalingReport(rt, snap, view, obs));
    if (out.hpa) await ctx.apply('HorizontalPodAutoscaler', out.hpa);
    const obj = asp as unknown as KubeObject;
    const before = asp.status?.conditions;
    await ctx.patchStatus('AutoscalingPolicy', obj, out.status);
    for (const type of ['Ready', 'Fallback']) {
      const was = before?.find((c) => c.type === type);
      const now = out.status.conditions?.find((c) => c.type === type);
      if (now === undefined || was?.reason === now.reason) continue;
      const bad = type === 'Ready' ? now.status !== 'True' : now.status === 'True';
      if (bad || was !== undefined)
        ctx.events.emit(obj, bad ? 'Warning' : 'Normal', now.reason, 'Reconcile', now.message);
    }
    return usesSignals(asp) ? { requeueAfterMs: REFRESH_MS } : undefined;
  };
}

/** The controller; without a runtime (no metrics API configured) the LLM signals have no server. */
export function createAutoscalingPolicyController(
  rt?: Pick<AutoscalingRuntime, 'metrics'>,
): ControllerDefinition {
  return { ...autoscalingPolicyController, reconcile: reconcilerOf(rt) };
}

export const autoscalingPolicyController: ControllerDefinition = {
  name: 'autoscalingpolicy',
  kind: 'AutoscalingPolicy',
  concurrency: 2,
  indexes: routeIndexes,
  watches: [
    { kind: 'HorizontalPodAutoscaler', mapToKeys: (o) => controllerOwnerKey(o, 'AutoscalingPolicy') },
    {
      kind: 'Deployment',
      mapToKeys: (o, ctx) => {
        const ns = o.metadata.namespace ?? '';
        const gw = o.metadata.labels?.['beastmode.dev/gateway'];
        return [
          ...ctx.cache.byIndex(
            'AutoscalingPolicy',
            POLICIES_BY_TARGET,
            `${ns}/Deployment/${o.metadata.name}`,
          ),
          ...(gw
            ? ctx.cache.byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${ns}/ModelGateway/${gw}`)
            : []),
        ].map(keyOf);
      },
      predicate: (type) => type !== 'update',
    },
    {
      kind: 'ModelGateway',
      mapToKeys: (o, ctx) =>
        ctx.cache
          .byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${keyOf(o)}`.replace('/', '/ModelGateway/'))
          .map(keyOf),
      predicate: (type) => type !== 'update',
    },
  ],
  reconcile: reconcilerOf(undefined),
};
