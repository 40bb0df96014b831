// Builds the translator's input for one gateway from the informer caches, and the indexes it relies on.
import type { Canary, CompiledRoute, ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { RouteSnapshot } from '../render/translate.js';
import type { Cache, ControllerDefinition } from '../runtime/framework.js';

type IndexDecl = NonNullable<ControllerDefinition['indexes']>[number];

const ns = (o: KubeObject): string => o.metadata.namespace ?? '';

export const ROUTES_BY_GATEWAY = 'gateway';
export const ROUTES_BY_SECRET = 'secret';
export const ROUTES_BY_SERVICE = 'service';
export const CANARIES_BY_ROUTE = 'route';
export const POLICIES_BY_TARGET = 'target';

export const routeIndexes: IndexDecl[] = [
  {
    kind: 'ModelRoute',
    name: ROUTES_BY_GATEWAY,
    fn: (o) => [`${ns(o)}/${(o as unknown as ModelRoute).spec.gatewayRef.name}`],
  },
  {
    kind: 'ModelRoute',
    name: ROUTES_BY_SECRET,
    fn: (o) =>
      (o as unknown as ModelRoute).spec.backends.flatMap((b) =>
        b.credentialsSecretRef ? [`${ns(o)}/${b.credentialsSecretRef.name}`] : [],
      ),
  },
  {
    kind: 'ModelRoute',
    name: ROUTES_BY_SERVICE,
    fn: (o) =>
      (o as unknown as ModelRoute).spec.backends.flatMap((b) =>
        b.service ? [`${b.service.namespace ?? ns(o)}/${b.service.name}`] : [],
      ),
  },
  {
    kind: 'Canary',
    name: CANARIES_BY_ROUTE,
    fn: (o) => [`${ns(o)}/${(o as unknown as Canary).spec.routeRef.name}`],
  },
  {
    kind: 'AutoscalingPolicy',
    name: POLICIES_BY_TARGET,
    fn: (o) => {
      const t = (o.spec as { targetRef: { kind: string; name: string } }).targetRef;
      return [`${ns(o)}/${t.kind}/${t.name}`];
    },
  },
];

/** Compiled routes are memoised across reconciles by route and canary resourceVersion. */
const compileCache = new Map<string, { key: string; compiled: CompiledRoute; error?: string }>();

export function forgetCompiled(key: string): void {
  compileCache.delete(key);
}

export function gatewaySnapshot(
  cache: Cache,
  namespace: string,
  gatewayName: string,
  only?: string,
): RouteSnapshot {
  const routes = cache.byIndex<ModelRoute>('ModelRoute', ROUTES_BY_GATEWAY, `${namespace}/${gatewayName}`);
  const canaries = routes.flatMap((r) =>
    cache.byIndex<Canary>('Canary', CANARIES_BY_ROUTE, `${namespace}/${r.metadata.name}`),
  );
  return {
    namespace,
    gatewayName,
    gateway: cache.get<ModelGateway>('ModelGateway', namespace, gatewayName),
    routes,
    canaries,
    secretExists: (name) => cache.get('Secret', namespace, name) !== undefined,
    serviceExists: (svcNs, name) => cache.get('Service', svcNs, name) !== undefined,
    compileCache,
    ...(only !== undefined ? { only } : {}),
  };
}

/** Gateways (as keys) whose config depends on the routes in `routes`. */
export function gatewaysOfRoutes(routes: KubeObject[]): string[] {
  return routes.map((r) => `${ns(r)}/${(r as unknown as ModelRoute).spec.gatewayRef.name}`);
}
