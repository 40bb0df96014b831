// An AutoscalingPolicy as the autoscaling runtime sees it: which gateway to scrape (the ModelGateway it
// scales, or the gateway of the route whose backend a model server Deployment serves), which signals and
// targets, the forecast horizon and the fallback. Pure.
import { durationMs, type AutoscalingPolicy, type ModelRoute } from '../../../api/v1alpha1/index.js';
import type { Cache } from '../runtime/framework.js';
import type { PolicyView, SignalType } from './policy-metrics.js';

export const usesSignals = (asp: AutoscalingPolicy): boolean =>
  asp.spec.metrics.some((m) => m.type !== 'cpu' && m.type !== 'memory');

/** The policy as the metrics see it; undefined when it scales on CPU/memory only or its route is missing. */
export function policyView(asp: AutoscalingPolicy, cache: Cache): PolicyView | undefined {
  if (!usesSignals(asp)) return undefined;
  const namespace = asp.metadata.namespace ?? 'default';
  const t = asp.spec.targetRef;
  let gateway = t.name;
  if (t.kind === 'Deployment') {
    const route = asp.spec.backend && cache.get<ModelRoute>('ModelRoute', namespace, asp.spec.backend.route);
    if (!route || !asp.spec.backend) return undefined;
    gateway = route.spec.gatewayRef.name;
  }
  const targets: Partial<Record<SignalType, number>> = {};
  for (const m of asp.spec.metrics) {
    if (m.type !== 'cpu' && m.type !== 'memory') targets[m.type] = m.targetAverage ?? m.targetValue;
  }
  const p = asp.spec.predictive;
  return {
    namespace,
    name: asp.metadata.name,
    gateway: { namespace, name: gateway },
    backend: asp.spec.backend && { route: asp.spec.backend.route, backend: asp.spec.backend.name },
    targets,
    predictive: p && { horizonMs: durationMs(p.horizon), seasonMs: durationMs(p.seasonality) },
    fallback: asp.spec.fallback,
  };
}
