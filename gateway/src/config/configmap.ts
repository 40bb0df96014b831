// Watches the gateway's own ConfigMap through the API server, so a weight change (or a canary rollback)
// takes effect in about a second, where a mounted volume takes up to a minute. List, then watch from the
// list's resourceVersion with a fieldSelector on the name (named-watch.ts); relist on 410 Gone; reconnect
// with backoff.
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { ConfigStore } from './store.js';
import { applyConfigMap, type ConfigSource } from './sources.js';
import { watchNamed } from './named-watch.js';

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

export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (file !== undefined) kc.loadFromFile(file);
  else kc.loadFromCluster();
  return kc;
}

export function watchConfigMap(opts: ConfigMapWatchOptions): ConfigSource {
  const kc = loadKubeConfig(opts.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace, name, store } = opts;
  const source = `configmap ${namespace}/${name}`;
  const w = watchNamed({
    kc,
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    name,
    list: (fieldSelector) => core.listNamespacedConfigMap({ namespace, fieldSelector }),
    onObject: (cm, event) => {
      if (cm !== undefined) applyConfigMap(store, cm, source);
      else if (event === 'LISTED')
        opts.log('warn', 'ConfigMap not found, waiting for it', { namespace, name });
      else opts.log('warn', 'ConfigMap deleted, keeping the last good config', { namespace, name });
    },
    onError: (reason, backoffMs) =>
      opts.log('warn', 'ConfigMap watch failed, retrying', { namespace, name, backoffMs, reason }),
    ...(opts.watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds: opts.watchTimeoutSeconds } : {}),
  });
  return { ready: w.ready, stop: () => w.stop() };
}
