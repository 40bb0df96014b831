// ModelRoute controller: validates what the schema cannot (the gateway and Services a route names exist;
// no two routes on a gateway claim one model name) and writes a status that explains the effective routing,
// with Ready False while the gateway's instances report a credential they cannot read (the credentials
// controller asks them; the operator never reads Secrets). Compiling the route into its gateway's config is
// the gateway controller's job; it watches the same changes and judges routes with the same pure translator.
import type { Canary, Experiment, ModelRoute } from '../../../api/v1alpha1/index.js';
import { ConditionType, Reason } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { CompiledRouteMemo } from '../render/route-compile.js';
import { experimentSplitChanged } from '../render/experiment-route.js';
import type { CredentialReports } from './credentials.js';
import { translateRoutes, type RouteTranslation } from '../render/translate.js';
import {
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type ReconcileOutcome,
  type WatchSpec,
} from '../runtime/framework.js';
import { ROUTES_BY_GATEWAY, ROUTES_BY_SERVICE, routeIndexes, routeSnapshot } from './snapshot.js';

const route = (o: KubeObject): ModelRoute => o as unknown as ModelRoute;

/** Routes on the same gateway that claim the same model: their conflict verdicts may change. */
function rivals(o: KubeObject, ctx: ControllerContext): string[] {
  const r = route(o);
  const ns = o.metadata.namespace ?? '';
  return ctx.cache
    .byIndex<ModelRoute>('ModelRoute', ROUTES_BY_GATEWAY, `${ns}/${r.spec.gatewayRef.name}`)
    .filter((x) => x.spec.model === r.spec.model && x.metadata.name !== o.metadata.name)
    .map(keyOf);
}

/** An event and a log line when a route is refused or stops working for a new reason, or works again. */
function reportRoute(ctx: ControllerContext, live: ModelRoute, translation: RouteTranslation): void {
  const { verdict, status } = translation;
  const { namespace = '', name } = live.metadata;
  const obj = live as unknown as KubeObject;
  const before = live.status?.conditions?.find((c) => c.type === 'Ready');
  const after = status.conditions?.find((c) => c.type === 'Ready');
  const log = { kind: 'ModelRoute', namespace, name };
  if (!verdict.accepted && before?.reason !== after?.reason) {
    ctx.events.emit(obj, 'Warning', verdict.reason, 'Validate', verdict.message);
    ctx.log.info('Route not accepted', { ...log, reason: verdict.reason, message: verdict.message });
  } else if (verdict.accepted && verdict.credentials && before?.reason !== after?.reason) {
    ctx.events.emit(obj, 'Warning', Reason.CredentialsUnavailable, 'Probe', after?.message ?? '');
    ctx.log.info('Route credentials unavailable', { ...log, message: after?.message });
  } else if (
    verdict.accepted &&
    before !== undefined &&
    before.status !== 'True' &&
    after?.status === 'True'
  ) {
    ctx.events.emit(obj, 'Normal', Reason.Accepted, 'Validate', after.message);
    ctx.log.info('Route accepted', log);
  }
}

/** An event when a backend of the route starts or stops spilling its excess over to another. */
function reportSpill(ctx: ControllerContext, live: ModelRoute, translation: RouteTranslation): void {
  const type = ConditionType.SpillingOver;
  const before = live.status?.conditions?.find((c) => c.type === type);
  const after = translation.status.conditions?.find((c) => c.type === type);
  if (after === undefined || before?.status === after.status) return;
  if (before === undefined && after.status !== 'True') return;
  const { namespace = '', name } = live.metadata;
  const started = after.status === 'True';
  const reason = started ? 'SpillOverStarted' : 'SpillOverEnded';
  ctx.events.emit(
    live as unknown as KubeObject,
    started ? 'Warning' : 'Normal',
    reason,
    'Probe',
    after.message,
  );
  ctx.log.info(started ? 'Route spilling over' : 'Route spill-over ended', {
    kind: 'ModelRoute',
    namespace,
    name,
    message: after.message,
  });
}

/** Whether the route takes credentials and its gateway's instances have not been asked about them yet. */
function credentialsUnasked(live: ModelRoute, ctx: ControllerContext, reports: CredentialReports): boolean {
  if (!live.spec.backends.some((b) => b.credentialsSecretRef)) return false;
  const namespace = live.metadata.namespace ?? '';
  const gateway = live.spec.gatewayRef.name;
  return (
    ctx.cache.get('ModelGateway', namespace, gateway) !== undefined &&
    !reports.probed(`${namespace}/${gateway}`)
  );
}

/** Until the first probe after a start or a leader handover: a status written now would flap. */
const WAIT_FOR_PROBE_MS = 250;

async function reconcileModelRoute(
  key: string,
  ctx: ControllerContext,
  deps: ModelRouteControllerDeps,
): Promise<ReconcileOutcome | void> {
  const { namespace, name } = splitKey(key);
  const live = ctx.cache.get<ModelRoute>('ModelRoute', namespace, name);
  if (!live || live.metadata.deletionTimestamp) {
    deps.compiled.forget(key);
    return;
  }
  if (credentialsUnasked(live, ctx, deps.credentials)) return { requeueAfterMs: WAIT_FOR_PROBE_MS };
  const snap = routeSnapshot(ctx.cache, namespace, live.spec.gatewayRef.name, name, deps.credentials);
  const translation = translateRoutes(snap, { now: new Date(ctx.now()), compiled: deps.compiled }).get(name);
  if (!translation) return;
  const written = await ctx.patchStatus('ModelRoute', live as unknown as KubeObject, translation.status);
  if (written) {
    reportRoute(ctx, live, translation);
    reportSpill(ctx, live, translation);
  }
}

const routeWatches: WatchSpec[] = [
  // A route appearing, changing model or going away can settle a rival's model conflict.
  {
    kind: 'ModelRoute',
    mapToKeys: (o, ctx, old) => [...rivals(o, ctx), ...(old ? rivals(old, ctx) : [])],
    predicate: (type, o, old) =>
      type !== 'update' ||
      route(o).spec.model !== route(old ?? o).spec.model ||
      o.metadata.generation !== old?.metadata.generation,
  },
  {
    kind: 'ModelGateway',
    mapToKeys: (o, ctx) => ctx.cache.byIndex('ModelRoute', ROUTES_BY_GATEWAY, keyOf(o)).map(keyOf),
    predicate: (type) => type !== 'update',
  },
  {
    kind: 'Service',
    mapToKeys: (o, ctx) => ctx.cache.byIndex('ModelRoute', ROUTES_BY_SERVICE, keyOf(o)).map(keyOf),
    predicate: (type) => type !== 'update',
  },
  {
    kind: 'Canary',
    mapToKeys: (o) => [`${o.metadata.namespace ?? ''}/${(o as unknown as Canary).spec.routeRef.name}`],
  },
  {
    kind: 'Experiment',
    predicate: (_type, o, old) =>
      experimentSplitChanged(o as unknown as Experiment, old as unknown as Experiment | undefined),
    mapToKeys: (o) => [`${o.metadata.namespace ?? ''}/${(o as unknown as Experiment).spec.routeRef.name}`],
  },
];

export interface ModelRouteControllerDeps {
  /** Shared with the gateway controller of the same operator. */
  compiled: CompiledRouteMemo;
  /** Written by the credentials controller of the same operator. */
  credentials: CredentialReports;
}

export function createModelRouteController(deps: ModelRouteControllerDeps): ControllerDefinition {
  return {
    name: 'modelroute',
    kind: 'ModelRoute',
    concurrency: 8,
    indexes: routeIndexes,
    watches: routeWatches,
    reconcile: (key, ctx) => reconcileModelRoute(key, ctx, deps),
  };
}
