// ModelGateway controller: compiles every accepted route of a gateway into its GatewayConfig ConfigMap and
// renders the data plane around it (ServiceAccount, Role, RoleBinding, Service, PDB, Deployment), all
// owned by the gateway so deletion cascades. Route, canary, Secret and Service changes reach it through a
// debounce, so a burst of route edits becomes one ConfigMap write per gateway per debounce window.
import type { Canary, ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import { Reason } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { toKubeTime } from '../render/conditions.js';
import { REPLICAS_OWNER_ANNOTATION, gatewayObjectName, renderGatewayObjects } from '../render/gateway.js';
import { renderGatewayStatus } from '../render/gateway-status.js';
import { compileGatewayConfig, evaluateRoutes, referencedSecrets } from '../render/translate.js';
import { R } from '../../../kube/resources.js';
import {
  controllerOwnerKey,
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type WatchSpec,
} from '../runtime/framework.js';
import {
  POLICIES_BY_TARGET,
  ROUTES_BY_SECRET,
  ROUTES_BY_SERVICE,
  gatewaySnapshot,
  gatewaysOfRoutes,
  routeIndexes,
} from './snapshot.js';

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
  await ctx.client.apply(
    R.Deployment,
    { metadata: { name: live.metadata.name, namespace: live.metadata.namespace }, spec: { replicas } },
    REPLICAS_HANDOFF_MANAGER,
  );
}

export async function reconcileModelGateway(key: string, ctx: ControllerContext): Promise<void> {
  const { namespace, name } = splitKey(key);
  const gw = ctx.cache.get<ModelGateway>('ModelGateway', namespace, name);
  if (!gw || gw.metadata.deletionTimestamp) return; // owned objects go with it (garbage collection)
  const verdicts = evaluateRoutes(gatewaySnapshot(ctx.cache, namespace, name));
  const config = compileGatewayConfig(gw, verdicts);
  const autoscaled =
    ctx.cache.byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${namespace}/ModelGateway/${name}`).length >
    0;
  const objs = renderGatewayObjects({
    gateway: gw,
    config,
    secrets: referencedSecrets(gw, verdicts),
    defaultImage: ctx.settings.gatewayImage,
    autoscaled,
  });
  await Promise.all([
    ctx.apply('ServiceAccount', objs.serviceAccount),
    ctx.apply('Role', objs.role),
    ctx.apply('RoleBinding', objs.roleBinding),
    ctx.apply('Service', objs.service),
    ctx.apply('PodDisruptionBudget', objs.podDisruptionBudget),
  ]);
  const configWritten = await ctx.apply('ConfigMap', objs.configMap);
  const liveDeployment = ctx.cache.get<KubeObject>('Deployment', namespace, gatewayObjectName(name));
  if (autoscaled) await handOffReplicas(ctx, liveDeployment);
  await ctx.apply('Deployment', objs.deployment);
  const attachedRoutes = config.routes.length;
  const status = renderGatewayStatus({
    gateway: gw,
    deployment: ctx.cache.get('Deployment', namespace, gatewayObjectName(name)),
    configRevision: config.revision,
    configApplied: true,
    attachedRoutes,
    now: toKubeTime(ctx.now()),
  });
  const obj = gw as unknown as KubeObject;
  const before = gw.status?.conditions?.find((c) => c.type === 'Ready');
  await ctx.patchStatus('ModelGateway', obj, status);
  const after = status.conditions?.find((c) => c.type === 'Ready');
  const log = { kind: 'ModelGateway', namespace, name };
  if (configWritten) {
    ctx.log.info('GatewayConfig updated', { ...log, revision: config.revision, routes: attachedRoutes });
  }
  if (after && before?.status !== after.status) {
    ctx.events.emit(
      obj,
      after.status === 'True' ? 'Normal' : 'Warning',
      after.reason,
      'Reconcile',
      after.message,
    );
    ctx.log.info(after.status === 'True' ? 'Gateway ready' : 'Gateway not ready', {
      ...log,
      reason: after.reason,
    });
  }
  if (configWritten && before?.status === 'True' && after?.status === 'True') {
    ctx.events.emit(
      obj,
      'Normal',
      Reason.Reconciled,
      'Configure',
      `GatewayConfig ${config.revision} with ${attachedRoutes} routes`,
    );
  }
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

export const modelGatewayController: ControllerDefinition = {
  name: 'modelgateway',
  kind: 'ModelGateway',
  concurrency: 4,
  indexes: routeIndexes,
  watches: [
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
      kind: 'Secret',
      mapToKeys: (o, ctx) => gatewaysOfRoutes(ctx.cache.byIndex('ModelRoute', ROUTES_BY_SECRET, keyOf(o))),
      predicate: (type) => type !== 'update',
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
  ],
  reconcile: reconcileModelGateway,
};
