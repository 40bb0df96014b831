// Backend credentials read through the API server, for a gateway run with --configmap (in the cluster or
// with a kubeconfig). Each referenced Secret is followed by name (an informer listing and watching with
// fieldSelector=metadata.name=<name>, the only form the operator's Role allows: it names the Secrets in
// resourceNames), all on one client, its decoded data cached in memory, so resolve() is a map lookup on
// the hot path and a rotated key is used as soon as the watch delivers it, without a restart. Values are
// never logged: only namespaces, names, key names and resourceVersions.
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import { informerForName, type Informer } from '../../../kube/informer.js';
import { R } from '../../../kube/resources.js';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import { gatewayWatchOptions, type KubeLog } from './configmap.js';
import type { SecretRef, SecretResolver } from './secrets.js';

export interface KubernetesSecretResolverOptions {
  /** One client (one connection pool) for every Secret followed. */
  client: KubeClient;
  log: KubeLog;
  /** How long resolve() waits for the first list of a Secret it has not seen yet. Default 3 s. */
  firstSyncTimeoutMs?: number;
  watchTimeoutSeconds?: number;
}

interface Entry {
  informer: Informer;
  /** Decoded values by key; undefined while the Secret does not exist (or was not listed yet). */
  data: Map<string, string> | undefined;
  /** The first list, or the first-sync timeout, whichever comes first. */
  firstSync: Promise<void>;
}

/** The Secrets (namespace/name) a GatewayConfig's backends take credentials from. */
export function referencedSecrets(config: GatewayConfig): { namespace: string; name: string }[] {
  const seen = new Map<string, { namespace: string; name: string }>();
  for (const r of config.routes)
    for (const b of r.backends)
      if (b.credentials) seen.set(`${b.credentials.namespace}/${b.credentials.name}`, b.credentials);
  return [...seen.values()].map(({ namespace, name }) => ({ namespace, name }));
}

function decode(secret: KubeObject): Map<string, string> {
  const data = new Map<string, string>();
  for (const [k, v] of Object.entries((secret.data ?? {}) as Record<string, string>))
    // Like a mounted Secret read by DirectorySecretResolver: one trailing newline (from `--from-file`) is dropped.
    data.set(
      k,
      Buffer.from(v, 'base64')
        .toString('utf8')
        .replace(/\r?\n$/, ''),
    );
  return data;
}

export class KubernetesSecretResolver implements SecretResolver {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(private readonly opts: KubernetesSecretResolverOptions) {}

  async resolve(ref: SecretRef): Promise<string | undefined> {
    const e = this.entry(ref.namespace, ref.name);
    if (e === undefined) return undefined;
    // Only the first requests wait (once, bounded) for a Secret's first list; a Secret that cannot be
    // read (RBAC, API server down) then fails attempts at once until its watch recovers.
    if (!e.informer.hasSynced) await e.firstSync;
    return e.data?.get(ref.key);
  }

  /** Follows exactly these Secrets: starts watches for new ones, stops those no longer referenced. */
  retain(secrets: { namespace: string; name: string }[]): void {
    const keep = new Set(secrets.map((s) => `${s.namespace}/${s.name}`));
    for (const [id, e] of this.entries) {
      if (keep.has(id)) continue;
      e.informer.shutdown();
      this.entries.delete(id);
      const [namespace, name] = id.split('/');
      this.opts.log('info', 'Stopped watching Secret', { namespace, name });
    }
    for (const s of secrets) this.entry(s.namespace, s.name);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.informer.shutdown();
    this.entries.clear();
  }

  private entry(namespace: string, name: string): Entry | undefined {
    const id = `${namespace}/${name}`;
    const existing = this.entries.get(id);
    if (existing !== undefined || this.stopped) return existing;
    const { log, client, watchTimeoutSeconds } = this.opts;
    const informer = informerForName(
      client,
      R.Secret,
      namespace,
      name,
      gatewayWatchOptions(log, namespace, name, watchTimeoutSeconds),
    );
    const entry: Entry = { informer, data: undefined, firstSync: Promise.resolve() };
    informer.onChange((type, secret) => {
      entry.data = type === 'delete' ? undefined : decode(secret);
      const fields = {
        namespace,
        name,
        keys: entry.data === undefined ? [] : [...entry.data.keys()],
        resourceVersion: type === 'delete' ? null : (secret.metadata.resourceVersion ?? null),
      };
      if (type === 'delete') log('warn', 'Secret not found, its credentials are unavailable', fields);
      else if (type === 'add') log('info', 'Loaded Secret', fields);
      else log('info', 'Secret changed', fields);
    });
    informer.start();
    const firstList = informer.waitForFirstList().then(() => {
      if (informer.hasSynced && entry.data === undefined)
        log('warn', 'Secret not found, its credentials are unavailable', {
          namespace,
          name,
          keys: [],
          resourceVersion: null,
        });
    });
    let timer: NodeJS.Timeout | undefined;
    entry.firstSync = Promise.race([
      firstList,
      new Promise<void>((r) => {
        timer = setTimeout(r, this.opts.firstSyncTimeoutMs ?? 3000);
        timer.unref();
      }),
    ]).then(() => clearTimeout(timer));
    this.entries.set(id, entry);
    log('info', 'Watching Secret', { namespace, name });
    return entry;
  }
}

/** Tries resolvers in order, without caching (each caches what it needs to). */
export class FirstOfSecretResolver implements SecretResolver {
  constructor(private readonly resolvers: SecretResolver[]) {}

  async resolve(ref: SecretRef): Promise<string | undefined> {
    for (const r of this.resolvers) {
      const v = await r.resolve(ref);
      if (v !== undefined) return v;
    }
    return undefined;
  }
}
