// Renders an AutoscalingPolicy as an autoscaling/v2 HorizontalPodAutoscaler, and its status from the live
// HPA. cpu/memory become Resource metrics; inflight-requests and requests-per-second become Pods metrics
// served by a Prometheus adapter (rules in operator/README.md). Pure.
import { METRICS, Reason, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { buildConditions, healthOf, type Health } from './conditions.js';
import { controllerRef, gatewayObjectName } from './gateway.js';

/** The per-pod request rate the adapter derives from beastmode_requests_total (see the README rule). */
export const REQUESTS_PER_SECOND_METRIC = 'beastmode_requests_per_second';
export const INFLIGHT_METRIC = METRICS.inflight;

export const hpaName = (asp: AutoscalingPolicy): string => `${asp.metadata.name}-autoscaler`;

/** The Deployment an AutoscalingPolicy scales. */
export function scaleTargetName(asp: AutoscalingPolicy): string {
  const t = asp.spec.targetRef;
  return t.kind === 'ModelGateway' ? gatewayObjectName(t.name) : t.name;
}

function renderMetric(m: AutoscalingPolicy['spec']['metrics'][number]): Record<string, unknown> {
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
      return {
        type: 'Pods',
        pods: {
          metric: { name: m.type === 'inflight-requests' ? INFLIGHT_METRIC : REQUESTS_PER_SECOND_METRIC },
          target: { type: 'AverageValue', averageValue: quantityOf(m.targetAverage ?? 1) },
        },
      };
    default: {
      const never: never = m.type;
      throw new Error(`unknown autoscaling metric ${String(never)}`);
    }
  }
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
      metrics: asp.spec.metrics.map(renderMetric),
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

interface HpaStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/** What the policy's status says: its target is missing, its HPA not observed, unable to scale, or scaling. */
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
  if (!hpa || !able) {
    return healthOf(
      'reconciling',
      Reason.Progressing,
      `HorizontalPodAutoscaler ${hpaName(asp)} not observed yet`,
    );
  }
  if (able.status !== 'True') {
    const message = `cannot scale: ${able.message ?? able.reason ?? ''}`;
    return healthOf('stalled', able.reason ?? Reason.ReconcileError, message);
  }
  const note = active && active.status !== 'True' ? ` (metrics unavailable: ${active.reason ?? ''})` : '';
  return healthOf(
    'ready',
    Reason.ScalingActive,
    `${st.currentReplicas ?? 0} replicas, desired ${st.desiredReplicas ?? 0}${note}`,
  );
}

export function renderAutoscalingStatus(
  asp: AutoscalingPolicy,
  targetExists: boolean,
  hpa: KubeObject | undefined,
  now: Date,
): NonNullable<AutoscalingPolicy['status']> {
  const gen = asp.metadata.generation ?? 0;
  const st = (hpa?.status ?? {}) as HpaStatus;
  return {
    observedGeneration: gen,
    conditions: buildConditions(autoscalingHealth(asp, targetExists, hpa), asp.status?.conditions, gen, now),
    currentReplicas: st.currentReplicas ?? 0,
    desiredReplicas: st.desiredReplicas ?? 0,
    horizontalPodAutoscaler: hpaName(asp),
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
export function translateAutoscalingPolicy(snap: AutoscalingSnapshot, now: Date): AutoscalingTranslation {
  return {
    hpa: snap.targetExists ? renderHpa(snap.policy) : undefined,
    status: renderAutoscalingStatus(snap.policy, snap.targetExists, snap.hpa, now),
  };
}
