// The pure translator: a snapshot of one gateway (its routes, canaries, the Services they name, what the
// gateway's instances report about credentials, its live Deployment) goes in; which routes are accepted and
// why not, every route's status, the compiled GatewayConfig, the objects the gateway owns and the gateway's
// status come out. The controllers apply and write exactly this, and the golden test (render/testdata)
// renders exactly this. Secrets are never read: whether a credential exists is the gateway's to report.
import {
  Reason,
  canaryOverlayFor,
  compileGatewaySettings,
  finishGatewayConfig,
  type Canary,
  type Experiment,
  type CanaryOverlay,
  type CompiledRoute,
  type GatewayConfig,
  type ModelGateway,
  type ModelGatewayStatus,
  type ModelRoute,
  type ModelRouteStatus,
} from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { renderGatewayObjects, type GatewayObjects, type GatewaySecret } from './gateway.js';
import { renderGatewayStatus } from './gateway-status.js';
import { experimentFor, experimentOverlay } from './experiment-route.js';
import { compileRouteChecked, type CompiledRouteMemo } from './route-compile.js';
import { renderRouteStatus } from './route-status.js';

export interface RouteSnapshot {
  namespace: string;
  gatewayName: string;
  gateway: ModelGateway | undefined;
  /** Every route in the namespace whose gatewayRef names this gateway. */
  routes: ModelRoute[];
  /** Canaries in the namespace. */
  canaries: Canary[];
  /** Experiments in the namespace (one splits a route: experimentFor). */
  experiments?: Experiment[];
  serviceExists: (namespace: string, name: string) => boolean;
  /** What the gateway's instances last reported about a route's credentials; undefined when unknown. */
  credentials?: (route: string) => CredentialsReport | undefined;
  /** Which of a route's backends the instances last reported spilling; undefined when unknown. */
  spilling?: (route: string) => { instances: number; backends: SpillingBackend[] } | undefined;
  /** What the instances last reported of a route's routers; undefined when unknown or none. */
  router?: (route: string) => RouterReport | undefined;
  /** Judge only this route (by name); the others still claim their model names. */
  only?: string;
}

/** Everything the translator reads about one gateway, as plain data. */
export interface GatewaySnapshot extends RouteSnapshot {
  gateway: ModelGateway;
  /** The gateway's live Deployment: its rollout decides the gateway's Ready. */
  deployment: KubeObject | undefined;
  /** An AutoscalingPolicy targets the gateway: its HPA owns spec.replicas. */
  autoscaled: boolean;
}

export interface TranslateOptions {
  /** Stamps condition transitions. */
  now: Date;
  /** The image of gateways whose spec names none. */
  defaultImage: string;
  /** Spares recompiling unchanged routes; owned by the caller. */
  compiled?: CompiledRouteMemo;
}

/** A credential some instances of the gateway cannot read (the Secret or key is missing, or not mounted yet). */
export interface UnavailableCredential {
  backend: string;
  variant: string;
  /** A Secret of the route's namespace. */
  secret: string;
  key: string;
  /** How many of the instances that answered cannot read it. */
  instances: number;
}

/** The gateway's instances' view of one route's credentials, from their metrics. */
export interface CredentialsReport {
  /** Instances that answered. */
  instances: number;
  unavailable: UnavailableCredential[];
}

/** A backend some instances of the gateway send excess requests away from (its spillOver). */
export interface SpillingBackend {
  backend: string;
  variant: string;
  /** The backend taking the excess. */
  to: string;
  /** How many of the instances that answered spill. */
  instances: number;
}

/** What a gateway's instances report of a route's routers (their metrics, read by the credentials probe). */
export interface RouterReport {
  /** "<kind> <version>" of every router model an instance decides with, sorted. */
  models: string[];
  /** The learning router's planned weak share, mean of the instances that learn, two digits. */
  learnedWeakShare?: string;
  /** Instances that reported. */
  instances: number;
}

export type RouteVerdict =
  | {
      accepted: true;
      route: ModelRoute;
      compiled: CompiledRoute;
      overlay?: CanaryOverlay;
      /** Credentials of its current backends that instances reported unreadable: Ready is False. */
      credentials?: CredentialsReport;
      /** Its backends the instances spill over from now; undefined when nothing is known. */
      spilling?: { instances: number; backends: SpillingBackend[] };
      /** Its router models and learned weak share as the instances report them. */
      router?: RouterReport;
    }
  | { accepted: false; route: ModelRoute; reason: Reason; message: string; overlay?: CanaryOverlay };

/** Oldest first, and by name among objects created in the same second (timestamps' resolution). */
const olderFirst = (
  a: { metadata: { name: string; creationTimestamp?: string | undefined } },
  b: { metadata: { name: string; creationTimestamp?: string | undefined } },
): number => {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

/** The canary that rolls out a route: the oldest one naming it (by name among those of the same second). */
function canaryFor(route: ModelRoute, canaries: Canary[]): Canary | undefined {
  return canaries
    .filter((c) => c.spec.routeRef.name === route.metadata.name && !c.metadata.deletionTimestamp)
    .sort(olderFirst)[0];
}

function missingReference(
  route: ModelRoute,
  snap: RouteSnapshot,
): { reason: Reason; message: string } | undefined {
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

/**
 * The report's entries that name a credential the compiled route takes now: a report from a config the
 * instances have not replaced yet may still name an older reference.
 */
function currentCredentials(
  compiled: CompiledRoute,
  report: CredentialsReport | undefined,
): CredentialsReport | undefined {
  if (report === undefined) return undefined;
  const taken = new Set(
    compiled.backends.flatMap((b) =>
      b.credentials ? [`${b.name}/${b.variant}/${b.credentials.name}/${b.credentials.key}`] : [],
    ),
  );
  const unavailable = report.unavailable.filter((u) =>
    taken.has(`${u.backend}/${u.variant}/${u.secret}/${u.key}`),
  );
  return unavailable.length > 0 ? { instances: report.instances, unavailable } : undefined;
}

/** Why a route cannot be served before compiling it: no gateway, an older claim, a missing reference. */
function refusal(
  route: ModelRoute,
  olderClaim: string | undefined,
  snap: RouteSnapshot,
): { reason: Reason; message: string } | undefined {
  if (!snap.gateway) {
    return {
      reason: Reason.GatewayNotFound,
      message: `ModelGateway ${snap.namespace}/${snap.gatewayName} not found`,
    };
  }
  if (olderClaim !== undefined) {
    return {
      reason: Reason.ModelConflict,
      message: `model ${route.spec.model} is already served on gateway ${snap.gatewayName} by the older ModelRoute ${snap.namespace}/${olderClaim}`,
    };
  }
  return missingReference(route, snap);
}

function judgeRoute(
  route: ModelRoute,
  olderClaim: string | undefined,
  snap: RouteSnapshot,
  memo: CompiledRouteMemo | undefined,
): RouteVerdict {
  const canary = canaryFor(route, snap.canaries);
  const overlay = canary ? canaryOverlayFor(canary) : undefined;
  const withOverlay = overlay ? { overlay } : {};
  const refused = refusal(route, olderClaim, snap);
  if (refused) return { accepted: false, route, ...refused, ...withOverlay };
  const experiment = experimentFor(route.metadata.name, snap.experiments ?? []);
  const split = experiment ? experimentOverlay(experiment, route.spec.backends) : undefined;
  const result = compileRouteChecked(route, canary, overlay, memo, experiment, split);
  if ('error' in result) {
    return {
      accepted: false,
      route,
      reason: Reason.InvalidSpec,
      message: `route does not compile: ${result.error}`,
      ...withOverlay,
    };
  }
  const credentials = currentCredentials(result.compiled, snap.credentials?.(route.metadata.name));
  const spilling = snap.spilling?.(route.metadata.name);
  const router = snap.router?.(route.metadata.name);
  return {
    accepted: true,
    route,
    compiled: result.compiled,
    ...withOverlay,
    ...(credentials ? { credentials } : {}),
    ...(spilling ? { spilling } : {}),
    ...(router ? { router } : {}),
  };
}

/** Judges every route of the gateway, in age order so the oldest claim on a model name wins. */
function evaluateRoutes(snap: RouteSnapshot, memo?: CompiledRouteMemo): Map<string, RouteVerdict> {
  const out = new Map<string, RouteVerdict>();
  const claims = new Map<string, string>();
  const live = snap.routes.filter((r) => !r.metadata.deletionTimestamp).sort(olderFirst);
  for (const route of live) {
    const name = route.metadata.name;
    const olderClaim = claims.get(route.spec.model);
    if (olderClaim === undefined) claims.set(route.spec.model, name);
    if (snap.only !== undefined && name !== snap.only) continue;
    out.set(name, judgeRoute(route, olderClaim, snap, memo));
  }
  return out;
}

/** The GatewayConfig of a gateway from its accepted routes, sorted by model name for stable bytes. */
function compileGatewayConfig(gateway: ModelGateway, verdicts: Map<string, RouteVerdict>): GatewayConfig {
  const ns = gateway.metadata.namespace ?? 'default';
  const routes: CompiledRoute[] = [];
  for (const v of verdicts.values()) if (v.accepted) routes.push(v.compiled);
  routes.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  return finishGatewayConfig({
    ...compileGatewaySettings({ namespace: ns, name: gateway.metadata.name }, gateway.spec),
    routes,
  });
}

/**
 * Secrets the gateway's pods mount: the API keys and the Redis URL (required), and the credentials of the
 * accepted routes (optional), sorted by name. A Secret used both ways is required.
 */
function gatewaySecrets(gateway: ModelGateway, verdicts: Map<string, RouteVerdict>): GatewaySecret[] {
  const optional = new Map<string, boolean>();
  for (const v of verdicts.values()) {
    if (!v.accepted) continue;
    for (const b of v.compiled.backends) if (b.credentials) optional.set(b.credentials.name, true);
    const shadowKey = v.compiled.shadow?.backend.credentials;
    if (shadowKey) optional.set(shadowKey.name, true);
  }
  if (gateway.spec.auth) optional.set(gateway.spec.auth.apiKeysSecretRef.name, false);
  if (gateway.spec.redis) optional.set(gateway.spec.redis.urlSecretRef.name, false);
  return [...optional]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, opt]) => ({ name, optional: opt }));
}

export interface RouteTranslation {
  verdict: RouteVerdict;
  /** The status the route controller writes. */
  status: ModelRouteStatus;
}

function translateVerdicts(verdicts: Map<string, RouteVerdict>, now: Date): Map<string, RouteTranslation> {
  const out = new Map<string, RouteTranslation>();
  for (const [name, verdict] of verdicts) {
    out.set(name, { verdict, status: renderRouteStatus(verdict.route, verdict, now) });
  }
  return out;
}

/** The verdicts and statuses of a gateway's routes (of `snap.only` alone when set): the route controller's view. */
export function translateRoutes(
  snap: RouteSnapshot,
  opts: Pick<TranslateOptions, 'now' | 'compiled'>,
): Map<string, RouteTranslation> {
  return translateVerdicts(evaluateRoutes(snap, opts.compiled), opts.now);
}

export interface GatewayTranslation {
  config: GatewayConfig;
  /** What the gateway owns, the GatewayConfig ConfigMap among them. */
  objects: GatewayObjects;
  status: ModelGatewayStatus;
  /** Every route of the gateway, judged on the same snapshot as the config. */
  routes: Map<string, RouteTranslation>;
}

/** Everything the operator applies and writes for one gateway. */
export function translateGateway(snap: GatewaySnapshot, opts: TranslateOptions): GatewayTranslation {
  const { gateway } = snap;
  const verdicts = evaluateRoutes(snap, opts.compiled);
  const config = compileGatewayConfig(gateway, verdicts);
  const objects = renderGatewayObjects({
    gateway,
    config,
    secrets: gatewaySecrets(gateway, verdicts),
    defaultImage: opts.defaultImage,
    autoscaled: snap.autoscaled,
  });
  const status = renderGatewayStatus({
    gateway,
    deployment: snap.deployment,
    configRevision: config.revision,
    // The controller writes this status only once the ConfigMap holding the revision is applied.
    configApplied: true,
    attachedRoutes: config.routes.length,
    now: opts.now,
  });
  return { config, objects, status, routes: translateVerdicts(verdicts, opts.now) };
}
