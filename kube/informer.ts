// An informer: list, then watch from the list's resourceVersion, keep a cache with secondary indexes and
// tell handlers what changed. Same semantics as client-node's ListWatch (relist on 410 Gone), plus a relist
// when a watch goes silent past its server timeout (a half-open connection), bookmarks, and one informer
// spanning several namespaces.
import { isGone, type KubeClient, type KubeObject, type WatchEvent } from './client.js';
import type { ResourceType } from './resources.js';

export type ChangeType = 'add' | 'update' | 'delete';
export type ChangeHandler = (type: ChangeType, obj: KubeObject, old?: KubeObject) => void;
export type IndexFunc = (obj: KubeObject) => string[];

export interface InformerOptions {
  resource: ResourceType;
  /** Namespaces to watch; undefined watches all. */
  namespaces?: string[];
  labelSelector?: string;
  /** Only metadata is listed and watched (PartialObjectMetadata): for Secrets, whose data we never need. */
  metadataOnly?: boolean;
  /** Server-side watch timeout; the client gives up on a silent watch 30 s after it. */
  watchTimeoutSeconds?: number;
  onRestart?: (kind: string, reason: 'gone' | 'timeout' | 'error' | 'closed') => void;
  onError?: (kind: string, err: unknown) => void;
}

export const objectKey = (o: { metadata: { namespace?: string; name: string } }): string =>
  o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name;

/** Drops what we never read, to keep the cache small (managedFields is often half an object). */
function slim(obj: KubeObject): KubeObject {
  if (obj.metadata.managedFields === undefined) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

export class Informer {
  private readonly store = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler[] = [];
  private readonly indexers = new Map<string, IndexFunc>();
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private readonly stop = new AbortController();
  private syncedCount = 0;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: KubeClient,
    readonly opts: InformerOptions,
  ) {}

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

  get hasSynced(): boolean {
    return this.syncedCount >= (this.opts.namespaces?.length ?? 1);
  }

  waitForSync(): Promise<void> {
    if (this.hasSynced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    const namespaces = this.opts.namespaces ?? [undefined];
    for (const ns of namespaces) void this.run(ns);
  }

  shutdown(): void {
    this.stop.abort();
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

  private markSynced(): void {
    this.syncedCount++;
    if (this.hasSynced) for (const w of this.syncWaiters.splice(0)) w();
  }

  private async run(namespace: string | undefined): Promise<void> {
    const { resource: r, labelSelector, metadataOnly } = this.opts;
    const signal = this.stop.signal;
    let resourceVersion: string | undefined;
    let synced = false;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const page = await this.client.list(r, namespace, { labelSelector, metadataOnly });
          this.replace(namespace, page.items);
          resourceVersion = page.resourceVersion;
          if (!synced) {
            synced = true;
            this.markSynced();
          }
        }
        const timeoutSeconds = (this.opts.watchTimeoutSeconds ?? 300) + Math.floor(Math.random() * 60);
        let gone = false;
        const perWatch = new AbortController();
        const onAbort = (): void => perWatch.abort();
        signal.addEventListener('abort', onAbort);
        try {
          await this.client.watch(
            r,
            namespace,
            {
              resourceVersion,
              labelSelector,
              metadataOnly,
              timeoutSeconds,
              idleTimeoutMs: (timeoutSeconds + 30) * 1000,
            },
            (e: WatchEvent) => {
              if (e.type === 'ERROR') {
                if (e.object.code === 410) gone = true;
                perWatch.abort();
                return;
              }
              resourceVersion = e.object.metadata.resourceVersion ?? resourceVersion;
              if (e.type === 'BOOKMARK') return;
              if (e.type === 'DELETED') this.remove(objectKey(e.object));
              else this.put(slim(e.object));
            },
            perWatch.signal,
          );
        } finally {
          signal.removeEventListener('abort', onAbort);
        }
        failures = 0;
        if (gone) {
          resourceVersion = undefined;
          this.opts.onRestart?.(this.kind, 'gone');
        } else if (!signal.aborted) {
          this.opts.onRestart?.(this.kind, 'closed');
        }
      } catch (e) {
        if (signal.aborted) return;
        const timeout = e instanceof Error && e.name === 'TimeoutError';
        this.opts.onRestart?.(this.kind, isGone(e) ? 'gone' : timeout ? 'timeout' : 'error');
        if (isGone(e) || timeout) resourceVersion = undefined;
        else {
          this.opts.onError?.(this.kind, e);
          failures++;
          await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
          if (failures > 3) resourceVersion = undefined;
        }
      }
    }
  }
}
