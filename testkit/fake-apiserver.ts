// A fake Kubernetes API server for unit tests of what lists and watches: plain HTTP on a loopback port,
// every request handed to the test, and a kubeconfig pointing at it (so the code under test loads its
// credentials the way it does in production). Watch streams are kept open until the test ends them.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type FakeApiHandler = (url: URL, res: http.ServerResponse, req: http.IncomingMessage) => void;

export interface FakeApiServer {
  /** A kubeconfig whose current context is this server, with a bearer token. */
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startFakeApiServer(handle: FakeApiHandler): Promise<FakeApiServer> {
  const server = http.createServer((req, res) => handle(new URL(req.url ?? '/', 'http://fake'), res, req));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const kubeconfig = join(mkdtempSync(join(tmpdir(), 'fake-apiserver-')), 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u', namespace: 'llm' } }],
      'current-context': 'x',
    }),
  );
  return {
    kubeconfig,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export const isWatch = (url: URL): boolean => url.searchParams.get('watch') === 'true';

/** Answers 200 with a JSON body. */
export function sendJson(res: http.ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Answers with a Status object, as the API server does for errors. */
export function sendStatus(res: http.ServerResponse, code: number, reason: string, message: string): void {
  sendJson(res, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message }, code);
}

/** Starts a watch stream: headers now, events with watchLine() later. */
export function openWatch(res: http.ServerResponse): http.ServerResponse {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  return res;
}

export const watchLine = (type: string, object: unknown): string => `${JSON.stringify({ type, object })}\n`;

export const listOf = (kind: string, resourceVersion: string, items: unknown[]) => ({
  kind: `${kind}List`,
  apiVersion: 'v1',
  metadata: { resourceVersion },
  items,
});
