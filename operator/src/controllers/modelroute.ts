// ModelRoute controller: validates what the schema cannot (the gateway, Secrets and Services a route
// names exist; no two routes on a gateway claim one model name) and writes a status that explains the
// effective routing. Compiling the route into its gateway's config is the gateway controller's job; it
// watches the same changes and judges routes with the same pure translator.
import type { Canary, ModelRoute } from '../../../api/v1alpha1/index.js';
import { Reason } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { CompiledRouteMemo } from '../render/route-compile.js';
import { translateRoutes, type RouteTranslation } from '../render/translate.js';
import {
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type WatchSpec,
} from '../runtime/framework.js';
import {
  ROUTES_BY_GATEWAY,
  ROUTES_BY_SECRET,
  ROUTES_BY_SERVICE,
  routeIndexes,
  routeSnapshot,
} from './snapshot.js';

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

/** An event and a log line when a route is refused for a new reason, or accepted after being refused. */
function reportRoute(ctx: ControllerContext, live: ModelRoute, translation: RouteTranslation): void {
  const { verdict, status } = translation;
  const { namespace = '', name } = live.metadata;
  const obj = live as unknown as KubeObject;
  const before = live.status?.conditions?.find((c) => c.type === 'Ready');
  const after = status.conditions?.find((c) => c.type === 'Ready');
  if (!verdict.accepted && before?.reason !== after?.reason) {
    ctx.events.emit(obj, 'Warning', verdict.reason, 'Validate', verdict.message);
    ctx.log.info('Route not accepted', {
      kind: 'ModelRoute',
      namespace,
      name,
      reason: verdict.reason,
      message: verdict.message,
    });
  } else if (verdict.accepted && before !== undefined && before.status !== 'True') {
    ctx.events.emit(obj, 'Normal', Reason.Accepted, 'Validate', after?.message ?? 'Accepted');
    ctx.log.info('Route accepted', { kind: 'ModelRoute', namespace, name });
  }
}

async function reconcileModelRoute(
  key: string,
  ctx: ControllerContext,
  compiled: CompiledRouteMemo,
): Promise<void> {
  const { namespace, name } = splitKey(key);
  const live = ctx.cache.get<ModelRoute>('ModelRoute', namespace, name);
  if (!live || live.metadata.deletionTimestamp) {
    compiled.forget(key);
    return;
  }
  const snap = routeSnapshot(ctx.cache, namespace, live.spec.gatewayRef.name, name);
  const translation = translateRoutes(snap, { now: new Date(ctx.now()), compiled }).get(name);
  if (!translation) return;
  const written = await ctx.patchStatus('ModelRoute', live as unknown as KubeObject, translation.status);
  if (written) reportRoute(ctx, live, translation);
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
    kind: 'Secret',
    mapToKeys: (o, ctx) => ctx.cache.byIndex('ModelRoute', ROUTES_BY_SECRET, keyOf(o)).map(keyOf),
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
];

/** The ModelRoute controller; `compiled` is shared with the gateway controller of the same operator. */
export function createModelRouteController(compiled: CompiledRouteMemo): ControllerDefinition {
  return {
    name: 'modelroute',
    kind: 'ModelRoute',
    concurrency: 8,
    indexes: routeIndexes,
    watches: routeWatches,
    reconcile: (key, ctx) => reconcileModelRoute(key, ctx, compiled),
  };
}
