// Follows one named object through the API server: list with fieldSelector=metadata.name=<name>, then
// watch from the list's resourceVersion with bookmarks; resume after the server's timeout, relist on
// 410 Gone, reconnect with exponential backoff (200 ms → 10 s). Selecting by field rather than GETting by
// name is what RBAC rules with resourceNames allow for list and watch, which is how the operator's Role
// grants the gateway its ConfigMap and Secrets. Used by the ConfigMap source and the Secret resolver.
import { Watch, type KubeConfig } from '@kubernetes/client-node';

export type NamedEvent = 'LISTED' | 'ADDED' | 'MODIFIED' | 'DELETED';

export interface NamedWatchOptions<T> {
  kc: KubeConfig;
  /** Collection path, e.g. /api/v1/namespaces/llm/configmaps. */
  path: string;
  name: string;
  /** One list call with the given fieldSelector. */
  list(fieldSelector: string): Promise<{ metadata?: { resourceVersion?: string }; items: T[] }>;
  /** The object after a list (undefined: it does not exist) or a watch event. */
  onObject(obj: T | undefined, event: NamedEvent): void;
  /** A list or watch failed; the watch retries after backoffMs. */
  onError(reason: string, backoffMs: number): void;
  watchTimeoutSeconds?: number;
}

export interface NamedWatch {
  /** Resolves after the first list attempt (successful or not), or on stop. */
  ready: Promise<void>;
  /** True once a list succeeded. */
  synced(): boolean;
  stop(): void;
}

interface Meta {
  metadata?: { resourceVersion?: string };
  code?: number;
}

export function watchNamed<T extends Meta>(opts: NamedWatchOptions<T>): NamedWatch {
  const watcher = new Watch(opts.kc);
  const fieldSelector = `metadata.name=${opts.name}`;
  let stopped = false;
  let synced = false;
  let resourceVersion: string | undefined;
  let abort: AbortController | undefined;
  let wake: (() => void) | undefined;
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function list(): Promise<void> {
    try {
      const l = await opts.list(fieldSelector);
      resourceVersion = l.metadata?.resourceVersion;
      synced = true;
      if (!stopped) opts.onObject(l.items[0], 'LISTED');
    } finally {
      markReady();
    }
  }

  /** One watch session; resolves with its error (undefined when the server closed it normally). */
  function watchOnce(): Promise<unknown> {
    return new Promise((resolve) => {
      watcher
        .watch(
          opts.path,
          {
            fieldSelector,
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
          },
          (phase: string, obj: T) => {
            if (phase === 'ERROR') {
              // 410 Gone: our resourceVersion is too old; relist.
              if (obj.code === 410) resourceVersion = undefined;
              return;
            }
            resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
            if (stopped) return;
            if (phase === 'ADDED' || phase === 'MODIFIED') opts.onObject(obj, phase);
            else if (phase === 'DELETED') opts.onObject(undefined, 'DELETED');
          },
          (err: unknown) => resolve(err ?? undefined),
        )
        .then((a) => {
          abort = a;
          if (stopped) a.abort();
        })
        .catch((err: unknown) => resolve(err));
    });
  }

  async function run(): Promise<void> {
    let backoff = 200;
    while (!stopped) {
      try {
        if (resourceVersion === undefined) await list();
        const err = await watchOnce();
        if (stopped) return;
        if (err === undefined) {
          backoff = 200;
          continue;
        }
        if ((err as { statusCode?: number }).statusCode === 410) resourceVersion = undefined;
        throw err instanceof Error ? err : new Error(JSON.stringify(err));
      } catch (err) {
        if (stopped) return;
        opts.onError(describe(err), backoff);
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  void run();
  return {
    ready,
    synced: () => synced,
    stop: () => {
      stopped = true;
      abort?.abort();
      wake?.();
      markReady();
    },
  };
}

/** An error's message, or the HTTP status of a client-node ApiException (whose message holds the body). */
function describe(err: unknown): string {
  const code =
    (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
  if (typeof code === 'number') return `HTTP ${code}`;
  return err instanceof Error ? err.message : String(err);
}
