// Renders an AutoscalingPolicy as an autoscaling/v2 HorizontalPodAutoscaler, and its status from the live
// HPA. cpu/memory become Resource metrics; inflight-requests and requests-per-second become Pods metrics
// served by a Prometheus adapter (rules in operator/README.md). Pure.
import { METRICS, Reason, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { buildConditions, type Health } from './conditions.js';
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

export function renderAutoscalingStatus(
  asp: AutoscalingPolicy,
  targetExists: boolean,
  hpa: KubeObject | undefined,
  now: string,
): NonNullable<AutoscalingPolicy['status']> {
  const gen = asp.metadata.generation ?? 0;
  const prev = asp.status?.conditions;
  const t = asp.spec.targetRef;
  let health: Health;
  const st = (hpa?.status ?? {}) as HpaStatus;
  if (!targetExists) {
    const message = `${t.kind} ${asp.metadata.namespace ?? 'default'}/${t.name} not found`;
    health = {
      ready: { status: 'False', reason: Reason.TargetNotFound, message },
      stalled: { reason: Reason.TargetNotFound, message },
    };
  } else {
    const able = st.conditions?.find((c) => c.type === 'AbleToScale');
    const active = st.conditions?.find((c) => c.type === 'ScalingActive');
    if (!hpa || !able) {
      const message = `HorizontalPodAutoscaler ${hpaName(asp)} not observed yet`;
      health = {
        ready: { status: 'False', reason: Reason.Progressing, message },
        reconciling: { reason: Reason.Progressing, message },
      };
    } else if (able.status !== 'True') {
      const message = `cannot scale: ${able.message ?? able.reason ?? ''}`;
      health = {
        ready: { status: 'False', reason: able.reason ?? Reason.ReconcileError, message },
        stalled: { reason: able.reason ?? Reason.ReconcileError, message },
      };
    } else {
      const note = active && active.status !== 'True' ? ` (metrics unavailable: ${active.reason ?? ''})` : '';
      health = {
        ready: {
          status: 'True',
          reason: Reason.ScalingActive,
          message: `${st.currentReplicas ?? 0} replicas, desired ${st.desiredReplicas ?? 0}${note}`,
        },
      };
    }
  }
  return {
    observedGeneration: gen,
    conditions: buildConditions(health, prev, gen, now),
    currentReplicas: st.currentReplicas ?? 0,
    desiredReplicas: st.desiredReplicas ?? 0,
    horizontalPodAutoscaler: hpaName(asp),
  };
}
