// Experiment controller: ticks each Experiment every `interval`. It reads the Experiment and its route from
// the cache, scrapes the route's gateway pods for the experiment's counters when a tick is due, steps the
// pure reconcile (experiments/reconcile.ts), writes the status in one patch and records its Events. The
// gateway controller turns that status into the route's experiment overlay (experimentOverlayFor). Each
// pod's last counters stay in memory; status holds the cumulative moments, so a restarted or new leader
// resumes from status with a fresh baseline scrape.
import {
  ExperimentSpec,
  type Canary,
  type Experiment,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import {
  countersFromText,
  type Counters,
  type ScrapeResult,
  type TallyMemory,
} from '../experiments/tally.js';
import {
  reconcileExperiment,
  wantsScrape,
  type ExperimentTick,
  type ExperimentView,
} from '../experiments/reconcile.js';
import { invalidSpecStatus } from '../render/conditions.js';
import { experimentFor } from '../render/experiment-route.js';
import type { GatewayEndpoints } from '../rollout/providers/endpoints.js';
import { scrapeWithUndici } from '../rollout/providers/gateway.js';
import {
  keyOf,
  splitKey,
  type ControllerContext,
  type ControllerDefinition,
  type ReconcileOutcome,
} from '../runtime/framework.js';
import type { GatewayInstances } from './gateway-instances.js';
import { EXPERIMENTS_BY_ROUTE } from './snapshot.js';

export interface ExperimentControllerDeps {
  endpoints: GatewayEndpoints;
  /** Fetches one instance's /metrics text (default: undici with a 3 s timeout). */
  scrape?: (url: string) => Promise<string>;
  /** Called with the controller context before each reconcile (binds the cluster endpoint resolver). */
  bind?: (ctx: ControllerContext) => void;
  random?: () => number;
}

export function experimentDeps(instances: GatewayInstances): ExperimentControllerDeps {
  return { endpoints: instances.endpoints, bind: instances.bind };
}

/** How long to wait for the cache to show our own last status write before trusting it again. */
const STALE_CACHE_WAIT_MS = 100;
const STALE_CACHE_MAX_MS = 3000;

interface Kept {
  tally?: TallyMemory;
  /** The resourceVersion our last status write replaced, and when: until the cache moves past it. */
  writtenFrom?: string;
  writtenAt?: number;
}

function viewOf(
  ctx: ControllerContext,
  experiment: Experiment,
): { view: ExperimentView; route?: ModelRoute } {
  const namespace = experiment.metadata.namespace ?? '';
  const routeName = experiment.spec.routeRef.name;
  const route = ctx.cache.get<ModelRoute>('ModelRoute', namespace, routeName);
  const rivals = ctx.cache.byIndex<Experiment>(
    'Experiment',
    EXPERIMENTS_BY_ROUTE,
    `${namespace}/${routeName}`,
  );
  const owner = experimentFor(routeName, rivals);
  const canary = ctx.cache
    .list<Canary>('Canary', namespace)
    .find((c) => c.spec.routeRef.name === routeName && canaryRollingOut(c));
  const view: ExperimentView = {
    routeBackends: route?.spec.backends.map((b) => b.name),
    ...(owner !== undefined && owner.metadata.name !== experiment.metadata.name
      ? { conflictWith: owner.metadata.name }
      : {}),
    ...(canary !== undefined ? { canary: { name: canary.metadata.name, backend: canary.spec.backend } } : {}),
  };
  return route ? { view, route } : { view };
}

/** One scrape of every instance of the route's gateway; failures are reported, never thrown. */
async function scrapeGateway(
  deps: ExperimentControllerDeps,
  scrape: (url: string) => Promise<string>,
  experiment: Experiment,
  route: ModelRoute,
): Promise<ScrapeResult> {
  const namespace = experiment.metadata.namespace ?? '';
  const gateway = route.spec.gatewayRef.name;
  let urls: string[];
  try {
    urls = await deps.endpoints.resolve({ namespace, name: gateway });
  } catch (e) {
    return { pods: new Map(), failed: [], error: (e as Error).message };
  }
  if (urls.length === 0)
    return { pods: new Map(), failed: [], error: `no instances of ModelGateway ${namespace}/${gateway}` };
  const target = { namespace, route: route.metadata.name, experiment: experiment.metadata.name };
  const results = await Promise.allSettled(urls.map(async (u) => countersFromText(await scrape(u), target)));
  const pods = new Map<string, Counters>();
  const failed: string[] = [];
  const errors: string[] = [];
  results.forEach((r, i) => {
    const url = urls[i] ?? '';
    if (r.status === 'fulfilled') pods.set(url, r.value);
    else {
      failed.push(url);
      errors.push(`${url}: ${r.reason instanceof Error ? r.reason.message : String(r.reason)}`);
    }
  });
  return pods.size === 0 ? { pods, failed, error: errors.join('; ') } : { pods, failed };
}

/** The reconcile's Events as Kubernetes Events and log lines, and a failed scrape as a log line. */
function report(
  ctx: ControllerContext,
  experiment: Experiment,
  result: ExperimentTick,
  scraped: ScrapeResult | undefined,
): void {
  const { namespace = '', name } = experiment.metadata;
  for (const e of result.events) {
    ctx.events.emit(experiment as unknown as KubeObject, e.type, e.reason, 'Experiment', e.message);
    const log = e.type === 'Warning' ? ctx.log.warn.bind(ctx.log) : ctx.log.info.bind(ctx.log);
    log(e.message, { kind: 'Experiment', namespace, name, reason: e.reason, phase: result.status.phase });
  }
  if (scraped?.error !== undefined) {
    ctx.log.warn('Experiment scrape failed', { kind: 'Experiment', namespace, name, error: scraped.error });
  }
}

export function createExperimentReconciler(deps: ExperimentControllerDeps) {
  const kept = new Map<string, Kept>();
  const scrape = deps.scrape ?? ((url: string) => scrapeWithUndici(url, 3000));
  const random = deps.random ?? Math.random;

  return async function reconcileExperimentKey(
    key: string,
    ctx: ControllerContext,
  ): Promise<ReconcileOutcome | void> {
    deps.bind?.(ctx);
    const { namespace, name } = splitKey(key);
    const live = ctx.cache.get<Experiment>('Experiment', namespace, name);
    if (!live || live.metadata.deletionTimestamp) {
      kept.delete(key);
      return;
    }
    const mine = kept.get(key) ?? {};
    const nowMs = ctx.now();
    if (
      mine.writtenFrom !== undefined &&
      live.metadata.resourceVersion === mine.writtenFrom &&
      nowMs - (mine.writtenAt ?? 0) < STALE_CACHE_MAX_MS
    ) {
      return { requeueAfterMs: STALE_CACHE_WAIT_MS };
    }
    const now = new Date(nowMs);
    const obj = live as unknown as KubeObject;
    const parsed = ExperimentSpec.safeParse(live.spec);
    if (!parsed.success) {
      await ctx.patchStatus('Experiment', obj, invalidSpecStatus(live, parsed.error, now));
      return;
    }
    const experiment: Experiment = { ...live, spec: parsed.data };
    const { view, route } = viewOf(ctx, experiment);
    const scraped =
      route !== undefined && wantsScrape(experiment, view, now)
        ? await scrapeGateway(deps, scrape, experiment, route)
        : undefined;
    const result = reconcileExperiment({
      experiment,
      view,
      now,
      random,
      ...(scraped !== undefined ? { scrape: scraped } : {}),
      ...(mine.tally !== undefined ? { memory: mine.tally } : {}),
    });
    const next: Kept = result.memory !== undefined ? { tally: result.memory } : {};
    if (await ctx.patchStatus('Experiment', obj, result.status)) {
      next.writtenFrom = live.metadata.resourceVersion ?? '';
      next.writtenAt = ctx.now();
    }
    kept.set(key, next);
    report(ctx, experiment, result, scraped);
    return result.requeueAfterMs !== undefined ? { requeueAfterMs: result.requeueAfterMs } : undefined;
  };
}

/** A canary that splits or mirrors its backend's traffic now (not idle, finished or rolled back). */
const ROLLING_PHASES = new Set<string | undefined>(['Shadowing', 'Progressing', 'Paused', 'Promoting']);
const canaryRollingOut = (c: Canary): boolean =>
  !c.metadata.deletionTimestamp && ROLLING_PHASES.has(c.status?.phase);

const experimentsOfRoute = (namespace: string, route: string, ctx: ControllerContext): string[] =>
  ctx.cache.byIndex<Experiment>('Experiment', EXPERIMENTS_BY_ROUTE, `${namespace}/${route}`).map(keyOf);

export function createExperimentController(deps: ExperimentControllerDeps): ControllerDefinition {
  return {
    name: 'experiment',
    kind: 'Experiment',
    concurrency: 4,
    indexes: [
      {
        kind: 'Experiment',
        name: EXPERIMENTS_BY_ROUTE,
        fn: (o) => [`${o.metadata.namespace ?? ''}/${(o as unknown as Experiment).spec.routeRef.name}`],
      },
    ],
    watches: [
      // A route appearing, going away or changing its backends can unblock or block its experiment.
      {
        kind: 'ModelRoute',
        predicate: (type, o, old) => type !== 'update' || o.metadata.generation !== old?.metadata.generation,
        mapToKeys: (o, ctx) => experimentsOfRoute(o.metadata.namespace ?? '', o.metadata.name, ctx),
      },
      // A canary starting or ending on the route holds or resumes its experiment.
      {
        kind: 'Canary',
        predicate: (type, o, old) =>
          type !== 'update' ||
          canaryRollingOut(o as unknown as Canary) !==
            (old !== undefined && canaryRollingOut(old as unknown as Canary)),
        mapToKeys: (o, ctx) =>
          experimentsOfRoute(o.metadata.namespace ?? '', (o as unknown as Canary).spec.routeRef.name, ctx),
      },
      // An experiment going away (or moving) can hand its route to the next one.
      {
        kind: 'Experiment',
        predicate: (type, o, old) =>
          type !== 'update' ||
          (o as unknown as Experiment).spec.routeRef.name !==
            (old as unknown as Experiment | undefined)?.spec.routeRef.name,
        mapToKeys: (o, ctx, old) =>
          [o, old].flatMap((x) =>
            x
              ? experimentsOfRoute(
                  x.metadata.namespace ?? '',
                  (x as unknown as Experiment).spec.routeRef.name,
                  ctx,
                )
              : [],
          ),
      },
    ],
    reconcile: createExperimentReconciler(deps),
  };
}
