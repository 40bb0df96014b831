// Backend credentials. A SecretResolver turns a {namespace, name, key} reference into the secret's value.
// Implementations: a directory laid out as <dir>/<namespace>/<name>/<key> (how Kubernetes mounts a
// Secret volume, one directory per Secret), and environment variables
// BEASTMODE_SECRET_<NAMESPACE>_<NAME>_<KEY>. A resolver that reads Secrets through the API server plugs
// in behind the same interface (see gateway/README.md).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

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

/** Reads `<dir>/<namespace>/<name>/<key>` on every call; wrap it in CachingSecretResolver. */
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

/** Tries resolvers in order; caches values for `ttlMs` so the hot path rarely touches the disk. */
export class CachingSecretResolver implements SecretResolver {
  private readonly cache = new Map<string, { value: string | undefined; at: number }>();

  constructor(
    private readonly resolvers: SecretResolver[],
    private readonly ttlMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async resolve(ref: SecretRef): Promise<string | undefined> {
    const k = `${ref.namespace}/${ref.name}/${ref.key}`;
    const hit = this.cache.get(k);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.value;
    let value: string | undefined;
    for (const r of this.resolvers) {
      value = await r.resolve(ref);
      if (value !== undefined) break;
    }
    this.cache.set(k, { value, at: this.now() });
    return value;
  }
}

/** The default chain: the secrets directory when given, then environment variables. */
export function defaultSecretResolver(secretsDir?: string): SecretResolver {
  const chain: SecretResolver[] = [];
  if (secretsDir !== undefined) chain.push(new DirectorySecretResolver(secretsDir));
  chain.push(new EnvSecretResolver());
  return new CachingSecretResolver(chain);
}
