// The pure translator: a snapshot of one gateway's routes, canaries and the references they name goes in;
// which routes are accepted (and why not), and the compiled GatewayConfig, come out. Both the route
// controller (for statuses) and the gateway controller (for the ConfigMap) call it on the same snapshot,
// so they always agree.
import {
  CompiledRoute,
  Reason,
  canaryOverlayFor,
  compileGatewaySettings,
  compileRoute,
  finishGatewayConfig,
  type Canary,
  type CanaryOverlay,
  type GatewayConfig,
  type ModelGateway,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';

export interface RouteSnapshot {
  namespace: string;
  gatewayName: string;
  gateway: ModelGateway | undefined;
  /** Every route in the namespace whose gatewayRef names this gateway. */
  routes: ModelRoute[];
  /** Canaries in the namespace. */
  canaries: Canary[];
  secretExists: (name: string) => boolean;
  serviceExists: (namespace: string, name: string) => boolean;
  /** Judge only this route (by name); the others still claim their model names. */
  only?: string;
  /** Optional memo of compiled routes, keyed by the caller (route and canary resourceVersions). */
  compileCache?: Map<string, { key: string; compiled: CompiledRoute; error?: string }>;
}

export type RouteVerdict =
  | { accepted: true; route: ModelRoute; compiled: CompiledRoute; overlay?: CanaryOverlay }
  | { accepted: false; route: ModelRoute; reason: Reason; message: string; overlay?: CanaryOverlay };

const routeOrder = (a: ModelRoute, b: ModelRoute): number => {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

/** The canary that rolls out a route: the oldest one naming it. */
export function canaryFor(route: ModelRoute, canaries: Canary[]): Canary | undefined {
  return canaries
    .filter((c) => c.spec.routeRef.name === route.metadata.name && !c.metadata.deletionTimestamp)
    .sort((a, b) =>
      (a.metadata.creationTimestamp ?? '') < (b.metadata.creationTimestamp ?? '') ? -1 : 1,
    )[0];
}

function missingReference(
  route: ModelRoute,
  snap: RouteSnapshot,
): { reason: Reason; message: string } | undefined {
  const missing = new Set<string>();
  for (const b of route.spec.backends) {
    const s = b.credentialsSecretRef;
    if (s && !snap.secretExists(s.name)) missing.add(s.name);
  }
  if (missing.size > 0) {
    const names = [...missing].sort();
    return {
      reason: Reason.SecretNotFound,
      message: `Secret ${names.map((n) => `${snap.namespace}/${n}`).join(', ')} not found: create it or fix credentialsSecretRef`,
    };
  }
  for (const b of route.spec.backends) {
    const svc = b.service;
    if (svc && !snap.serviceExists(svc.namespace ?? snap.namespace, svc.name)) {
      return {
        reason: Reason.BackendNotFound,
        message: `backend ${b.name}: Service ${svc.namespace ?? snap.namespace}/${svc.name} not found`,
      };
    }
  }
  return undefined;
}

function compileChecked(
  route: ModelRoute,
  overlay: CanaryOverlay | undefined,
  canary: Canary | undefined,
  snap: RouteSnapshot,
) {
  const memoKey = `${route.metadata.resourceVersion ?? ''}/${canary?.metadata.resourceVersion ?? ''}`;
  const id = `${route.metadata.namespace ?? ''}/${route.metadata.name}`;
  const hit = snap.compileCache?.get(id);
  if (hit && hit.key === memoKey && route.metadata.resourceVersion !== undefined) return hit;
  let result: { key: string; compiled: CompiledRoute; error?: string };
  try {
    const compiled = compileRoute(route, overlay);
    const parsed = CompiledRoute.safeParse(compiled);
    result = parsed.success
      ? { key: memoKey, compiled }
      : {
          key: memoKey,
          compiled,
          error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
        };
  } catch (e) {
    result = { key: memoKey, compiled: undefined as unknown as CompiledRoute, error: (e as Error).message };
  }
  snap.compileCache?.set(id, result);
  return result;
}

/** Judges every route of the gateway, in age order so the oldest claim on a model name wins. */
export function evaluateRoutes(snap: RouteSnapshot): Map<string, RouteVerdict> {
  const out = new Map<string, RouteVerdict>();
  const claims = new Map<string, string>();
  const live = snap.routes.filter((r) => !r.metadata.deletionTimestamp).sort(routeOrder);
  for (const route of live) {
    const name = route.metadata.name;
    if (snap.only !== undefined && name !== snap.only) {
      if (!claims.has(route.spec.model)) claims.set(route.spec.model, name);
      continue;
    }
    const canary = canaryFor(route, snap.canaries);
    const overlay = canary ? canaryOverlayFor(canary) : undefined;
    const withOverlay = overlay ? { overlay } : {};
    const winner = claims.get(route.spec.model);
    if (!winner) claims.set(route.spec.model, name);
    if (!snap.gateway) {
      out.set(name, {
        accepted: false,
        route,
        reason: Reason.GatewayNotFound,
        message: `ModelGateway ${snap.namespace}/${snap.gatewayName} not found`,
        ...withOverlay,
      });
      continue;
    }
    if (winner) {
      out.set(name, {
        accepted: false,
        route,
        reason: Reason.ModelConflict,
        message: `model ${route.spec.model} is already served on gateway ${snap.gatewayName} by the older ModelRoute ${snap.namespace}/${winner}`,
        ...withOverlay,
      });
      continue;
    }
    const missing = missingReference(route, snap);
    if (missing) {
      out.set(name, { accepted: false, route, ...missing, ...withOverlay });
      continue;
    }
    const result = compileChecked(route, overlay, canary, snap);
    out.set(
      name,
      result.error !== undefined
        ? {
            accepted: false,
            route,
            reason: Reason.InvalidSpec,
            message: `route does not compile: ${result.error}`,
            ...withOverlay,
          }
        : { accepted: true, route, compiled: result.compiled, ...withOverlay },
    );
  }
  return out;
}

/** The GatewayConfig of a gateway from its accepted routes, sorted by model name for stable bytes. */
export function compileGatewayConfig(
  gateway: ModelGateway,
  verdicts: Map<string, RouteVerdict>,
): GatewayConfig {
  const ns = gateway.metadata.namespace ?? 'default';
  const routes: CompiledRoute[] = [];
  for (const v of verdicts.values()) if (v.accepted) routes.push(v.compiled);
  routes.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return finishGatewayConfig({
    ...compileGatewaySettings({ namespace: ns, name: gateway.metadata.name }, gateway.spec),
    routes,
  });
}

/** Secrets the gateway pods may read: API keys, Redis URL, and credentials of accepted routes. */
export function referencedSecrets(gateway: ModelGateway, verdicts: Map<string, RouteVerdict>): string[] {
  const names = new Set<string>();
  if (gateway.spec.auth) names.add(gateway.spec.auth.apiKeysSecretRef.name);
  if (gateway.spec.redis) names.add(gateway.spec.redis.urlSecretRef.name);
  for (const v of verdicts.values()) {
    if (!v.accepted) continue;
    for (const b of v.compiled.backends) if (b.credentials) names.add(b.credentials.name);
  }
  return [...names].sort();
}
