// Renders an AutoscalingPolicy as an autoscaling/v2 HorizontalPodAutoscaler, and its status from the live
// HPA. cpu/memory become Resource metrics; the LLM signals become External metrics that the operator itself
// serves (external.metrics.k8s.io, selected by policy=<name>): per-replica signals with AverageValue targets
// (the HPA divides by the replicas), latencies and shares with Value targets, and with `predictive` the
// forecast of the request rate beside the rate itself, so the HPA takes the larger. Pure.
import { Reason, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { EXTERNAL_METRICS } from '../autoscaling/policy-metrics.js';
import { buildConditions, healthOf, type ConditionInput, type Health } from './conditions.js';
import { controllerRef, gatewayObjectName } from './gateway.js';

export const hpaName = (asp: AutoscalingPolicy): string => `${asp.metadata.name}-autoscaler`;

/** The Deployment an AutoscalingPolicy scales. */
export function scaleTargetName(asp: AutoscalingPolicy): string {
  const t = asp.spec.targetRef;
  return t.kind === 'ModelGateway' ? gatewayObjectName(t.name) : t.name;
}

type Metric = AutoscalingPolicy['spec']['metrics'][number];

function external(
  asp: AutoscalingPolicy,
  name: string,
  target: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type: 'External',
    external: { metric: { name, selector: { matchLabels: { policy: asp.metadata.name } } }, target },
  };
}

function renderMetric(asp: AutoscalingPolicy, m: Metric): Record<string, unknown> {
  switch (m.type) {
    case 'cpu':
    case 'memory':
      return {
        type: 'Resource',
        resource: {
          name: m.type,
          target: { type: 'Utilization', averageUtilization: m.targetAverageUtilization },
        },
      };
    case 'inflight-requests':
    case 'requests-per-second':
      return external(asp, EXTERNAL_METRICS[m.type], {
        type: 'AverageValue',
        averageValue: quantityOf(m.targetAverage ?? 1),
      });
    case 'ttft-p95':
    case 'throttled-ratio':
      return external(asp, EXTERNAL_METRICS[m.type], {
        type: 'Value',
        value: quantityOf(m.targetValue ?? 1),
      });
    default: {
      const never: never = m.type;
      throw new Error(`unknown autoscaling metric ${String(never)}`);
    }
  }
}

/** The HPA's metrics: each declared one, and the forecast of a predictive policy with the rate's target. */
function renderMetrics(asp: AutoscalingPolicy): Record<string, unknown>[] {
  const out = asp.spec.metrics.map((m) => renderMetric(asp, m));
  const rate = asp.spec.metrics.find((m) => m.type === 'requests-per-second');
  if (asp.spec.predictive !== undefined && rate?.targetAverage !== undefined) {
    out.push(
      external(asp, EXTERNAL_METRICS.forecast, {
        type: 'AverageValue',
        averageValue: quantityOf(rate.targetAverage),
      }),
    );
  }
  return out;
}

/** A Kubernetes quantity for a positive number: integers as is, fractions in milli-units. */
export function quantityOf(x: number): string {
  return Number.isInteger(x) ? String(x) : `${Math.round(x * 1000)}m`;
}

export function renderHpa(asp: AutoscalingPolicy): KubeObject {
  const b = asp.spec.behavior;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: hpaName(asp),
      namespace: asp.metadata.namespace ?? 'default',
      labels: {
        'app.kubernetes.io/managed-by': 'beastmode-operator',
        'beastmode.dev/autoscalingpolicy': asp.metadata.name,
      },
      ownerReferences: [controllerRef(asp, 'AutoscalingPolicy')],
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: scaleTargetName(asp) },
      minReplicas: asp.spec.minReplicas ?? 1,
      maxReplicas: asp.spec.maxReplicas,
      metrics: renderMetrics(asp),
      ...(b
        ? {
            behavior: {
              ...(b.scaleUp ? { scaleUp: b.scaleUp } : {}),
              ...(b.scaleDown ? { scaleDown: b.scaleDown } : {}),
            },
          }
        : {}),
    },
  };
}

interface HpaMetricStatus {
  type: string;
  resource?: { name: string; current?: { averageUtilization?: number; averageValue?: string } };
  external?: { metric: { name: string }; current?: { value?: string; averageValue?: string } };
}

interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  currentMetrics?: HpaMetricStatus[];
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/**
 * What the policy's status says. Ready only when the HPA can compute a replica count from its metrics
 * (AbleToScale and ScalingActive True): an HPA that reads no metric holds its replicas and scales nothing.
 */
function autoscalingHealth(
  asp: AutoscalingPolicy,
  targetExists: boolean,
  hpa: KubeObject | undefined,
): Health {
  const t = asp.spec.targetRef;
  if (!targetExists) {
    const message = `${t.kind} ${asp.metadata.namespace ?? 'default'}/${t.name} not found`;
    return healthOf('stalled', Reason.TargetNotFound, message);
  }
  const st = (hpa?.status ?? {}) as HpaStatus;
  const able = st.conditions?.find((c) => c.type === 'AbleToScale');
  const active = st.conditions?.find((c) => c.type === 'ScalingActive');
  if (able?.status === 'False') {
    const message = `cannot scale: ${able.message ?? able.reason ?? ''}`;
    return healthOf('stalled', able.reason ?? Reason.ReconcileError, message);
  }
  if (!hpa || !able || !active) {
    const message = `HorizontalPodAutoscaler ${hpaName(asp)} not observed yet`;
    return healthOf('reconciling', Reason.Progressing, message);
  }
  if (active.status !== 'True') {
    const why = `${active.reason ?? 'ScalingInactive'}: ${active.message ?? ''}`.trim();
    return healthOf(
      'waiting',
      Reason.MetricsUnavailable,
      `the HPA cannot compute a replica count from its metrics (${why})`,
    );
  }
  return healthOf(
    'ready',
    Reason.ScalingActive,
    `${st.currentReplicas ?? 0} replicas, desired ${st.desiredReplicas ?? 0}`,
  );
}

/** A metric the HPA last saw, as `type` (the policy's name for it) and its value. */
function currentMetric(m: HpaMetricStatus): { type: string; value: string } | undefined {
  if (m.type === 'Resource' && m.resource !== undefined) {
    const c = m.resource.current;
    const value = c?.averageUtilization !== undefined ? `${c.averageUtilization}%` : c?.averageValue;
    return value === undefined ? undefined : { type: m.resource.name, value };
  }
  if (m.type === 'External' && m.external !== undefined) {
    const entry = Object.entries(EXTERNAL_METRICS).find(([, n]) => n === m.external?.metric.name);
    const c = m.external.current;
    const value = c?.averageValue ?? c?.value;
    return entry === undefined || value === undefined ? undefined : { type: entry[0], value };
  }
  return undefined;
}

/** What the operator itself knows of a policy beyond the HPA: its fallback and its forecast. */
export interface AutoscalingObservations {
  /** The gateways could not be read fallback.failureThreshold times in a row: the HPA holds the fallback. */
  fallback: boolean;
  forecast?: { requestsPerSecond: number; accuracy: number | undefined } | undefined;
}

function fallbackCondition(asp: AutoscalingPolicy, obs: AutoscalingObservations): ConditionInput[] {
  if (asp.spec.fallback === undefined) return [];
  return [
    obs.fallback
      ? {
          type: 'Fallback',
          status: 'True',
          reason: Reason.FallbackActive,
          message: `the gateways could not be read ${asp.spec.fallback.failureThreshold} times in a row: holding ${asp.spec.fallback.replicas} replicas`,
        }
      : {
          type: 'Fallback',
          status: 'False',
          reason: Reason.MetricsAvailable,
          message: 'the gateways are read',
        },
  ];
}

export function renderAutoscalingStatus(
  asp: AutoscalingPolicy,
  targetExists: boolean,
  hpa: KubeObject | undefined,
  now: Date,
  obs: AutoscalingObservations = { fallback: false },
): NonNullable<AutoscalingPolicy['status']> {
  const gen = asp.metadata.generation ?? 0;
  const st = (hpa?.status ?? {}) as HpaStatus;
  const health = { ...autoscalingHealth(asp, targetExists, hpa), extra: fallbackCondition(asp, obs) };
  const current = (st.currentMetrics ?? []).flatMap((m) => currentMetric(m) ?? []);
  const f = obs.forecast;
  return {
    observedGeneration: gen,
    conditions: buildConditions(health, asp.status?.conditions, gen, now),
    currentReplicas: st.currentReplicas ?? 0,
    desiredReplicas: st.desiredReplicas ?? 0,
    horizontalPodAutoscaler: hpaName(asp),
    ...(current.length > 0 ? { currentMetrics: current } : {}),
    ...(f !== undefined
      ? {
          forecast: {
            requestsPerSecond: f.requestsPerSecond.toFixed(1),
            ...(f.accuracy !== undefined ? { accuracy: `${(100 * f.accuracy).toFixed(1)}%` } : {}),
          },
        }
      : {}),
  };
}

/** What the autoscaling controller reads about one policy, as plain data. */
export interface AutoscalingSnapshot {
  policy: AutoscalingPolicy;
  /** The Deployment or ModelGateway the policy names exists. */
  targetExists: boolean;
  /** The live HPA, whose status the policy's status reports. */
  hpa: KubeObject | undefined;
}

export interface AutoscalingTranslation {
  /** The HPA to apply; none while the target is missing (an HPA would scale nothing). */
  hpa: KubeObject | undefined;
  status: NonNullable<AutoscalingPolicy['status']>;
}

/** The autoscaling controller's whole decision for one policy. Pure. */
export function translateAutoscalingPolicy(
  snap: AutoscalingSnapshot,
  now: Date,
  obs: AutoscalingObservations = { fallback: false },
): AutoscalingTranslation {
  return {
    hpa: snap.targetExists ? renderHpa(snap.policy) : undefined,
    status: renderAutoscalingStatus(snap.policy, snap.targetExists, snap.hpa, now, obs),
  };
}
