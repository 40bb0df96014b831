// Canary controller: ticks each Canary every analysis interval. It reads the Canary and its route from the
// cache, asks the metric provider for the window that closed (if one did), steps the pure canary machine
// (rollout/engine.ts), writes the status in one patch and emits the machine's events. The gateway
// controller turns that status into GatewayConfig weights (canaryOverlayFor). The weights, phase and
// verdicts are also exported as metrics (observability/canary-metrics.ts).
import { CanarySpec, type Canary, type ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { invalidSpecStatus } from '../render/conditions.js';
import { advanceCanary, dueWindow } from '../rollout/engine.js';
import { createMetricProvider, type ProviderDeps } from '../rollout/providers/factory.js';
import { GatewayMetricProvider } from '../rollout/providers/gateway.js';
import type { AnalysisResult, CanaryTickResult } from '../rollout/types.js';
import {
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type ReconcileOutcome,
} from '../runtime/framework.js';
import type { GatewayInstances } from './gateway-instances.js';
import { CANARIES_BY_ROUTE } from './snapshot.js';

export interface CanaryControllerDeps extends ProviderDeps {
  /** Called with the controller context before each reconcile (binds the cluster endpoint resolver). */
  bind?: (ctx: ControllerContext) => void;
}

/** The operator's dependencies: one gateway provider for every canary (it keeps each instance's last scrape). */
export function canaryDeps(instances: GatewayInstances): CanaryControllerDeps {
  return { gateway: new GatewayMetricProvider({ endpoints: instances.endpoints }), bind: instances.bind };
}

/** How long to wait for the cache to show our own last status write before trusting it again. */
const STALE_CACHE_WAIT_MS = 100;
const STALE_CACHE_MAX_MS = 3000;

/**
 * The canaries whose status this reconciler last wrote, until the cache shows the write: stepping from a
 * stale status could repeat a step. One per reconciler, so two operators in one process keep their own.
 */
class OwnStatusWrites {
  private readonly written = new Map<string, { fromVersion: string | undefined; at: number }>();

  /** True while the cache still shows the version our last write replaced (for a bounded time). */
  awaitingCache(key: string, live: Canary, nowMs: number): boolean {
    const last = this.written.get(key);
    if (last && live.metadata.resourceVersion === last.fromVersion && nowMs - last.at < STALE_CACHE_MAX_MS) {
      return true;
    }
    this.written.delete(key);
    return false;
  }

  record(key: string, fromVersion: string | undefined, nowMs: number): void {
    this.written.set(key, { fromVersion, at: nowMs });
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}

async function analyseWindow(
  ctx: ControllerContext,
  deps: CanaryControllerDeps,
  canary: Canary,
  route: ModelRoute,
  window: { since: Date; until: Date },
): Promise<AnalysisResult | undefined> {
  const { namespace = '', name } = canary.metadata;
  try {
    const provider = createMetricProvider(canary.spec.analysis.provider, deps);
    return await provider.analyse({
      namespace,
      route: route.metadata.name,
      backend: canary.spec.backend,
      gateway: route.spec.gatewayRef.name,
      ...window,
      ...(canary.status?.phase === 'Shadowing' ? { shadow: true } : {}),
    });
  } catch (e) {
    ctx.log.warn('Canary analysis failed', { kind: 'Canary', namespace, name, error: (e as Error).message });
    return undefined;
  }
}

/** A baseline scrape where a new window starts, for providers that take deltas between scrapes. */
async function markWindowStart(
  ctx: ControllerContext,
  deps: CanaryControllerDeps,
  canary: Canary,
  route: ModelRoute,
  at: Date,
): Promise<void> {
  if ((canary.spec.analysis.provider?.type ?? 'gateway') !== 'gateway') return;
  const { namespace = '', name } = canary.metadata;
  try {
    await deps.gateway.startWindow({
      namespace,
      route: route.metadata.name,
      backend: canary.spec.backend,
      gateway: route.spec.gatewayRef.name,
      at,
    });
  } catch (e) {
    ctx.log.warn('Canary baseline scrape failed', {
      kind: 'Canary',
      namespace,
      name,
      error: (e as Error).message,
    });
  }
}

/** The machine's events as Kubernetes Events and log lines. */
function reportTick(ctx: ControllerContext, canary: Canary, result: CanaryTickResult): void {
  const { namespace = '', name } = canary.metadata;
  const obj = canary as unknown as KubeObject;
  for (const e of result.events) {
    ctx.events.emit(obj, e.type, e.reason, 'Rollout', e.message);
    const log = e.type === 'Warning' ? ctx.log.warn.bind(ctx.log) : ctx.log.info.bind(ctx.log);
    log(e.message, {
      kind: 'Canary',
      namespace,
      name,
      reason: e.reason,
      phase: result.status.phase,
      weight: result.status.canaryWeight,
    });
  }
}

/** One tick: the figures of the window that closed (if one did), then one step of the machine. */
async function tick(
  ctx: ControllerContext,
  deps: CanaryControllerDeps,
  canary: Canary,
  now: Date,
): Promise<{ result: CanaryTickResult; route: ModelRoute | undefined; analysed: boolean }> {
  const { namespace = '' } = canary.metadata;
  const route = ctx.cache.get<ModelRoute>('ModelRoute', namespace, canary.spec.routeRef.name);
  const window = route ? dueWindow(canary, now) : undefined;
  const metrics = window && route ? await analyseWindow(ctx, deps, canary, route, window) : undefined;
  return { result: advanceCanary({ canary, route, metrics, now }), route, analysed: window !== undefined };
}

export function createCanaryReconciler(deps: CanaryControllerDeps) {
  const writes = new OwnStatusWrites();

  return async function reconcileCanary(
    key: string,
    ctx: ControllerContext,
  ): Promise<ReconcileOutcome | void> {
    deps.bind?.(ctx);
    const { namespace, name } = splitKey(key);
    const live = ctx.cache.get<Canary>('Canary', namespace, name);
    if (!live || live.metadata.deletionTimestamp) {
      writes.forget(key);
      ctx.metrics.canaries.forget(namespace, name);
      return;
    }
    if (writes.awaitingCache(key, live, ctx.now())) return { requeueAfterMs: STALE_CACHE_WAIT_MS };
    const now = new Date(ctx.now());
    const obj = live as unknown as KubeObject;
    const parsed = CanarySpec.safeParse(live.spec);
    if (!parsed.success) {
      await ctx.patchStatus('Canary', obj, invalidSpecStatus(live, parsed.error, now));
      return;
    }
    const canary: Canary = { ...live, spec: parsed.data };
    const { result, route, analysed } = await tick(ctx, deps, canary, now);
    if (await ctx.patchStatus('Canary', obj, result.status)) {
      writes.record(key, live.metadata.resourceVersion, ctx.now());
    }
    // After the write: a tick whose patch failed is retried, and must not count its verdict twice.
    ctx.metrics.canaries.report({
      canary,
      before: live.status,
      after: result.status,
      verdict: result.verdict,
    });
    reportTick(ctx, canary, result);
    // A step that just started needs a baseline for its window (providers that take scrape deltas).
    if (route && !analysed && result.status.lastAnalysisAt === now.toISOString()) {
      await markWindowStart(ctx, deps, canary, route, now);
    }
    return { requeueAfterMs: result.requeueAfterMs };
  };
}

const ownsGeneration = (type: string, o: KubeObject, old?: KubeObject): boolean =>
  type !== 'update' || o.metadata.generation !== old?.metadata.generation;

export function createCanaryController(deps: CanaryControllerDeps): ControllerDefinition {
  return {
    name: 'canary',
    kind: 'Canary',
    concurrency: 4,
    indexes: [
      {
        kind: 'Canary',
        name: CANARIES_BY_ROUTE,
        fn: (o) => [`${o.metadata.namespace ?? ''}/${(o as unknown as Canary).spec.routeRef.name}`],
      },
    ],
    watches: [
      // GitOps flow: a change of the route's backend spec is a new candidate.
      {
        kind: 'ModelRoute',
        predicate: ownsGeneration,
        mapToKeys: (o, ctx) =>
          ctx.cache
            .byIndex<Canary>('Canary', CANARIES_BY_ROUTE, `${o.metadata.namespace ?? ''}/${o.metadata.name}`)
            .map((c) => `${c.metadata.namespace ?? ''}/${c.metadata.name}`),
      },
    ],
    reconcile: createCanaryReconciler(deps),
  };
}
