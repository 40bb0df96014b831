// The operator's HTTP endpoints: /healthz (the process is alive), /readyz (caches synced; a standby
// replica is ready too, so a rollout does not wait on leadership) and /metrics. Plain node:http: three
// GET routes do not need a framework in the operator's memory.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  live(): boolean;
  ready(): boolean;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(head ? undefined : body);
}

const TEXT = 'text/plain; charset=utf-8';

export function startHttpServer(port: number, registry: Registry, health: HealthSource): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const head = req.method === 'HEAD';
    if (req.method !== 'GET' && !head) return send(res, 404, TEXT, 'not found', head);
    switch (path) {
      case '/healthz': {
        const ok = health.live();
        return send(res, ok ? 200 : 503, TEXT, ok ? 'ok' : 'unhealthy', head);
      }
      case '/readyz': {
        const ok = health.ready();
        return send(res, ok ? 200 : 503, TEXT, ok ? 'ok' : 'not ready', head);
      }
      case '/metrics':
        registry
          .metrics()
          .then((text) => send(res, 200, registry.contentType, text, head))
          .catch((e: unknown) => send(res, 500, TEXT, (e as Error).message, head));
        return;
      default:
        return send(res, 404, TEXT, 'not found', head);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
