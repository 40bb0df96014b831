// ModelGateway controller: hands a gateway's snapshot to the pure translator (render/translate.ts) and
// applies what comes out: the GatewayConfig ConfigMap compiled from every accepted route and the data plane
// around it (ServiceAccount, Role, RoleBinding, Service, PDB, NetworkPolicy, Deployment), all owned by the
// gateway so deletion cascades; then the gateway's status. Route, canary and Service changes reach it
// through a debounce, so a burst of route edits becomes one ConfigMap write per gateway per debounce window.
// Secrets are neither read nor watched: the pods mount them, and their existence changes nothing it renders.
import type { Canary, Experiment, ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import { Reason } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { R } from '../../../kube/resources.js';
import { REPLICAS_OWNER_ANNOTATION, gatewayObjectName, type GatewayObjects } from '../render/gateway.js';
import type { CompiledRouteMemo } from '../render/route-compile.js';
import { experimentSplitChanged } from '../render/experiment-route.js';
import { translateGateway, type GatewaySnapshot, type GatewayTranslation } from '../render/translate.js';
import {
  controllerOwnerKey,
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type WatchSpec,
} from '../runtime/framework.js';
import { ROUTES_BY_SERVICE, gatewaySnapshot, gatewaysOfRoutes, routeIndexes } from './snapshot.js';

const REPLICAS_HANDOFF_MANAGER = 'beastmode-replicas-handoff';

/**
 * Before the operator stops sending spec.replicas (an AutoscalingPolicy took over), another field manager
 * takes ownership of the current value; otherwise server-side apply would drop the field and the
 * Deployment would fall back to one replica until the HPA scaled it up again.
 */
async function handOffReplicas(ctx: ControllerContext, live: KubeObject | undefined): Promise<void> {
  if (!live || live.metadata.annotations?.[REPLICAS_OWNER_ANNOTATION] === 'autoscaler') return;
  const replicas = (live.spec as { replicas?: number } | undefined)?.replicas;
  if (replicas === undefined) return;
  ctx.assertLeading();
  await ctx.client.apply(
    R.Deployment,
    { metadata: { name: live.metadata.name, namespace: live.metadata.namespace }, spec: { replicas } },
    REPLICAS_HANDOFF_MANAGER,
  );
}

/**
 * Applies the gateway's NetworkPolicy, or, when it renders none (spec.networkPolicy.enabled false), deletes
 * the one made before, found by its controller reference, so that turning the policy off opens the pods.
 */
async function reconcileNetworkPolicy(
  ctx: ControllerContext,
  gw: ModelGateway,
  desired: KubeObject | undefined,
): Promise<void> {
  if (desired) {
    await ctx.apply('NetworkPolicy', desired);
    return;
  }
  const namespace = gw.metadata.namespace ?? '';
  const name = gatewayObjectName(gw.metadata.name);
  const live = ctx.cache.get<KubeObject>('NetworkPolicy', namespace, name);
  if (!live || controllerOwnerKey(live, 'ModelGateway')[0] !== keyOf(gw)) return;
  ctx.assertLeading();
  try {
    await ctx.client.delete(R.NetworkPolicy, namespace, name);
  } catch (e) {
    throw new Error(`failed to delete NetworkPolicy ${namespace}/${name}: ${(e as Error).message}`, {
      cause: e,
    });
  }
  ctx.log.info('NetworkPolicy deleted: turned off', { kind: 'NetworkPolicy', namespace, name });
}

/** Applies what the gateway owns; the ConfigMap before the Deployment, so new pods start on the new config. */
async function applyGatewayObjects(
  ctx: ControllerContext,
  snap: GatewaySnapshot,
  objects: GatewayObjects,
): Promise<{ configWritten: boolean }> {
  await Promise.all([
    ctx.apply('ServiceAccount', objects.serviceAccount),
    ctx.apply('Role', objects.role),
    ctx.apply('RoleBinding', objects.roleBinding),
    ctx.apply('Service', objects.service),
    ctx.apply('PodDisruptionBudget', objects.podDisruptionBudget),
    reconcileNetworkPolicy(ctx, snap.gateway, objects.networkPolicy),
  ]);
  const configWritten = await ctx.apply('ConfigMap', objects.configMap);
  if (snap.autoscaled) await handOffReplicas(ctx, snap.deployment);
  await ctx.apply('Deployment', objects.deployment);
  return { configWritten };
}

/** Logs and events for what changed: a new config, and Ready flipping. */
function reportGateway(
  ctx: ControllerContext,
  gw: ModelGateway,
  out: GatewayTranslation,
  configWritten: boolean,
): void {
  const { namespace = '', name } = gw.metadata;
  const obj = gw as unknown as KubeObject;
  const { revision, routes } = out.config;
  const before = gw.status?.conditions?.find((c) => c.type === 'Ready');
  const after = out.status.conditions?.find((c) => c.type === 'Ready');
  const log = { kind: 'ModelGateway', namespace, name };
  if (configWritten) ctx.log.info('GatewayConfig updated', { ...log, revision, routes: routes.length });
  if (after && before?.status !== after.status) {
    const ready = after.status === 'True';
    ctx.events.emit(obj, ready ? 'Normal' : 'Warning', after.reason, 'Reconcile', after.message);
    ctx.log.info(ready ? 'Gateway ready' : 'Gateway not ready', { ...log, reason: after.reason });
  }
  if (configWritten && before?.status === 'True' && after?.status === 'True') {
    const message = `GatewayConfig ${revision} with ${routes.length} routes`;
    ctx.events.emit(obj, 'Normal', Reason.Reconciled, 'Configure', message);
  }
}

async function reconcileModelGateway(
  key: string,
  ctx: ControllerContext,
  compiled: CompiledRouteMemo,
): Promise<void> {
  const { namespace, name } = splitKey(key);
  const snap = gatewaySnapshot(ctx.cache, namespace, name);
  // A deleted gateway's objects go with it (garbage collection through owner references).
  if (!snap || snap.gateway.metadata.deletionTimestamp) return;
  const out = translateGateway(snap, {
    now: new Date(ctx.now()),
    defaultImage: ctx.settings.gatewayImage,
    compiled,
  });
  const { configWritten } = await applyGatewayObjects(ctx, snap, out.objects);
  await ctx.patchStatus('ModelGateway', snap.gateway as unknown as KubeObject, out.status);
  reportGateway(ctx, snap.gateway, out, configWritten);
}

const routeGateway = (o: KubeObject): string =>
  `${o.metadata.namespace ?? ''}/${(o as unknown as ModelRoute).spec.gatewayRef.name}`;

/** Owned objects map back to their gateway, so drift (a hand edit, a deletion) is repaired. */
const owned = (kind: WatchSpec['kind']): WatchSpec => ({
  kind,
  mapToKeys: (o) => controllerOwnerKey(o, 'ModelGateway'),
  predicate: (type, o, old) =>
    type !== 'update' ||
    o.metadata.generation !== old?.metadata.generation ||
    o.metadata.generation === undefined ||
    kind === 'Deployment',
});

const gatewayWatches: WatchSpec[] = [
  {
    kind: 'ModelRoute',
    mapToKeys: (o, _ctx, old) => [routeGateway(o), ...(old ? [routeGateway(old)] : [])],
    predicate: (type, o, old) =>
      type !== 'update' ||
      o.metadata.generation !== old?.metadata.generation ||
      o.metadata.deletionTimestamp !== old?.metadata.deletionTimestamp,
    debounce: true,
  },
  {
    // Canary status moves weights: any change of a canary recompiles its route's gateway.
    kind: 'Canary',
    mapToKeys: (o, ctx) => {
      const r = ctx.cache.get<KubeObject>(
        'ModelRoute',
        o.metadata.namespace ?? '',
        (o as unknown as Canary).spec.routeRef.name,
      );
      return r ? [routeGateway(r)] : [];
    },
    debounce: true,
  },
  {
    // Experiment status moves the split and promotes: a change of what it puts on its route recompiles.
    kind: 'Experiment',
    predicate: (_type, o, old) =>
      experimentSplitChanged(o as unknown as Experiment, old as unknown as Experiment | undefined),
    mapToKeys: (o, ctx) => {
      const r = ctx.cache.get<KubeObject>(
        'ModelRoute',
        o.metadata.namespace ?? '',
        (o as unknown as Experiment).spec.routeRef.name,
      );
      return r ? [routeGateway(r)] : [];
    },
    debounce: true,
  },
  {
    kind: 'Service',
    mapToKeys: (o, ctx) => [
      ...gatewaysOfRoutes(ctx.cache.byIndex('ModelRoute', ROUTES_BY_SERVICE, keyOf(o))),
      ...controllerOwnerKey(o, 'ModelGateway'),
    ],
    predicate: (type) => type !== 'update',
    debounce: true,
  },
  {
    kind: 'AutoscalingPolicy',
    mapToKeys: (o, _ctx, old) =>
      [o, old].flatMap((x) => {
        const t = (x?.spec as { targetRef?: { kind: string; name: string } } | undefined)?.targetRef;
        return t?.kind === 'ModelGateway' ? [`${x?.metadata.namespace ?? ''}/${t.name}`] : [];
      }),
  },
  owned('Deployment'),
  owned('ConfigMap'),
  owned('ServiceAccount'),
  owned('Role'),
  owned('RoleBinding'),
  owned('PodDisruptionBudget'),
  owned('NetworkPolicy'),
];

/** The ModelGateway controller; `compiled` is shared with the route controller of the same operator. */
export function createModelGatewayController(compiled: CompiledRouteMemo): ControllerDefinition {
  return {
    name: 'modelgateway',
    kind: 'ModelGateway',
    concurrency: 4,
    indexes: routeIndexes,
    watches: gatewayWatches,
    reconcile: (key, ctx) => reconcileModelGateway(key, ctx, compiled),
  };
}
