// Watches the gateway's own ConfigMap through the API server, so a weight change (or a canary rollback)
// takes effect in about a second, where a mounted volume takes up to a minute. An informer on that one name
// (kube/informer.ts: list and watch with fieldSelector=metadata.name=<name>, the form the operator's Role
// allows through resourceNames; bookmarks, relist on 410 Gone, backoff 200 ms → 10 s). Also owns the
// gateway's API credentials and retry settings.
import type { KubeClient } from '../../../kube/client.js';
import { informerForName, type Backoff, type InformerOptions } from '../../../kube/informer.js';
import { loadInClusterAuth, loadKubeAuth, type KubeAuth } from '../../../kube/kubeconfig.js';
import { R } from '../../../kube/resources.js';
import type { ConfigStore } from './store.js';
import { applyConfigMap, type ConfigSource } from './sources.js';

export type KubeLog = (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;

export interface ConfigMapWatchOptions {
  namespace: string;
  name: string;
  /** The gateway's client for the API server. */
  client: KubeClient;
  store: ConfigStore;
  log: KubeLog;
  /** Server-side watch timeout, after which the watch is resumed from the last resourceVersion. */
  watchTimeoutSeconds?: number;
}

/** How the gateway retries a failed list or watch of its ConfigMap and Secrets. */
export const GATEWAY_WATCH_BACKOFF: Backoff = { initialMs: 200, maxMs: 10_000 };

/** The gateway's API credentials: the kubeconfig when given, else its pod's service account. */
export function gatewayKubeAuth(kubeconfig: string | undefined): KubeAuth {
  return kubeconfig !== undefined ? loadKubeAuth(kubeconfig) : loadInClusterAuth();
}

/** Informer options of a gateway watch on one object: its backoff, and a warning for each retry. */
export function gatewayWatchOptions(
  log: KubeLog,
  namespace: string,
  name: string,
  watchTimeoutSeconds: number | undefined,
): Pick<InformerOptions, 'backoff' | 'onError' | 'watchTimeoutSeconds'> {
  return {
    backoff: GATEWAY_WATCH_BACKOFF,
    ...(watchTimeoutSeconds !== undefined ? { watchTimeoutSeconds } : {}),
    onError: (kind, err, retryInMs) => {
      const reason = err instanceof Error ? err.message : String(err);
      if (retryInMs === undefined) log('warn', `${kind} handler failed`, { namespace, name, reason });
      else log('warn', `${kind} watch failed, retrying`, { namespace, name, backoffMs: retryInMs, reason });
    },
  };
}

export function watchConfigMap(opts: ConfigMapWatchOptions): ConfigSource {
  const { namespace, name, store, log } = opts;
  const { client } = opts;
  const source = `configmap ${namespace}/${name}`;
  const informer = informerForName(
    client,
    R.ConfigMap,
    namespace,
    name,
    gatewayWatchOptions(log, namespace, name, opts.watchTimeoutSeconds),
  );
  informer.onChange((type, cm) => {
    if (type === 'delete')
      log('warn', 'ConfigMap deleted, keeping the last good config', { namespace, name });
    else applyConfigMap(store, cm, source);
  });
  informer.start();
  const ready = informer.waitForFirstList().then(() => {
    if (informer.hasSynced && informer.size === 0)
      log('warn', 'ConfigMap not found, waiting for it', { namespace, name });
  });
  return { ready, stop: () => informer.shutdown() };
}
