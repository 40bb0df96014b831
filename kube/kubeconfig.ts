// Where the API server is and how to authenticate to it, without loading @kubernetes/client-node: its
// KubeConfig module pulls in the whole generated API (every model of every group), about 60 MiB of RSS the
// operator would carry for its lifetime. The common cases are read here: in-cluster (service account token,
// re-read as it rotates), and a kubeconfig whose user has a client certificate, a token, a token file or
// basic auth, and impersonation (`as`, `as-uid`, `as-groups`, `as-user-extra`: how an admin runs a process
// under exactly a ServiceAccount's RBAC). Anything else (exec credential plugins, auth-provider, proxy-url, a
// KUBECONFIG list of files, no configuration at all) is handed to client-node's KubeConfig, imported only
// then. Besides credentials it says which namespace the configuration names, the default of the CLI.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import { Agent, type Dispatcher } from 'undici';
import { parse } from 'yaml';

export interface Credentials {
  headers: Record<string, string>;
  /** TLS settings for the API server (CA, client certificate); undefined for the default dispatcher. */
  dispatcher: Dispatcher | undefined;
}

export interface KubeAuth {
  /** The API server's base URL, without a trailing slash. */
  server(): Promise<string>;
  /** Headers of the next requests (called again when they may have expired) and the TLS dispatcher. */
  credentials(): Promise<Credentials>;
  /** The current context's namespace (in the cluster: the service account's); undefined when unset. */
  namespace(): Promise<string | undefined>;
  /** Which loader is in use: "kubeconfig", "in-cluster" or "client-node" (the fallback). */
  readonly source: string;
}

const SERVICEACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount';

interface TlsAndAuth {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized?: boolean;
  servername?: string;
  token?: string;
  tokenFile?: string;
  basic?: string;
  impersonate?: Impersonation;
  namespace?: string;
}

/** Who the requests act as, from the kubeconfig user's `as`, `as-uid`, `as-groups` and `as-user-extra`. */
export interface Impersonation {
  user: string;
  uid?: string;
  groups: string[];
  /** Impersonate-Extra-<key> values by key. */
  extra: Record<string, string[]>;
}

type Named<T> = { name: string } & T;
interface KubeconfigFile {
  clusters?: Named<{ cluster?: Record<string, unknown> }>[];
  users?: Named<{ user?: Record<string, unknown> }>[];
  contexts?: Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>[];
  'current-context'?: string;
}

/** User fields only client-node understands: their presence sends the whole kubeconfig to it. */
const DELEGATED_USER_FIELDS = ['exec', 'auth-provider'];
/** Impersonation fields client-node would drop without a word: refused rather than ignored. */
const NATIVE_ONLY_USER_FIELDS = ['as-uid', 'as-groups', 'as-user-extra'];

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Drops undefined fields (the TLS options must not carry explicit undefineds). */
function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : [];

/** The user's impersonation fields; undefined without `as` (groups or extras alone name nobody to act as). */
function impersonationOf(user: Record<string, unknown>): Impersonation | undefined {
  const name = str(user.as);
  const groups = strings(user['as-groups']);
  const rawExtra = (user['as-user-extra'] ?? {}) as Record<string, unknown>;
  const extra = Object.fromEntries(
    Object.entries(rawExtra)
      .map(([k, v]) => [k, strings(v)] as const)
      .filter(([, v]) => v.length > 0),
  );
  if (name === undefined) {
    if (groups.length > 0 || Object.keys(extra).length > 0 || str(user['as-uid']) !== undefined)
      throw new Error('kubeconfig user sets as-groups, as-uid or as-user-extra without as: name the user');
    return undefined;
  }
  const uid = str(user['as-uid']);
  return { user: name, ...(uid !== undefined ? { uid } : {}), groups, extra };
}

/** Reads a kubeconfig; undefined when it needs client-node (exec plugins, auth providers, proxies). */
export function readKubeconfig(path: string): TlsAndAuth | undefined {
  const dir = dirname(path);
  const abs = (p: string): string => (isAbsolute(p) ? p : join(dir, p));
  /** A `<field>` path (relative to the kubeconfig) or a base64 `<field>-data`. */
  const bytes = (o: Record<string, unknown>, field: string): Buffer | undefined => {
    const p = str(o[field]);
    if (p !== undefined) return readFileSync(abs(p));
    const d = str(o[`${field}-data`]);
    return d === undefined ? undefined : Buffer.from(d, 'base64');
  };
  const doc = (parse(readFileSync(path, 'utf8')) ?? {}) as KubeconfigFile;
  const ctxName = doc['current-context'];
  const context = doc.contexts?.find((c) => c.name === ctxName)?.context;
  const cluster = doc.clusters?.find((c) => c.name === context?.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === context?.user)?.user ?? {};
  const server = str(cluster?.server)?.replace(/\/+$/, '');
  if (!cluster || !server) return undefined; // client-node reports it (or defaults) as it always did
  const delegated =
    str(cluster['proxy-url']) !== undefined || DELEGATED_USER_FIELDS.some((f) => user[f] !== undefined);
  if (delegated && NATIVE_ONLY_USER_FIELDS.some((f) => user[f] !== undefined))
    throw new Error(
      'kubeconfig user combines as-uid, as-groups or as-user-extra with exec, auth-provider or proxy-url: not supported',
    );
  if (delegated) return undefined;
  const insecure = cluster['insecure-skip-tls-verify'] === true;
  if (server.startsWith('http:') && !insecure)
    throw new Error('HTTP protocol is not allowed when skipTLSVerify is not set or false');
  const tokenFile = str(user.tokenFile) ?? str(user['token-file']);
  const username = str(user.username);
  return compact<TlsAndAuth>({
    server,
    ca: bytes(cluster, 'certificate-authority'),
    cert: bytes(user, 'client-certificate'),
    key: bytes(user, 'client-key'),
    rejectUnauthorized: insecure ? false : undefined,
    servername: str(cluster['tls-server-name']),
    token: str(user.token),
    tokenFile: tokenFile === undefined ? undefined : abs(tokenFile),
    basic:
      username === undefined
        ? undefined
        : Buffer.from(`${username}:${str(user.password) ?? ''}`).toString('base64'),
    impersonate: impersonationOf(user),
    namespace: str(context?.namespace),
  });
}

/** The in-cluster configuration: the service's address from the environment, the mounted token and CA. */
export function readInCluster(env: NodeJS.ProcessEnv, root = SERVICEACCOUNT): TlsAndAuth {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const h = host.includes(':') ? `[${host}]` : host;
  const ca = join(root, 'ca.crt');
  const namespace = join(root, 'namespace');
  return {
    server: `${scheme}://${h}:${port}`,
    ...(existsSync(ca) ? { ca: readFileSync(ca) } : {}),
    tokenFile: join(root, 'token'),
    ...(existsSync(namespace) ? { namespace: readFileSync(namespace, 'utf8').trim() } : {}),
  };
}

/**
 * Sends the headers that may repeat (one Impersonate-Group line per group, one Impersonate-Extra-<key> line
 * per value) below fetch: fetch folds repeated names into one comma-joined line, which the API server would
 * read as a single group named "a, b". undici's dispatcher takes an array value and writes one line each.
 */
function repeatedHeaders(headers: Record<string, string[]>): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const base = opts.headers;
    const merged: Record<string, string | string[]> = {};
    if (Array.isArray(base)) {
      for (let i = 0; i + 1 < base.length; i += 2) merged[String(base[i])] = String(base[i + 1]);
    } else if (base !== null && base !== undefined) {
      for (const [k, v] of Object.entries(base as Record<string, string | string[] | undefined>))
        if (v !== undefined) merged[k] = v;
    }
    return dispatch({ ...opts, headers: { ...merged, ...headers } }, handler);
  };
}

const TOKEN_CHAR = /^[A-Za-z0-9!#$&'*+.^_`|~-]$/;

/** Extra keys travel in header names: bytes outside a header token (and %) are percent-encoded, as client-go does. */
function extraHeaderName(key: string): string {
  const escaped = [...Buffer.from(key, 'utf8')]
    .map((b) => {
      const c = String.fromCharCode(b);
      return TOKEN_CHAR.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `Impersonate-Extra-${escaped}`;
}

function impersonationHeaders(i: Impersonation | undefined): {
  single: Record<string, string>;
  repeated: Record<string, string[]>;
} {
  if (i === undefined) return { single: {}, repeated: {} };
  const single: Record<string, string> = { 'Impersonate-User': i.user };
  if (i.uid !== undefined) single['Impersonate-Uid'] = i.uid;
  const repeated: Record<string, string[]> = {};
  if (i.groups.length > 0) repeated['Impersonate-Group'] = i.groups;
  for (const [k, v] of Object.entries(i.extra)) repeated[extraHeaderName(k)] = v;
  return { single, repeated };
}

function nativeAuth(source: string, c: TlsAndAuth): KubeAuth {
  const tls = compact({
    ca: c.ca,
    cert: c.cert,
    key: c.key,
    rejectUnauthorized: c.rejectUnauthorized,
    servername: c.servername,
  });
  const impersonation = impersonationHeaders(c.impersonate);
  const repeats = Object.keys(impersonation.repeated).length > 0;
  // Same connection settings as client-node's dispatcher (keep-alive probes at 30 s, like client-go).
  const agent =
    Object.keys(tls).length === 0 && !repeats
      ? undefined
      : new Agent({
          connect: { ...tls, keepAlive: true, keepAliveInitialDelay: 30_000 },
          // undici speaks HTTP/2 to the API server: one connection carries every watch and request, and
          // a silent one is found only by PING. Every 15 s drops a dead connection within 15–30 s (client-go:
          // 30–45 s) instead of undici's default 60–120 s.
          h2Options: { pingInterval: 15_000 },
        });
  const dispatcher = repeats ? agent?.compose(repeatedHeaders(impersonation.repeated)) : agent;
  return {
    source,
    server: () => Promise.resolve(c.server),
    namespace: () => Promise.resolve(c.namespace),
    credentials: () => {
      const headers: Record<string, string> = {};
      if (c.basic) headers.Authorization = `Basic ${c.basic}`;
      // A token file is read again on every refresh: projected service-account tokens rotate.
      const token = c.token ?? (c.tokenFile ? readFileSync(c.tokenFile, 'utf8').trim() : undefined);
      if (token) headers.Authorization = `Bearer ${token}`;
      Object.assign(headers, impersonation.single);
      return Promise.resolve({ headers, dispatcher });
    },
  };
}

/** client-node's KubeConfig, for what readKubeconfig() does not handle. Imported on first use only. */
function clientNodeAuth(path: string | undefined): KubeAuth {
  type Loaded = {
    server: string;
    namespace: string | undefined;
    apply: () => Promise<{ headers: Record<string, string>; dispatcher: Dispatcher | undefined }>;
  };
  let loaded: Promise<Loaded> | undefined;
  const load = (): Promise<Loaded> =>
    (loaded ??= import('@kubernetes/client-node').then(({ KubeConfig, RequestContext, HttpMethod }) => {
      const kc = new KubeConfig();
      if (path) kc.loadFromFile(path);
      else kc.loadFromDefault();
      const cluster = kc.getCurrentCluster();
      if (!cluster) throw new Error('kubeconfig has no current cluster');
      const server = cluster.server.replace(/\/+$/, '');
      return {
        server,
        namespace: kc.getContextObject(kc.getCurrentContext())?.namespace,
        apply: async () => {
          const ctx = new RequestContext(server, HttpMethod.GET);
          await kc.applySecurityAuthentication(ctx);
          return { headers: ctx.getHeaders(), dispatcher: ctx.getDispatcher() };
        },
      };
    }));
  let dispatcher: Dispatcher | undefined;
  return {
    source: 'client-node',
    server: async () => (await load()).server,
    namespace: async () => (await load()).namespace,
    credentials: async () => {
      const c = await (await load()).apply();
      // Keep the first dispatcher: client-node builds a new one (a new pool) every time.
      dispatcher ??= c.dispatcher;
      return { headers: c.headers, dispatcher };
    },
  };
}

/**
 * The pod's own service account, and nothing else: for a process whose only documented configuration in
 * the cluster is that one (the gateway without --kubeconfig). Throws outside a pod.
 */
export function loadInClusterAuth(env: NodeJS.ProcessEnv = process.env, root = SERVICEACCOUNT): KubeAuth {
  if (!env.KUBERNETES_SERVICE_HOST || !existsSync(join(root, 'token')))
    throw new Error(
      `not running in a Kubernetes pod (no KUBERNETES_SERVICE_HOST or no ${join(root, 'token')}): give a kubeconfig`,
    );
  return nativeAuth('in-cluster', readInCluster(env, root));
}

/**
 * Authentication from a kubeconfig file, or when `path` is undefined the way client-node's
 * loadFromDefault() finds it: $KUBECONFIG, ~/.kube/config, then the in-cluster service account.
 */
export function loadKubeAuth(path?: string, env: NodeJS.ProcessEnv = process.env): KubeAuth {
  let file = path;
  if (file === undefined) {
    const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter((f) => f !== '');
    if (fromEnv.length > 1) return clientNodeAuth(undefined); // merged files: client-node merges them
    const home = join(env.HOME ?? homedir(), '.kube', 'config');
    if (fromEnv[0] !== undefined) file = fromEnv[0];
    else if (existsSync(home)) file = home;
    else if (existsSync(join(SERVICEACCOUNT, 'token')) && env.KUBERNETES_SERVICE_HOST)
      return nativeAuth('in-cluster', readInCluster(env));
    else return clientNodeAuth(undefined);
  }
  const c = readKubeconfig(file);
  return c ? nativeAuth('kubeconfig', c) : clientNodeAuth(file);
}
