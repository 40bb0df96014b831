// A thin REST client for the Kubernetes API, the one the operator, gateway, CLI, demo and local cluster all
// use: get/list/watch (label and field selectors), server-side apply, merge patches, creates and plain-text
// endpoints such as /readyz. Authentication comes from kubeconfig.ts (in-cluster and plain kubeconfigs
// natively, client-node's KubeConfig only for exec plugins and the like); one connection pool is kept for
// the client's lifetime (client-node 2.0.1 builds a new undici Agent, hence a new TLS handshake, for every
// request), and it speaks the content types we need directly (apply-patch, merge-patch,
// PartialObjectMetadata).
import { fetch, type Dispatcher } from 'undici';
import { loadKubeAuth, type KubeAuth } from './kubeconfig.js';
import { collectionPath, objectPath, apiVersionOf, type ResourceType } from './resources.js';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMetaLike {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  managedFields?: unknown[];
}

/** Any Kubernetes object as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMetaLike;
  [field: string]: unknown;
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.status === 409;
export const isGone = (e: unknown): boolean => e instanceof KubeApiError && e.status === 410;

/** Called after every mutating request: the benchmark and `/metrics` count API writes by verb and kind. */
export type WriteObserver = (verb: string, kind: string) => void;

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_ONLY_WATCH = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';
const AUTH_REFRESH_MS = 60_000;

interface Endpoint {
  server: string;
  headers: Record<string, string>;
  dispatcher: Dispatcher | undefined;
  at: number;
}

export interface KubeClientOptions {
  /**
   * Gives up on a request (not a watch) with no answer after this long. Unset: no limit, as client-go; set
   * by callers that poll a server which may not be listening yet.
   */
  requestTimeoutMs?: number;
}

/** Selects the objects of a collection: labels and fields, as the API server's query parameters. */
export interface Selectors {
  labelSelector?: string;
  /** e.g. `metadata.name=gw`: what RBAC rules with resourceNames allow for list and watch. */
  fieldSelector?: string;
}

export interface WatchOptions extends Selectors {
  resourceVersion: string;
  metadataOnly?: boolean;
  timeoutSeconds: number;
  idleTimeoutMs: number;
  answerTimeoutMs?: number;
  /** Called once the server has accepted the watch (a 2xx answer), before any event. */
  onOpen?: () => void;
}

/** Calls onLine for each non-empty line of a newline-delimited stream (a watch), onChunk for each read. */
async function readJsonLines(
  body: AsyncIterable<unknown>,
  onChunk: () => void,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    onChunk();
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line !== '') onLine(line);
    }
  }
}

export class KubeClient {
  private auth: Endpoint | undefined;
  writeObserver: WriteObserver = () => undefined;

  constructor(
    private readonly source: KubeAuth,
    private readonly options: KubeClientOptions = {},
  ) {}

  /** A kubeconfig file, or (no path) $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  static fromFile(path?: string, options: KubeClientOptions = {}): KubeClient {
    return new KubeClient(loadKubeAuth(path), options);
  }

  /** The namespace of the kubeconfig's current context (or the service account's); undefined when unset. */
  namespace(): Promise<string | undefined> {
    return this.source.namespace();
  }

  /** Headers are refreshed every minute (tokens rotate and expire); the dispatcher is kept. */
  private async authFor(): Promise<Endpoint> {
    const now = Date.now();
    if (this.auth && now - this.auth.at < AUTH_REFRESH_MS) return this.auth;
    const [server, c] = await Promise.all([this.source.server(), this.source.credentials()]);
    this.auth = { server, headers: c.headers, dispatcher: this.auth?.dispatcher ?? c.dispatcher, at: now };
    return this.auth;
  }

  private static url(server: string, path: string, query?: RequestOptions['query']): string {
    const u = new URL(server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  /** A JSON request; a non-2xx answer throws a KubeApiError carrying the server's reason and message. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const text = await this.send(method, path, opts);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** A plain-text endpoint such as /readyz or /version: the body as the server sent it. */
  getText(path: string, opts: Pick<RequestOptions, 'query' | 'signal'> = {}): Promise<string> {
    return this.send('GET', path, { ...opts, accept: 'text/plain, application/json' });
  }

  private async send(method: string, path: string, opts: RequestOptions): Promise<string> {
    const auth = await this.authFor();
    const url = KubeClient.url(auth.server, path, opts.query);
    const headers: Record<string, string> = { ...auth.headers, Accept: opts.accept ?? 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
    const limit = this.options.requestTimeoutMs;
    const deadline = limit === undefined ? undefined : AbortSignal.timeout(limit);
    const signals = [opts.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        dispatcher: auth.dispatcher,
        signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
      });
      const text = await res.text();
      if (!res.ok) throw KubeClient.apiError(method, path, res.status, res.statusText, text);
      return text;
    } catch (e) {
      if (e instanceof KubeApiError || deadline?.aborted !== true || opts.signal?.aborted === true) throw e;
      const err = new Error(`${method} ${path}: no answer within ${limit}ms`);
      err.name = 'TimeoutError';
      throw err;
    }
  }

  private static apiError(method: string, path: string, status: number, statusText: string, body: string) {
    let reason = statusText;
    let message = body;
    try {
      const parsed = JSON.parse(body) as { reason?: string; message?: string };
      reason = parsed.reason ?? reason;
      message = parsed.message ?? message;
    } catch {
      // not a Status object
    }
    return new KubeApiError(status, reason, `${method} ${path}: ${status} ${message}`);
  }

  get<T extends KubeObject = KubeObject>(
    r: ResourceType,
    namespace: string,
    name: string,
    opts: Pick<RequestOptions, 'signal'> = {},
  ): Promise<T> {
    return this.request<T>('GET', objectPath(r, namespace, name), { signal: opts.signal });
  }

  /** Every page of a list, and the resourceVersion to watch from. */
  async list(
    r: ResourceType,
    namespace: string | undefined,
    opts: Selectors & { metadataOnly?: boolean; limit?: number; signal?: AbortSignal } = {},
  ): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<{
        items: KubeObject[] | null;
        metadata: { resourceVersion: string; continue?: string };
      }>('GET', collectionPath(r, namespace), {
        query: {
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          limit: opts.limit ?? 500,
          continue: cont,
        },
        accept: opts.metadataOnly ? METADATA_ONLY : undefined,
        signal: opts.signal,
      });
      for (const item of page.items ?? []) items.push(item);
      resourceVersion = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /**
   * Streams watch events until the server ends the watch (resolves), the signal aborts, the server does not
   * answer within `answerTimeoutMs` (default `idleTimeoutMs`) or the stream stays silent for `idleTimeoutMs`
   * (both reject with a TimeoutError).
   */
  async watch(
    r: ResourceType,
    namespace: string | undefined,
    opts: WatchOptions,
    onEvent: (e: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const auth = await this.authFor();
    const url = KubeClient.url(auth.server, collectionPath(r, namespace), {
      watch: true,
      allowWatchBookmarks: true,
      resourceVersion: opts.resourceVersion,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      timeoutSeconds: opts.timeoutSeconds,
    });
    const controller = new AbortController();
    const abortOuter = (): void => controller.abort(signal.reason);
    signal.addEventListener('abort', abortOuter);
    let idle: NodeJS.Timeout | undefined;
    let timedOut: string | undefined;
    const resetIdle = (ms = opts.idleTimeoutMs, why = `silent for ${ms}ms`): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        timedOut = why;
        controller.abort();
      }, ms);
      idle.unref();
    };
    try {
      const answerMs = opts.answerTimeoutMs ?? opts.idleTimeoutMs;
      resetIdle(answerMs, `no answer within ${answerMs}ms`);
      const res = await fetch(url, {
        headers: { ...auth.headers, Accept: opts.metadataOnly ? METADATA_ONLY_WATCH : 'application/json' },
        dispatcher: auth.dispatcher,
        signal: controller.signal,
      });
      resetIdle();
      if (!res.ok || !res.body)
        throw KubeClient.apiError('watch', r.plural, res.status, res.statusText, await res.text());
      opts.onOpen?.();
      await readJsonLines(res.body, resetIdle, (line) => onEvent(JSON.parse(line) as WatchEvent));
    } catch (e) {
      if (timedOut !== undefined) {
        const err = new Error(`watch ${r.plural} ${timedOut}`);
        err.name = 'TimeoutError';
        throw err;
      }
      if (signal.aborted) return;
      throw e;
    } finally {
      clearTimeout(idle);
      signal.removeEventListener('abort', abortOuter);
      controller.abort();
    }
  }

  /** Server-side apply of a whole object under one field manager, forcing ownership of the fields sent. */
  async apply<T extends KubeObject>(
    r: ResourceType,
    obj: KubeObject,
    fieldManager: string,
    subresource?: 'status',
  ): Promise<T> {
    const ns = obj.metadata.namespace ?? '';
    const path = objectPath(r, ns, obj.metadata.name) + (subresource ? `/${subresource}` : '');
    const body = { ...obj, apiVersion: apiVersionOf(r), kind: r.kind };
    const out = await this.request<T>('PATCH', path, {
      query: { fieldManager, force: true },
      body,
      contentType: 'application/apply-patch+yaml',
    });
    this.writeObserver(subresource ? 'apply-status' : 'apply', r.kind);
    return out;
  }

  async mergePatch<T extends KubeObject>(
    r: ResourceType,
    namespace: string,
    name: string,
    patch: unknown,
    opts: { subresource?: 'status'; fieldManager?: string } = {},
  ): Promise<T> {
    const path = objectPath(r, namespace, name) + (opts.subresource ? `/${opts.subresource}` : '');
    const out = await this.request<T>('PATCH', path, {
      query: { fieldManager: opts.fieldManager },
      body: patch,
      contentType: 'application/merge-patch+json',
    });
    this.writeObserver(opts.subresource ? 'patch-status' : 'patch', r.kind);
    return out;
  }

  async create<T extends KubeObject>(
    r: ResourceType,
    obj: KubeObject,
    fieldManager?: string,
    opts: Pick<RequestOptions, 'signal'> = {},
  ): Promise<T> {
    const out = await this.request<T>('POST', collectionPath(r, obj.metadata.namespace), {
      query: { fieldManager },
      body: { ...obj, apiVersion: apiVersionOf(r), kind: r.kind },
      signal: opts.signal,
    });
    this.writeObserver('create', r.kind);
    return out;
  }

  async replace<T extends KubeObject>(
    r: ResourceType,
    obj: KubeObject,
    fieldManager?: string,
    opts: Pick<RequestOptions, 'signal'> = {},
  ): Promise<T> {
    const out = await this.request<T>('PUT', objectPath(r, obj.metadata.namespace ?? '', obj.metadata.name), {
      query: { fieldManager },
      body: { ...obj, apiVersion: apiVersionOf(r), kind: r.kind },
      signal: opts.signal,
    });
    this.writeObserver('update', r.kind);
    return out;
  }

  async delete(r: ResourceType, namespace: string, name: string): Promise<void> {
    try {
      await this.request('DELETE', objectPath(r, namespace, name), {
        body: { propagationPolicy: 'Background' },
      });
      this.writeObserver('delete', r.kind);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
