// Backend credentials read through the API server, for a gateway run with --configmap (in the cluster or
// with a kubeconfig). Each referenced Secret is followed by name (list + watch with
// fieldSelector=metadata.name=<name>, the only form the operator's Role allows: it names the Secrets in
// resourceNames), its decoded data cached in memory, so resolve() is a map lookup on the hot path and a
// rotated key is used as soon as the watch delivers it, without a restart. Values are never logged: only
// namespaces, names, key names and resourceVersions.
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import { watchNamed, type NamedWatch } from './named-watch.js';
import type { SecretRef, SecretResolver } from './secrets.js';

export interface KubernetesSecretResolverOptions {
  kc: KubeConfig;
  log: (level: 'info' | 'warn', msg: string, fields: Record<string, unknown>) => void;
  /** How long resolve() waits for the first list of a Secret it has not seen yet. Default 3 s. */
  firstSyncTimeoutMs?: number;
  watchTimeoutSeconds?: number;
}

interface Entry {
  watch: NamedWatch;
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

function decode(secret: V1Secret): Map<string, string> {
  const data = new Map<string, string>();
  for (const [k, v] of Object.entries(secret.data ?? {}))
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
  private readonly core: CoreV1Api;
  private stopped = false;

  constructor(private readonly opts: KubernetesSecretResolverOptions) {
    this.core = opts.kc.makeApiClient(CoreV1Api);
  }

  async resolve(ref: SecretRef): Promise<string | undefined> {
    const e = this.entry(ref.namespace, ref.name);
    if (e === undefined) return undefined;
    // Only the first requests wait (once, bounded) for a Secret's first list; a Secret that cannot be
    // read (RBAC, API server down) then fails attempts at once until its watch recovers.
    if (!e.watch.synced()) await e.firstSync;
    return e.data?.get(ref.key);
  }

  /** Follows exactly these Secrets: starts watches for new ones, stops those no longer referenced. */
  retain(secrets: { namespace: string; name: string }[]): void {
    const keep = new Set(secrets.map((s) => `${s.namespace}/${s.name}`));
    for (const [id, e] of this.entries) {
      if (keep.has(id)) continue;
      e.watch.stop();
      this.entries.delete(id);
      const [namespace, name] = id.split('/');
      this.opts.log('info', 'Stopped watching Secret', { namespace, name });
    }
    for (const s of secrets) this.entry(s.namespace, s.name);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.watch.stop();
    this.entries.clear();
  }

  private entry(namespace: string, name: string): Entry | undefined {
    const id = `${namespace}/${name}`;
    const existing = this.entries.get(id);
    if (existing !== undefined || this.stopped) return existing;
    const { log } = this.opts;
    const entry: Entry = {
      data: undefined,
      firstSync: Promise.resolve(),
      watch: watchNamed<V1Secret>({
        kc: this.opts.kc,
        path: `/api/v1/namespaces/${namespace}/secrets`,
        name,
        list: (fieldSelector) => this.core.listNamespacedSecret({ namespace, fieldSelector }),
        onObject: (secret, event) => {
          const had = entry.data !== undefined;
          entry.data = secret === undefined ? undefined : decode(secret);
          const fields = {
            namespace,
            name,
            keys: entry.data === undefined ? [] : [...entry.data.keys()],
            resourceVersion: secret?.metadata?.resourceVersion ?? null,
          };
          if (secret === undefined) {
            if (event === 'LISTED' || had)
              log('warn', 'Secret not found, its credentials are unavailable', fields);
          } else if (event === 'LISTED') log('info', 'Loaded Secret', fields);
          else log('info', 'Secret changed', fields);
        },
        onError: (reason, backoffMs) =>
          log('warn', 'Secret watch failed, retrying', { namespace, name, backoffMs, reason }),
        ...(this.opts.watchTimeoutSeconds !== undefined
          ? { watchTimeoutSeconds: this.opts.watchTimeoutSeconds }
          : {}),
      }),
    };
    let timer: NodeJS.Timeout | undefined;
    entry.firstSync = Promise.race([
      entry.watch.ready,
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
