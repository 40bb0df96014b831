// Builds the translators' inputs from the informer caches (a gateway's routes and what they reference, an
// autoscaling policy's target and HPA) and the gateway instances' last word on credentials, and the indexes
// those lookups rely on.
import type {
  AutoscalingPolicy,
  Canary,
  Experiment,
  ModelGateway,
  ModelRoute,
} from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { hpaName, type AutoscalingSnapshot } from '../render/autoscaling.js';
import { gatewayObjectName } from '../render/gateway.js';
import type { GatewaySnapshot, RouteSnapshot } from '../render/translate.js';
import type { Cache, ControllerDefinition } from '../runtime/framework.js';
import type { CredentialReports } from './credentials.js';

type IndexDecl = NonNullable<ControllerDefinition['indexes']>[number];

const ns = (o: KubeObject): string => o.metadata.namespace ?? '';

export const ROUTES_BY_GATEWAY = 'gateway';
export const ROUTES_BY_SERVICE = 'service';
export const CANARIES_BY_ROUTE = 'route';
export const EXPERIMENTS_BY_ROUTE = 'route';
export const POLICIES_BY_TARGET = 'target';

export const routeIndexes: IndexDecl[] = [
  {
    kind: 'ModelRoute',
    name: ROUTES_BY_GATEWAY,
    fn: (o) => [`${ns(o)}/${(o as unknown as ModelRoute).spec.gatewayRef.name}`],
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
    kind: 'Experiment',
    name: EXPERIMENTS_BY_ROUTE,
    fn: (o) => [`${ns(o)}/${(o as unknown as Experiment).spec.routeRef.name}`],
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

/**
 * The routes of one gateway and what they reference; with `only`, judging that route alone. Without
 * `credentials` (or before the gateway was probed) nothing is known about credentials.
 */
export function routeSnapshot(
  cache: Cache,
  namespace: string,
  gatewayName: string,
  only?: string,
  credentials?: CredentialReports,
): RouteSnapshot {
  const routes = cache.byIndex<ModelRoute>('ModelRoute', ROUTES_BY_GATEWAY, `${namespace}/${gatewayName}`);
  const canaries = routes.flatMap((r) =>
    cache.byIndex<Canary>('Canary', CANARIES_BY_ROUTE, `${namespace}/${r.metadata.name}`),
  );
  const experiments = routes.flatMap((r) =>
    cache.byIndex<Experiment>('Experiment', EXPERIMENTS_BY_ROUTE, `${namespace}/${r.metadata.name}`),
  );
  return {
    namespace,
    gatewayName,
    gateway: cache.get<ModelGateway>('ModelGateway', namespace, gatewayName),
    routes,
    canaries,
    experiments,
    serviceExists: (svcNs, name) => cache.get('Service', svcNs, name) !== undefined,
    ...(credentials !== undefined
      ? {
          credentials: (route: string) => credentials.forRoute(`${namespace}/${gatewayName}`, route),
          spilling: (route: string) => credentials.spillingFor(`${namespace}/${gatewayName}`, route),
          router: (route: string) => credentials.routerFor(`${namespace}/${gatewayName}`, route),
        }
      : {}),
    ...(only !== undefined ? { only } : {}),
  };
}

/** Everything the gateway translator reads; undefined when the gateway does not exist. */
export function gatewaySnapshot(
  cache: Cache,
  namespace: string,
  name: string,
  credentials?: CredentialReports,
): GatewaySnapshot | undefined {
  const routes = routeSnapshot(cache, namespace, name, undefined, credentials);
  const gateway = routes.gateway;
  if (!gateway) return undefined;
  return {
    ...routes,
    gateway,
    deployment: cache.get<KubeObject>('Deployment', namespace, gatewayObjectName(name)),
    autoscaled:
      cache.byIndex('AutoscalingPolicy', POLICIES_BY_TARGET, `${namespace}/ModelGateway/${name}`).length > 0,
  };
}

/** What the autoscaling translator reads about one policy. */
export function autoscalingSnapshot(cache: Cache, policy: AutoscalingPolicy): AutoscalingSnapshot {
  const namespace = policy.metadata.namespace ?? '';
  const t = policy.spec.targetRef;
  return {
    policy,
    targetExists: cache.get(t.kind, namespace, t.name) !== undefined,
    hpa: cache.get<KubeObject>('HorizontalPodAutoscaler', namespace, hpaName(policy)),
  };
}

/** Gateways (as keys) whose config depends on the routes in `routes`. */
export function gatewaysOfRoutes(routes: KubeObject[]): string[] {
  return routes.map((r) => `${ns(r)}/${(r as unknown as ModelRoute).spec.gatewayRef.name}`);
}
