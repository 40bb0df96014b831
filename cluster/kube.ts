// Minimal HTTPS client for the harness's own readiness checks, authenticated with the admin client cert.
// (Tests use kubectl or @kubernetes/client-node with the kubeconfig instead.)
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export interface KubeEndpoint {
  server: string;
  caCert: string;
  clientCert: string;
  clientKey: string;
}

export interface KubeResponse {
  status: number;
  body: string;
}

export function kubeRequest(
  endpoint: KubeEndpoint,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = 5000,
  contentType = 'application/json',
): Promise<KubeResponse> {
  const url = new URL(path, endpoint.server);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: readFileSync(endpoint.caCert),
        cert: readFileSync(endpoint.clientCert),
        key: readFileSync(endpoint.clientKey),
        headers: payload === undefined ? {} : { 'content-type': contentType },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.href} timed out after ${timeoutMs}ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Polls check() every intervalMs until it returns true; throws describe() after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  options: { intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const aborted = options.abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? ` (${lastError})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}
