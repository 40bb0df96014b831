// The status of a ModelGateway from its live Deployment and the config it was given. Pure.
import { Reason, type ModelGateway, type ModelGatewayStatus } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { buildConditions, type Health } from './conditions.js';
import { REPLICAS_OWNER_ANNOTATION, gatewayAddress, gatewaySelector } from './gateway.js';

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

export interface GatewayStatusInput {
  gateway: ModelGateway;
  deployment: KubeObject | undefined;
  configRevision: string;
  /** The ConfigMap holds configRevision. */
  configApplied: boolean;
  attachedRoutes: number;
  now: Date;
}

interface DeploymentHealth {
  ok: boolean;
  stalled?: string;
  message: string;
}

/**
 * Under an HPA the replica count moves all day: a gateway that serves from up-to-date pods while it scales is
 * ready (the Deployment's own Available condition would flip on every scale-up by more than maxUnavailable);
 * a rollout of a new pod template still is not.
 */
function scalingHealth(want: number, total: number, updated: number, available: number): DeploymentHealth {
  if (total > updated) return { ok: false, message: `${total - updated} old pods being replaced` };
  if (available < 1) return { ok: false, message: `0 of ${want} pods available` };
  const scaling = available < want ? ', scaling' : '';
  return { ok: true, message: `${available} of ${want} pods available${scaling}` };
}

/**
 * `wasReady`: the gateway's Ready condition before. An HPA's replica change bumps the Deployment's
 * generation too, and for a moment the Deployment controller has not observed it: an autoscaled gateway that
 * was Ready stays Ready through that moment (its pods still serve); a template change is seen as soon as
 * the controller observes it (old pods being replaced).
 */
function deploymentHealth(dep: KubeObject | undefined, wasReady: boolean): DeploymentHealth {
  if (!dep) return { ok: false, message: 'Deployment not created yet' };
  const st = (dep.status ?? {}) as DeploymentStatus;
  const want = (dep.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const progressing = st.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return {
      ok: false,
      stalled: progressing.message ?? 'progress deadline exceeded',
      message: progressing.message ?? '',
    };
  }
  const autoscaled = dep.metadata.annotations?.[REPLICAS_OWNER_ANNOTATION] === 'autoscaler';
  if ((st.observedGeneration ?? 0) < (dep.metadata.generation ?? 0)) {
    if (!autoscaled || !wasReady) return { ok: false, message: 'Deployment change not observed yet' };
    return { ok: true, message: `${st.availableReplicas ?? 0} of ${want} pods available, scaling` };
  }
  if (autoscaled)
    return scalingHealth(want, st.replicas ?? 0, st.updatedReplicas ?? 0, st.availableReplicas ?? 0);
  return fixedHealth(want, st);
}

/** A Deployment with a fixed replica count is ready when every wanted pod is updated and available. */
function fixedHealth(want: number, st: DeploymentStatus): DeploymentHealth {
  const updated = st.updatedReplicas ?? 0;
  const total = st.replicas ?? 0;
  const available = st.availableReplicas ?? 0;
  const availableCond = st.conditions?.find((c) => c.type === 'Available');
  if (updated < want) return { ok: false, message: `${updated} of ${want} pods updated` };
  if (total > updated) return { ok: false, message: `${total - updated} old pods terminating` };
  if (available < want) return { ok: false, message: `${available} of ${want} pods available` };
  if (availableCond && availableCond.status !== 'True')
    return { ok: false, message: availableCond.message ?? 'Deployment not available' };
  return { ok: true, message: `${available} of ${want} pods available` };
}

export function renderGatewayStatus(input: GatewayStatusInput): ModelGatewayStatus {
  const gw = input.gateway;
  const gen = gw.metadata.generation ?? 0;
  const wasReady = gw.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const dep = deploymentHealth(input.deployment, wasReady);
  const st = (input.deployment?.status ?? {}) as DeploymentStatus;
  let health: Health;
  if (dep.stalled !== undefined) {
    health = {
      ready: { status: 'False', reason: Reason.DeploymentNotReady, message: dep.stalled },
      stalled: { reason: Reason.DeploymentNotReady, message: dep.stalled },
    };
  } else if (!dep.ok) {
    health = {
      ready: { status: 'False', reason: Reason.DeploymentNotReady, message: dep.message },
      reconciling: { reason: Reason.Progressing, message: dep.message },
    };
  } else if (!input.configApplied) {
    const message = `GatewayConfig ${input.configRevision} not applied yet`;
    health = {
      ready: { status: 'False', reason: Reason.ConfigPending, message },
      reconciling: { reason: Reason.ConfigPending, message },
    };
  } else {
    health = {
      ready: {
        status: 'True',
        reason: Reason.Succeeded,
        message: `${dep.message}, serving ${input.attachedRoutes} routes at config ${input.configRevision}`,
      },
    };
  }
  health.extra = [
    dep.ok
      ? { type: 'Available', status: 'True', reason: Reason.DeploymentReady, message: dep.message }
      : {
          type: 'Available',
          status: 'False',
          reason: Reason.DeploymentNotReady,
          message: dep.stalled ?? dep.message,
        },
  ];
  const selector = Object.entries(gatewaySelector(gw.metadata.name))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    observedGeneration: gen,
    conditions: buildConditions(health, gw.status?.conditions, gen, input.now),
    replicas: st.replicas ?? 0,
    readyReplicas: st.readyReplicas ?? 0,
    selector,
    address: gatewayAddress(gw),
    attachedRoutes: input.attachedRoutes,
    configHash: input.configRevision,
  };
}
