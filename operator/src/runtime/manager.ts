// Runs registered controllers: one shared informer per kind (started once, whoever watches it), one work
// queue per controller, reconcile metrics and logs. Informers run on every replica so a standby has a warm
// cache; queues dispatch only while this replica leads, so a standby makes no writes.
import { Applier } from './apply.js';
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import { isNotFound } from '../../../kube/client.js';
import { ApiEventRecorder, type EventRecorder } from './events.js';
import { Informer, objectKey } from '../../../kube/informer.js';
import { R, type KnownKind } from '../../../kube/resources.js';
import { WorkQueue } from './workqueue.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import {
  keyOf,
  specOrMetaChanged,
  splitKey,
  type Cache,
  type ControllerContext,
  type ControllerDefinition,
} from './framework.js';

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  /** Namespaces to watch; undefined watches all. */
  namespaces?: string[];
  identity: string;
  gatewayImage: string;
  /** Debounce of coalesced triggers (gateway recompiles). */
  debounceQuietMs?: number;
  debounceMaxWaitMs?: number;
  /** Full resync period: every primary key is reconciled again (no writes when nothing changed). */
  resyncPeriodMs?: number;
  /** How long stopLeading() waits for the reconciles in flight (default 5 s). */
  stopLeadingGraceMs?: number;
  now?: () => number;
}

const MANAGED = 'app.kubernetes.io/managed-by=beastmode-operator';
const STOP_LEADING_GRACE_MS = 5_000;

/** How each kind is listed and watched: owned kinds by label, Secrets as metadata only. */
const INFORMER_SHAPE: Partial<Record<KnownKind, { labelSelector?: string; metadataOnly?: boolean }>> = {
  ConfigMap: { labelSelector: MANAGED },
  ServiceAccount: { labelSelector: MANAGED },
  Role: { labelSelector: MANAGED },
  RoleBinding: { labelSelector: MANAGED },
  PodDisruptionBudget: { labelSelector: MANAGED },
  NetworkPolicy: { labelSelector: MANAGED },
  HorizontalPodAutoscaler: { labelSelector: MANAGED },
  Secret: { metadataOnly: true },
};

export class Manager {
  private readonly informers = new Map<KnownKind, Informer>();
  private readonly queues = new Map<string, WorkQueue>();
  private readonly defs: ControllerDefinition[] = [];
  private readonly applier: Applier;
  readonly events: EventRecorder;
  private leading = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private depthTimer: NodeJS.Timeout | undefined;
  readonly cache: Cache;

  constructor(private readonly opts: ManagerOptions) {
    this.applier = new Applier(opts.client, (r, ns, name) =>
      this.informers.get(r.kind as KnownKind)?.get(ns, name),
    );
    this.events = new ApiEventRecorder(
      opts.client,
      opts.identity,
      (e) => opts.log.warn('Failed to record event', { error: (e as Error).message }),
      () => this.leading,
    );
    this.cache = {
      get: <T>(kind: KnownKind, ns: string, name: string) =>
        this.informer(kind).get(ns, name) as T | undefined,
      list: <T>(kind: KnownKind, ns?: string) => this.informer(kind).list(ns) as T[],
      byIndex: <T>(kind: KnownKind, index: string, value: string) =>
        this.informer(kind).byIndex(index, value) as T[],
    };
  }

  /** The controllers added so far, by name (for logs). */
  get controllerNames(): string[] {
    return this.defs.map((d) => d.name);
  }

  get isLeading(): boolean {
    return this.leading;
  }

  informer(kind: KnownKind): Informer {
    let inf = this.informers.get(kind);
    if (!inf) {
      const { metrics, log } = this.opts;
      inf = new Informer(this.opts.client, {
        resource: R[kind],
        namespaces: this.opts.namespaces,
        ...INFORMER_SHAPE[kind],
        onRestart: (k, reason) => {
          metrics.watchRestarts.inc({ kind: k, reason });
          if (reason !== 'closed') log.info('Watch restarted', { kind: k, reason });
        },
        onError: (k, err) => log.warn('Watch failed', { kind: k, error: (err as Error).message }),
      });
      this.informers.set(kind, inf);
    }
    return inf;
  }

  queue(name: string): WorkQueue {
    const q = this.queues.get(name);
    if (!q) throw new Error(`no controller named ${name}`);
    return q;
  }

  private context(def: ControllerDefinition, log: Logger): ControllerContext {
    const quiet = this.opts.debounceQuietMs ?? 150;
    const maxWait = this.opts.debounceMaxWaitMs ?? 1000;
    const guard = (): void => {
      if (!this.leading) throw new Error('not the leader: refusing to write');
    };
    return {
      cache: this.cache,
      assertLeading: guard,
      apply: async (kind, desired) => {
        guard();
        return this.applier.apply(R[kind], desired);
      },
      patchStatus: async (kind, live, status) => {
        guard();
        try {
          return await this.applier.patchStatus(R[kind], live, status);
        } catch (e) {
          if (isNotFound((e as Error).cause)) return false; // deleted meanwhile
          throw e;
        }
      },
      events: this.events,
      enqueue: (controller, key, delayMs) => {
        const q = this.queue(controller);
        if (delayMs) q.addAfter(key, delayMs);
        else q.add(key);
      },
      enqueueDebounced: (controller, key) => this.queue(controller).addDebounced(key, quiet, maxWait),
      client: this.opts.client,
      log,
      metrics: this.opts.metrics,
      now: this.opts.now ?? Date.now,
      settings: { gatewayImage: this.opts.gatewayImage },
    };
  }

  /** Wires a controller: its queue, its informers and their handlers. Call before start(). */
  add(def: ControllerDefinition): void {
    const { log, metrics } = this.opts;
    const clog = log.child({ controller: def.name });
    const ctx = this.context(def, clog);
    const queue = new WorkQueue(
      async (key) => {
        const end = metrics.reconcileDuration.startTimer({ controller: def.name });
        try {
          return await def.reconcile(key, ctx);
        } finally {
          end();
        }
      },
      {
        name: def.name,
        concurrency: def.concurrency ?? 4,
        onError: (key, err, failures) => {
          metrics.reconcileErrors.inc({ controller: def.name });
          const { namespace, name } = splitKey(key);
          clog.error('Reconcile failed', {
            kind: def.kind,
            namespace,
            name,
            failures,
            error: (err as Error).message,
          });
        },
      },
    );
    this.queues.set(def.name, queue);
    this.defs.push(def);
    for (const ix of def.indexes ?? []) this.informer(ix.kind).addIndex(ix.name, ix.fn);
    const own = def.predicate ?? specOrMetaChanged;
    this.informer(def.kind).onChange((type, obj, old) => {
      if (own(type, obj, old)) queue.add(keyOf(obj));
    });
    for (const w of def.watches ?? []) {
      this.informer(w.kind).onChange((type, obj, old) => {
        if (w.predicate && !w.predicate(type, obj, old)) return;
        const keys = new Set(w.mapToKeys(obj, ctx, old));
        for (const k of keys) {
          if (w.debounce)
            queue.addDebounced(k, this.opts.debounceQuietMs ?? 150, this.opts.debounceMaxWaitMs ?? 1000);
          else queue.add(k);
        }
      });
    }
  }

  /** Starts every informer and resolves once all caches are synced. */
  async start(): Promise<void> {
    for (const inf of this.informers.values()) inf.start();
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync()));
    this.depthTimer = setInterval(() => {
      for (const q of this.queues.values()) this.opts.metrics.queueDepth.set({ controller: q.name }, q.depth);
    }, 1000);
    this.depthTimer.unref();
  }

  get synced(): boolean {
    return [...this.informers.values()].every((i) => i.hasSynced);
  }

  /** Leadership won: dispatch queues and reconcile everything once. */
  startLeading(): void {
    this.leading = true;
    for (const q of this.queues.values()) q.start();
    this.resync();
    const period = this.opts.resyncPeriodMs ?? 10 * 60_000;
    this.resyncTimer = setInterval(() => this.resync(), period);
    this.resyncTimer.unref();
  }

  /**
   * Leadership lost: stop writing at once (the context refuses writes from here on). Reconciles in flight
   * get a short grace to finish, no more: one waiting on a dead connection (a silent API server is given
   * 300 s) must not hold up the exit that follows.
   */
  async stopLeading(): Promise<void> {
    this.leading = false;
    clearInterval(this.resyncTimer);
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.queues.values()].map((q) => q.shutdown())),
      new Promise((resolve) => {
        grace = setTimeout(resolve, this.opts.stopLeadingGraceMs ?? STOP_LEADING_GRACE_MS);
      }),
    ]);
    clearTimeout(grace);
  }

  /** Enqueues every object of every controller's primary kind. */
  resync(): void {
    for (const def of this.defs) {
      const q = this.queue(def.name);
      for (const obj of this.informer(def.kind).list()) q.add(keyOf(obj));
    }
  }

  /** Resolves when no queue has work queued or in flight (delayed keys aside). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.drained()));
  }

  async shutdown(): Promise<void> {
    clearInterval(this.depthTimer);
    await this.stopLeading();
    for (const inf of this.informers.values()) inf.shutdown();
  }

  /** For logs and tests: a cached object by kind and key. */
  lookup(kind: KnownKind, key: string): KubeObject | undefined {
    const { namespace, name } = splitKey(key);
    return this.informer(kind).get(namespace, name);
  }
}

export { objectKey };
