// An informer: list, then watch from the list's resourceVersion, keep a cache with secondary indexes and
// tell handlers what changed. Same semantics as client-node's ListWatch (relist on 410 Gone), plus a new
// watch from the last resourceVersion when one goes silent (a half-open connection), bookmarks, label and field
// selectors, exponential backoff after failures, and one informer spanning several namespaces. The operator
// follows whole collections with it; the gateway follows single named objects (a field selector on
// metadata.name, which is what RBAC rules with resourceNames allow for list and watch).
import { isGone, type KubeClient, type KubeObject, type WatchEvent } from './client.js';
import type { ResourceType } from './resources.js';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler = (type: ChangeType, obj: KubeObject, old?: KubeObject) => void;
export type IndexFunc = (obj: KubeObject) => string[];
export type RestartReason = 'gone' | 'timeout' | 'error' | 'closed';

export interface Backoff {
  /** The wait after the first failure; it doubles with each further one. */
  initialMs: number;
  maxMs: number;
}

export interface InformerOptions {
  resource: ResourceType;
  /** Namespaces to watch; undefined watches all. */
  namespaces?: string[];
  labelSelector?: string;
  /** e.g. nameFieldSelector('gw'): follow one named object. */
  fieldSelector?: string;
  /** Only metadata is listed and watched (PartialObjectMetadata): for Secrets, whose data we never need. */
  metadataOnly?: boolean;
  /** Server-side watch timeout, after which the watch is resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
  /**
   * A watch that sends nothing for this long (or a watch request unanswered for the shorter of this and
   * 15 s) is taken for a dead connection and resumed from the last resourceVersion on a new one. The API
   * server sends a watch that allows bookmarks one a minute, so a live watch is never silent that long.
   * Default 90 s.
   */
  silenceTimeoutMs?: number;
  /** Wait between attempts after a failed list or watch; a watch the server accepts resets it. */
  backoff?: Backoff;
  onRestart?: (kind: string, reason: RestartReason) => void;
  /** A list or watch failed (retried after `retryInMs`), or a change handler threw (no retry). */
  onError?: (kind: string, err: unknown, retryInMs?: number) => void;
}

export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 30_000 };
/** After this many failures in a row the informer lists again rather than resume a watch. */
const FAILURES_BEFORE_RELIST = 3;
/** A minute between the API server's bookmarks, and half a minute's grace. */
const DEFAULT_SILENCE_TIMEOUT_MS = 90_000;
/** The API server answers a watch request at once (events follow); longer is a dead connection. */
const WATCH_ANSWER_TIMEOUT_MS = 15_000;

export const objectKey = (o: { metadata: { namespace?: string; name: string } }): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

/** The field selector of one object by name. */
export const nameFieldSelector = (name: string): string => `metadata.name=${name}`;

/**
 * An informer on one named object of one namespace: a field selector on its name, since RBAC rules with
 * resourceNames allow list and watch only in that form (a GET by name would need no selector). Not started.
 */
export function informerForName(
  client: KubeClient,
  resource: ResourceType,
  namespace: string,
  name: string,
  opts: Omit<InformerOptions, 'resource' | 'namespaces' | 'fieldSelector'> = {},
): Informer {
  return new Informer(client, {
    ...opts,
    resource,
    namespaces: [namespace],
    fieldSelector: nameFieldSelector(name),
  });
}

/** Drops what we never read, to keep the cache small (managedFields is often half an object). */
function slim(obj: KubeObject): KubeObject {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

/** A latch over the namespaces an informer runs: resolves once each has counted, or on release(). */
class Latch {
  private count = 0;
  private readonly waiters: (() => void)[] = [];
  private released = false;

  constructor(private readonly needed: number) {}

  get done(): boolean {
    return this.count >= this.needed;
  }

  arrive(): void {
    this.count++;
    if (this.done) this.release();
  }

  release(): void {
    this.released = true;
    for (const w of this.waiters.splice(0)) w();
  }

  wait(): Promise<void> {
    if (this.done || this.released) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Where one namespace's list-watch loop stands. */
interface Cursor {
  namespace: string | undefined;
  resourceVersion: string | undefined;
  failures: number;
  listed: boolean;
  attempted: boolean;
}

export class Informer {
  private readonly store = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler[] = [];
  private readonly indexers = new Map<string, IndexFunc>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly stop = new AbortController();
  private readonly synced: Latch;
  private readonly firstListed: Latch;

  constructor(
    private readonly client: KubeClient,
    readonly opts: InformerOptions,
  ) {
    const namespaces = opts.namespaces?.length ?? 1;
    this.synced = new Latch(namespaces);
    this.firstListed = new Latch(namespaces);
  }

  get kind(): string {
    return this.opts.resource.kind;
  }

  onChange(h: ChangeHandler): void {
    this.handlers.push(h);
  }

  addIndex(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    const idx = new Map<string, Set<string>>();
    this.indexes.set(name, idx);
    for (const [key, obj] of this.store) for (const v of fn(obj)) this.indexAdd(idx, v, key);
  }

  get(namespace: string, name: string): KubeObject | undefined {
    return this.store.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): KubeObject[] {
    const out: KubeObject[] = [];
    for (const o of this.store.values())
      if (namespace === undefined || o.metadata.namespace === namespace) out.push(o);
    return out;
  }

  byIndex(name: string, value: string): KubeObject[] {
    const keys = this.indexes.get(name)?.get(value);
    if (!keys) return [];
    const out: KubeObject[] = [];
    for (const k of keys) {
      const o = this.store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  get size(): number {
    return this.store.size;
  }

  /** Every namespace has been listed successfully at least once: the cache is complete. */
  get hasSynced(): boolean {
    return this.synced.done;
  }

  waitForSync(): Promise<void> {
    return this.synced.wait();
  }

  /**
   * Resolves once every namespace's first list has been tried, whether it succeeded or failed, or on
   * shutdown: for callers that must not wait for an API server that is down or forbids the list.
   */
  waitForFirstList(): Promise<void> {
    return this.firstListed.wait();
  }

  start(): void {
    const namespaces = this.opts.namespaces ?? [undefined];
    for (const ns of namespaces) void this.run(ns);
  }

  shutdown(): void {
    this.stop.abort();
    this.firstListed.release();
  }

  private indexAdd(idx: Map<string, Set<string>>, value: string, key: string): void {
    let set = idx.get(value);
    if (!set) idx.set(value, (set = new Set()));
    set.add(key);
  }

  private put(obj: KubeObject): void {
    const key = objectKey(obj);
    const old = this.store.get(key);
    if (old?.metadata.resourceVersion === obj.metadata.resourceVersion && old !== undefined) return;
    if (old) this.unindex(key, old);
    this.store.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name);
      if (idx) for (const v of fn(obj)) this.indexAdd(idx, v, key);
    }
    this.emit(old ? 'update' : 'add', obj, old);
  }

  private remove(key: string): void {
    const old = this.store.get(key);
    if (!old) return;
    this.store.delete(key);
    this.unindex(key, old);
    this.emit('delete', old);
  }

  private unindex(key: string, obj: KubeObject): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indexes.get(name);
      for (const v of fn(obj)) {
        const set = idx?.get(v);
        set?.delete(key);
        if (set?.size === 0) idx?.delete(v);
      }
    }
  }

  private emit(type: ChangeType, obj: KubeObject, old?: KubeObject): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (e) {
        this.opts.onError?.(this.kind, e);
      }
    }
  }

  /** Replaces this namespace's slice of the cache with a fresh list, emitting only the differences. */
  private replace(namespace: string | undefined, items: KubeObject[]): void {
    const seen = new Set<string>();
    for (const item of items) {
      const obj = slim(item);
      seen.add(objectKey(obj));
      this.put(obj);
    }
    for (const [key, obj] of [...this.store]) {
      if ((namespace === undefined || obj.metadata.namespace === namespace) && !seen.has(key))
        this.remove(key);
    }
  }

  private async run(namespace: string | undefined): Promise<void> {
    const signal = this.stop.signal;
    const cursor: Cursor = {
      namespace,
      resourceVersion: undefined,
      failures: 0,
      listed: false,
      attempted: false,
    };
    while (!signal.aborted) {
      try {
        if (cursor.resourceVersion === undefined) await this.relist(cursor);
        const gone = await this.watchOnce(cursor);
        cursor.failures = 0;
        if (gone) cursor.resourceVersion = undefined;
        if (!signal.aborted) this.opts.onRestart?.(this.kind, gone ? 'gone' : 'closed');
      } catch (e) {
        if (signal.aborted) return;
        await this.recover(cursor, e);
      }
    }
  }

  private async relist(cursor: Cursor): Promise<void> {
    const { resource, labelSelector, fieldSelector, metadataOnly } = this.opts;
    try {
      const page = await this.client.list(resource, cursor.namespace, {
        labelSelector,
        fieldSelector,
        metadataOnly,
        signal: this.stop.signal,
      });
      if (this.stop.signal.aborted) return;
      this.replace(cursor.namespace, page.items);
      cursor.resourceVersion = page.resourceVersion;
      if (!cursor.listed) {
        cursor.listed = true;
        this.synced.arrive();
      }
    } finally {
      if (!cursor.attempted) {
        cursor.attempted = true;
        this.firstListed.arrive();
      }
    }
  }

  /** One watch from the cursor's resourceVersion until the server ends it; true when it said 410 Gone. */
  private async watchOnce(cursor: Cursor): Promise<boolean> {
    const { resource, labelSelector, fieldSelector, metadataOnly } = this.opts;
    const timeoutSeconds = (this.opts.watchTimeoutSeconds ?? 300) + Math.floor(Math.random() * 60);
    const silenceMs = this.opts.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    let gone = false;
    const perWatch = new AbortController();
    const onAbort = (): void => perWatch.abort();
    this.stop.signal.addEventListener('abort', onAbort);
    const onEvent = (e: WatchEvent): void => {
      if (perWatch.signal.aborted) return;
      if (e.type === 'ERROR') {
        if (e.object.code === 410) gone = true;
        perWatch.abort();
        return;
      }
      cursor.resourceVersion = e.object.metadata.resourceVersion ?? cursor.resourceVersion;
      if (e.type === 'BOOKMARK') return;
      if (e.type === 'DELETED') this.remove(objectKey(e.object));
      else this.put(slim(e.object));
    };
    try {
      await this.client.watch(
        resource,
        cursor.namespace,
        {
          resourceVersion: cursor.resourceVersion ?? '',
          labelSelector,
          fieldSelector,
          metadataOnly,
          timeoutSeconds,
          idleTimeoutMs: Math.min((timeoutSeconds + 30) * 1000, silenceMs),
          answerTimeoutMs: Math.min(WATCH_ANSWER_TIMEOUT_MS, silenceMs),
          // The API server is back: the next failure starts the backoff over, not 30 s after an outage.
          onOpen: () => (cursor.failures = 0),
        },
        onEvent,
        perWatch.signal,
      );
    } finally {
      this.stop.signal.removeEventListener('abort', onAbort);
    }
    return gone;
  }

  /**
   * After a failed list or watch: relist at once when the resourceVersion is gone; resume at once from it
   * when the watch went silent (a dead connection: the events since come with the new watch, or a 410 if
   * they are no longer kept); else back off and retry.
   */
  private async recover(cursor: Cursor, e: unknown): Promise<void> {
    const timeout = e instanceof Error && e.name === 'TimeoutError';
    this.opts.onRestart?.(this.kind, isGone(e) ? 'gone' : timeout ? 'timeout' : 'error');
    if (isGone(e)) {
      cursor.resourceVersion = undefined;
      return;
    }
    if (timeout) return;
    const { initialMs, maxMs } = this.opts.backoff ?? DEFAULT_BACKOFF;
    cursor.failures++;
    const waitMs = Math.min(maxMs, initialMs * 2 ** Math.min(cursor.failures - 1, 30));
    this.opts.onError?.(this.kind, e, waitMs);
    await sleep(waitMs, this.stop.signal);
    if (cursor.failures > FAILURES_BEFORE_RELIST) cursor.resourceVersion = undefined;
  }
}
