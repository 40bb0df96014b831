// A cuttable TCP proxy between one process and the API server, so a suite can cut that process off without
// stopping the API server every suite shares. TLS passes through untouched (it forwards bytes), so the
// process still verifies the API server's certificate and authenticates as before. Modes:
// - `pass`: bytes flow both ways;
// - `refuse`: a new connection is reset at once, and the open ones are reset too (the server is down);
// - `blackhole`: open and new connections stay open but every byte either way is dropped (a silent,
//   half-open peer: a partition, a dead node behind a load balancer). A connection silenced once stays
//   silent after the mode goes back to `pass` (its TLS stream has lost bytes anyway): only the process's own
//   timeouts get it off such a connection, and only its new connections reach the API server again.
import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, isIP, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';

export type CutMode = 'pass' | 'refuse' | 'blackhole';

export interface CutProxy {
  /** `https://127.0.0.1:<port>`: the API server's address as the process sees it. */
  readonly server: string;
  readonly mode: CutMode;
  set(mode: CutMode): void;
  /** Connections accepted so far, and those open now (silenced ones included). */
  stats(): { accepted: number; open: number; silenced: number };
  /** A copy of `kubeconfig` whose current cluster is reached through this proxy. */
  kubeconfig(kubeconfig: string): string;
  close(): Promise<void>;
}

interface Link {
  client: Socket;
  upstream: Socket | undefined;
  silenced: boolean;
}

/** Forwards `from` to `to` unless the link is silenced, with backpressure. */
function forward(link: Link, from: Socket, to: () => Socket | undefined): void {
  from.on('data', (chunk: Buffer) => {
    const dest = to();
    if (link.silenced || dest === undefined || dest.destroyed) return;
    if (!dest.write(chunk)) {
      from.pause();
      dest.once('drain', () => from.resume());
    }
  });
}

/** Starts a proxy on a loopback port forwarding to the API server of `kubeconfig`'s current context. */
export async function startCutProxy(kubeconfig: string): Promise<CutProxy> {
  const target = new URL(serverOf(kubeconfig));
  const host = target.hostname.replace(/^\[|\]$/g, '');
  const port = Number(target.port || 443);
  let mode: CutMode = 'pass';
  let accepted = 0;
  const links = new Set<Link>();

  const drop = (link: Link): void => {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  };
  const reset = (link: Link): void => {
    links.delete(link);
    link.client.resetAndDestroy();
    link.upstream?.resetAndDestroy();
  };

  const server = createServer((client) => {
    accepted++;
    client.on('error', () => undefined);
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, silenced: mode === 'blackhole' };
    links.add(link);
    client.on('close', () => drop(link));
    forward(link, client, () => link.upstream);
    // A silenced connection never reaches the API server: nothing there to time it out.
    if (link.silenced) return;
    const upstream = createConnection({ host, port });
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.on('close', () => {
      if (!link.silenced) drop(link);
    });
    forward(link, upstream, () => link.client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  const proxyServer = `https://127.0.0.1:${address.port}`;

  return {
    server: proxyServer,
    get mode() {
      return mode;
    },
    set(next) {
      mode = next;
      for (const link of [...links]) {
        if (next === 'refuse') reset(link);
        else if (next === 'blackhole') link.silenced = true;
      }
    },
    stats: () => ({
      accepted,
      open: links.size,
      silenced: [...links].filter((l) => l.silenced).length,
    }),
    kubeconfig: (source) => throughProxy(source, proxyServer, host),
    close: async () => {
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

interface KubeconfigDoc {
  clusters: { name: string; cluster: Record<string, unknown> }[];
  contexts: { name: string; context: { cluster?: string } }[];
  'current-context': string;
}

function currentCluster(doc: KubeconfigDoc): Record<string, unknown> {
  const ctx = doc.contexts.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters.find((c) => c.name === ctx?.cluster)?.cluster;
  if (cluster === undefined) throw new Error('kubeconfig has no current cluster');
  return cluster;
}

function serverOf(kubeconfig: string): string {
  const server = currentCluster(parse(readFileSync(kubeconfig, 'utf8')) as KubeconfigDoc).server;
  if (typeof server !== 'string' || !server.startsWith('https:'))
    throw new Error(`kubeconfig ${kubeconfig}: the cut proxy needs an https server, got ${String(server)}`);
  return server;
}

/**
 * A copy of `source` (credentials, impersonation, namespace unchanged) whose cluster is `server`. The API
 * server's certificate must still verify: the local control plane's names 127.0.0.1, the proxy's address;
 * for a DNS name the original host travels as tls-server-name. (Another IP would need a cert naming it.)
 */
function throughProxy(source: string, server: string, originalHost: string): string {
  const doc = parse(readFileSync(source, 'utf8')) as KubeconfigDoc;
  const cluster = currentCluster(doc);
  cluster.server = server;
  if (isIP(originalHost) === 0) cluster['tls-server-name'] = originalHost;
  else if (originalHost !== '127.0.0.1')
    throw new Error(`the cut proxy cannot stand in for ${originalHost}: the certificate names an IP`);
  const file = join(mkdtempSync(join(tmpdir(), 'e2e-cut-')), 'kubeconfig');
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}
