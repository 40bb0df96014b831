// The controller framework: a controller declares its primary kind, what else it watches and how a change
// there maps to its keys, and a reconcile function; the manager runs shared informers, one work queue per
// controller, and hands reconcile a context whose writes are skipped when nothing changed and refused
// when this instance is not the leader.
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import type { EventRecorder } from './events.js';
import type { Informer } from '../../../kube/informer.js';
import type { ReconcileOutcome } from './workqueue.js';
import type { KnownKind, ResourceType } from '../../../kube/resources.js';

export type { ReconcileOutcome };

/** Read access to the informer caches. */
export interface Cache {
  get<T = KubeObject>(kind: KnownKind, namespace: string, name: string): T | undefined;
  list<T = KubeObject>(kind: KnownKind, namespace?: string): T[];
  /** Objects whose index `index` yields `value` (indexes are declared with `ControllerDefinition.indexes`). */
  byIndex<T = KubeObject>(kind: KnownKind, index: string, value: string): T[];
}

export interface ControllerContext {
  cache: Cache;
  /** Server-side apply (field manager beastmode-operator, force) unless the live object already matches. */
  apply(kind: KnownKind, desired: KubeObject): Promise<boolean>;
  /** One merge patch of the status subresource, skipped when equal to the live status. */
  patchStatus(kind: KnownKind, live: KubeObject, status: Record<string, unknown>): Promise<boolean>;
  events: EventRecorder;
  /** Adds a key to a controller's queue (by controller name), optionally after a delay. */
  enqueue(controller: string, key: string, delayMs?: number): void;
  /** Coalesces a burst of triggers into one reconcile (see WorkQueue.addDebounced). */
  enqueueDebounced(controller: string, key: string): void;
  /** Raw API access: a write through it must call `assertLeading()` first (apply and patchStatus do). */
  client: KubeClient;
  /** Throws unless this instance leads: the guard of every write. */
  assertLeading(): void;
  log: Logger;
  /** Where a controller reports the state it decides on (rollouts, scaling) besides the status. */
  metrics: OperatorMetrics;
  now(): number;
  settings: { gatewayImage: string };
}

export type ChangeKind = 'add' | 'update' | 'delete';

export interface WatchSpec {
  kind: KnownKind;
  /** Keys of this controller to reconcile when `obj` changes; `old` is the previous version on updates. */
  mapToKeys: (obj: KubeObject, ctx: ControllerContext, old?: KubeObject) => string[];
  /** Only changes for which this is true are mapped (default: all). */
  predicate?: (type: ChangeKind, obj: KubeObject, old?: KubeObject) => boolean;
  /** Coalesce the mapped keys with the queue's debounce (quiet period, max wait) instead of adding now. */
  debounce?: boolean;
}

export interface ControllerDefinition {
  /** Unique name: the queue, metrics label and log field. */
  name: string;
  /** The primary kind: a change to one of its objects reconciles its key (namespace/name). */
  kind: KnownKind;
  /** Whether a change of the primary kind reconciles it (default: spec, metadata or deletion changes). */
  predicate?: (type: ChangeKind, obj: KubeObject, old?: KubeObject) => boolean;
  watches?: WatchSpec[];
  /** Secondary indexes this controller reads through `cache.byIndex`. */
  indexes?: { kind: KnownKind; name: string; fn: (obj: KubeObject) => string[] }[];
  concurrency?: number;
  reconcile(key: string, ctx: ControllerContext): Promise<ReconcileOutcome | void>;
}

export const keyOf = (o: { metadata: { namespace?: string; name: string } }): string =>
  `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Spec, labels, annotations, owners or deletion changed: the default trigger for a primary kind. */
export function specOrMetaChanged(type: ChangeKind, obj: KubeObject, old?: KubeObject): boolean {
  if (type !== 'update' || !old) return true;
  const a = obj.metadata;
  const b = old.metadata;
  return (
    a.generation !== b.generation ||
    a.generation === undefined ||
    a.deletionTimestamp !== b.deletionTimestamp ||
    JSON.stringify(a.labels) !== JSON.stringify(b.labels) ||
    JSON.stringify(a.annotations) !== JSON.stringify(b.annotations) ||
    JSON.stringify(a.ownerReferences) !== JSON.stringify(b.ownerReferences)
  );
}

/** The owner of `obj` of the given kind, as a key, when it is its controller. */
export function controllerOwnerKey(obj: KubeObject, ownerKind: string): string[] {
  const ref = obj.metadata.ownerReferences?.find((r) => r.controller && r.kind === ownerKind);
  return ref ? [`${obj.metadata.namespace ?? ''}/${ref.name}`] : [];
}

export interface ManagerServices {
  client: KubeClient;
  log: Logger;
  metrics: OperatorMetrics;
  informer: (kind: KnownKind) => Informer;
  resource: (kind: KnownKind) => ResourceType;
}
