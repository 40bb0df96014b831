// Watches the gateway's own ConfigMap through the API server, so a weight change (or a canary rollback)
// takes effect in about a second, where a mounted volume takes up to a minute. List, then watch from the
// list's resourceVersion with a fieldSelector on the name; relist on 410 Gone; reconnect with backoff.
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import type { ConfigStore } from './store.js';
import { applyConfigMap, type ConfigSource } from './sources.js';

export interface ConfigMapWatchOptions {
  namespace: string;
  name: string;
  /** A kubeconfig file; in-cluster credentials when absent. */
  kubeconfig?: string | undefined;
  store: ConfigStore;
  log: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  /** Server-side watch timeout, after which the watch is resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
}

interface Meta {
  metadata?: { resourceVersion?: string; name?: string };
  code?: number;
}

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file !== undefined) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}

export function watchConfigMap(opts: ConfigMapWatchOptions): ConfigSource {
  const kc = loadKubeConfig(opts.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const watcher = new Watch(kc);
  const { namespace, name, store } = opts;
  const source = `configmap ${namespace}/${name}`;
  const fieldSelector = `metadata.name=${name}`;
  let stopped = false;
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
    const l = await core.listNamespacedConfigMap({ namespace, fieldSelector });
    resourceVersion = l.metadata?.resourceVersion;
    const cm = l.items[0];
    if (cm === undefined) opts.log('warn', 'ConfigMap not found, waiting for it', { namespace, name });
    else applyConfigMap(store, cm, source);
    markReady();
  }

  /** One watch session; resolves with its error (undefined when the server closed it normally). */
  async function watchOnce(): Promise<unknown> {
    return new Promise((resolve) => {
      watcher
        .watch(
          `/api/v1/namespaces/${namespace}/configmaps`,
          {
            fieldSelector,
            resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.watchTimeoutSeconds ?? 300,
          },
          (phase: string, obj: Meta) => {
            if (phase === 'ERROR') {
              // 410 Gone: our resourceVersion is too old; relist.
              if (obj.code === 410) resourceVersion = undefined;
              return;
            }
            resourceVersion = obj.metadata?.resourceVersion ?? resourceVersion;
            if (phase === 'ADDED' || phase === 'MODIFIED') applyConfigMap(store, obj, source);
            else if (phase === 'DELETED') {
              opts.log('warn', 'ConfigMap deleted, keeping the last good config', { namespace, name });
            }
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
        opts.log('warn', 'ConfigMap watch failed, retrying', {
          namespace,
          name,
          backoffMs: backoff,
          reason: err instanceof Error ? err.message : String(err),
        });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    }
  }

  void run();
  return {
    ready,
    stop: () => {
      stopped = true;
      abort?.abort();
      wake?.();
      markReady();
    },
  };
}
