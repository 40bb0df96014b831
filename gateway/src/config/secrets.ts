// Backend credentials. A SecretResolver turns a {namespace, name, key} reference into the secret's value.
// Sources: a directory laid out as <dir>/<namespace>/<name>/<key>, which is how the operator's Deployment
// mounts every Secret a gateway uses (the kubelet reads them: the gateway's ServiceAccount may read no
// Secret at all), and environment variables BEASTMODE_SECRET_<NAMESPACE>_<NAME>_<KEY> for standalone use.
// CredentialFiles holds the values in memory, so the request path never waits on the disk, and re-reads
// them every second: the kubelet updates a mounted Secret by swapping a `..data` symlink, which watchers on
// the path miss, so the files are polled (as the API keys file is). It also says which references cannot be
// read, which the gateway exports as beastmode_backend_credentials_ready.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';

export interface SecretRef {
  namespace: string;
  name: string;
  key: string;
}

export interface SecretResolver {
  /** The value, or undefined when this resolver does not have it. */
  resolve(ref: SecretRef): Promise<string | undefined>;
}

const SAFE = /^[A-Za-z0-9._-]+$/;

/** Reads `<dir>/<namespace>/<name>/<key>` on every call; CredentialFiles keeps what it reads. */
export class DirectorySecretResolver implements SecretResolver {
  constructor(private readonly dir: string) {}

  async resolve(ref: SecretRef): Promise<string | undefined> {
    // Names are validated by the API schema; check again so a reference can never walk out of the dir.
    if (![ref.namespace, ref.name, ref.key].every((p) => SAFE.test(p) && p !== '..' && p !== '.'))
      return undefined;
    try {
      const v = await readFile(path.join(this.dir, ref.namespace, ref.name, ref.key), 'utf8');
      return v.replace(/\r?\n$/, '');
    } catch {
      return undefined;
    }
  }
}

/** The environment variable that holds a secret for the env resolver. */
export function secretEnvName(ref: SecretRef): string {
  const part = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `BEASTMODE_SECRET_${part(ref.namespace)}_${part(ref.name)}_${part(ref.key)}`;
}

export class EnvSecretResolver implements SecretResolver {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  resolve(ref: SecretRef): Promise<string | undefined> {
    return Promise.resolve(this.env[secretEnvName(ref)]);
  }
}

/** The labels of one backend's metric series and the credential it takes. */
export interface CredentialUse {
  labels: { namespace: string; route: string; backend: string; variant: string };
  ref: SecretRef;
}

/** Every backend of a config that takes credentials, canary variants included. */
export function credentialUses(config: GatewayConfig): CredentialUse[] {
  const out: CredentialUse[] = [];
  for (const r of config.routes)
    for (const b of r.backends)
      if (b.credentials)
        out.push({
          labels: { namespace: r.namespace, route: r.name, backend: b.name, variant: b.variant },
          ref: { namespace: b.credentials.namespace, name: b.credentials.name, key: b.credentials.key },
        });
  return out;
}

const refId = (ref: SecretRef): string => `${ref.namespace}/${ref.name}/${ref.key}`;

export interface CredentialFilesOptions {
  /** How often every followed reference is read again, ms. Default 1000. */
  pollMs?: number;
}

/**
 * Tries the sources in order and keeps what they answer in memory, for the references it follows: those
 * of the config in force (follow), and any other one the moment it is first resolved. A poll re-reads them
 * all off the request path; a value that vanishes is answered as missing from the next poll on.
 */
export class CredentialFiles implements SecretResolver {
  private readonly values = new Map<string, { ref: SecretRef; value: string | undefined }>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;
  private readonly listeners: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly sources: SecretResolver[],
    private readonly opts: CredentialFilesOptions = {},
  ) {}

  async resolve(ref: SecretRef): Promise<string | undefined> {
    const id = refId(ref);
    const held = this.values.get(id);
    if (held !== undefined) return held.value;
    const value = await this.read(ref);
    this.values.set(id, { ref, value });
    this.startPolling();
    return value;
  }

  /** Follows exactly these references: reads the new ones now, forgets the ones no longer used. */
  async follow(refs: readonly SecretRef[]): Promise<void> {
    const keep = new Map(refs.map((r) => [refId(r), r]));
    for (const id of this.values.keys()) if (!keep.has(id)) this.values.delete(id);
    const fresh = [...keep].filter(([id]) => !this.values.has(id));
    const read = await Promise.all(fresh.map(async ([id, ref]) => [id, ref, await this.read(ref)] as const));
    for (const [id, ref, value] of read) if (keep.has(id)) this.values.set(id, { ref, value });
    this.startPolling();
  }

  /** Whether a followed reference has a value now; false for one not followed. */
  readable(ref: SecretRef): boolean {
    return this.values.get(refId(ref))?.value !== undefined;
  }

  /** Calls `listener` after each refresh in which a value appeared, changed or vanished (never with values). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Reads every followed reference again; true (and the listeners) when any value appeared, changed or went. */
  refresh(): Promise<boolean> {
    this.refreshing ??= this.reread().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reread(): Promise<boolean> {
    const entries = [...this.values];
    const read = await Promise.all(entries.map(async ([id, e]) => [id, await this.read(e.ref)] as const));
    let changed = false;
    for (const [id, value] of read) {
      const e = this.values.get(id);
      if (e === undefined || e.value === value) continue;
      e.value = value;
      changed = true;
    }
    if (changed) for (const l of this.listeners) l();
    return changed;
  }

  private async read(ref: SecretRef): Promise<string | undefined> {
    for (const s of this.sources) {
      const v = await s.resolve(ref);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  private startPolling(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.refresh(), this.opts.pollMs ?? 1000);
    this.timer.unref();
  }
}

/** The default chain: the secrets directory when given, then environment variables. */
export function credentialFiles(secretsDir?: string, opts: CredentialFilesOptions = {}): CredentialFiles {
  const chain: SecretResolver[] = [];
  if (secretsDir !== undefined) chain.push(new DirectorySecretResolver(secretsDir));
  chain.push(new EnvSecretResolver());
  return new CredentialFiles(chain, opts);
}

/** What gateway.ts falls back to when it is given no resolver. */
export const defaultSecretResolver = (secretsDir?: string): SecretResolver => credentialFiles(secretsDir);
