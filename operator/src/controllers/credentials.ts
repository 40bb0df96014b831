// Credentials controller: asks each gateway's instances which backend credentials they cannot read (their
// beastmode_backend_credentials_ready metric), keeps the answers for the route controller and has the
// routes whose answer changed judged again (the same scrape says which backends spill over, for the
// routes' SpillingOver condition). This is how a missing Secret or key reaches a route's status
// although the operator reads no Secret: the kubelet mounts them into the gateway's pods, and the gateway
// says what it could not read. It writes nothing itself.
import type { ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { CredentialsReport, RouterReport, SpillingBackend } from '../render/translate.js';
import { CredentialProbe, type GatewayCredentials } from '../rollout/providers/credentials.js';
import {
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type ReconcileOutcome,
} from '../runtime/framework.js';
import type { GatewayInstances } from './gateway-instances.js';
import { ROUTES_BY_GATEWAY, routeIndexes } from './snapshot.js';

export const CREDENTIALS_CONTROLLER = 'credentials';
/** How often a gateway with routes is asked again: a created or rotated Secret shows within this. */
export const CREDENTIALS_PROBE_MS = 10_000;
/** A changed route is probed after this: the gateway loads its new config about a second after the change. */
const AFTER_ROUTE_CHANGE_MS = 2_000;

const NOTHING_TO_ASK: GatewayCredentials = { instances: 0, routes: new Map() };

/** The last answer of every gateway, by gateway key; shared by this controller and the route controller. */
export class CredentialReports {
  private readonly gateways = new Map<string, GatewayCredentials | undefined>();

  /** Whether the gateway was probed since this operator started (its answer may still be "unknown"). */
  probed(gatewayKey: string): boolean {
    return this.gateways.has(gatewayKey);
  }

  /** What the instances said about one route; undefined while nothing is known. */
  forRoute(gatewayKey: string, route: string): CredentialsReport | undefined {
    const g = this.gateways.get(gatewayKey);
    if (g === undefined) return undefined;
    return g.routes.get(route) ?? { instances: g.instances, unavailable: [] };
  }

  /** Which of the route's backends the instances spill over from; undefined while nothing is known. */
  spillingFor(
    gatewayKey: string,
    route: string,
  ): { instances: number; backends: SpillingBackend[] } | undefined {
    const g = this.gateways.get(gatewayKey);
    if (g === undefined) return undefined;
    return { instances: g.instances, backends: g.spilling?.get(route) ?? [] };
  }

  /** Records a gateway's answer (undefined: no instance answered); returns the routes whose report changed. */
  record(gatewayKey: string, answer: GatewayCredentials | undefined): string[] {
    const before = this.gateways.get(gatewayKey);
    this.gateways.set(gatewayKey, answer);
    return changedRoutes(before, answer);
  }

  /** What the instances report of a route's routers; undefined while nothing is known or none reports. */
  routerFor(gatewayKey: string, route: string): RouterReport | undefined {
    return this.gateways.get(gatewayKey)?.router?.get(route);
  }

  /** The gateway went away; returns the routes that had a report. */
  forget(gatewayKey: string): string[] {
    const before = this.gateways.get(gatewayKey);
    this.gateways.delete(gatewayKey);
    return changedRoutes(before, undefined);
  }
}

function changedRoutes(a: GatewayCredentials | undefined, b: GatewayCredentials | undefined): string[] {
  const names = new Set([
    ...(a?.routes.keys() ?? []),
    ...(b?.routes.keys() ?? []),
    ...(a?.spilling?.keys() ?? []),
    ...(b?.spilling?.keys() ?? []),
    ...(a?.router?.keys() ?? []),
    ...(b?.router?.keys() ?? []),
  ]);
  const same = (r: string) =>
    JSON.stringify(a?.routes.get(r)) === JSON.stringify(b?.routes.get(r)) &&
    JSON.stringify(a?.spilling?.get(r)) === JSON.stringify(b?.spilling?.get(r)) &&
    JSON.stringify(a?.router?.get(r)) === JSON.stringify(b?.router?.get(r));
  return [...names].filter((r) => !same(r));
}

export interface CredentialsControllerDeps {
  instances: GatewayInstances;
  reports: CredentialReports;
  /** Defaults to scraping the instances the resolver finds. */
  probe?: CredentialProbe;
}

async function askInstances(
  ctx: ControllerContext,
  probe: CredentialProbe,
  gw: { namespace: string; name: string },
): Promise<GatewayCredentials | undefined> {
  try {
    return await probe.probe(gw);
  } catch (e) {
    ctx.log.warn('Credentials probe failed', { kind: 'ModelGateway', ...gw, error: (e as Error).message });
    return undefined;
  }
}

async function reconcileCredentials(
  key: string,
  ctx: ControllerContext,
  deps: CredentialsControllerDeps,
  probe: CredentialProbe,
): Promise<ReconcileOutcome | void> {
  deps.instances.bind(ctx);
  const { namespace, name } = splitKey(key);
  const gw = ctx.cache.get<ModelGateway>('ModelGateway', namespace, name);
  const changed = (routes: string[]): void => {
    for (const r of routes) ctx.enqueue('modelroute', `${namespace}/${r}`);
  };
  if (!gw || gw.metadata.deletionTimestamp) {
    changed(deps.reports.forget(key));
    return;
  }
  const routes = ctx.cache.byIndex<ModelRoute>('ModelRoute', ROUTES_BY_GATEWAY, key);
  // A route's credentials may come from its spec or its canary's overlay: a gateway with any route is asked.
  const answer = routes.length === 0 ? NOTHING_TO_ASK : await askInstances(ctx, probe, { namespace, name });
  changed(deps.reports.record(key, answer));
  return routes.length === 0 ? undefined : { requeueAfterMs: CREDENTIALS_PROBE_MS };
}

/** New instances, or instances gone: the answer may change. */
const instancesChanged = (type: string, o: KubeObject, old?: KubeObject): boolean => {
  const ready = (x?: KubeObject) => (x as ModelGateway | undefined)?.status?.readyReplicas;
  return type !== 'update' || ready(o) !== ready(old) || o.metadata.generation !== old?.metadata.generation;
};

export function createCredentialsController(deps: CredentialsControllerDeps): ControllerDefinition {
  const probe = deps.probe ?? new CredentialProbe({ endpoints: deps.instances.endpoints });
  const routeGateway = (o: KubeObject): string =>
    `${o.metadata.namespace ?? ''}/${(o as unknown as ModelRoute).spec.gatewayRef.name}`;
  return {
    name: CREDENTIALS_CONTROLLER,
    kind: 'ModelGateway',
    predicate: instancesChanged,
    concurrency: 4,
    indexes: routeIndexes,
    watches: [
      {
        // Not a key now but one a little later, once the gateway serves the changed route: enqueued here
        // with its delay (an earlier periodic probe keeps its deadline).
        kind: 'ModelRoute',
        predicate: (type, o, old) => type !== 'update' || o.metadata.generation !== old?.metadata.generation,
        mapToKeys: (o, ctx, old) => {
          for (const k of new Set([routeGateway(o), ...(old ? [routeGateway(old)] : [])]))
            ctx.enqueue(CREDENTIALS_CONTROLLER, k, AFTER_ROUTE_CHANGE_MS);
          return [];
        },
      },
    ],
    reconcile: (key, ctx) => reconcileCredentials(key, ctx, deps, probe),
  };
}
