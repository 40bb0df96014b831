// The operator's HTTP endpoints: /healthz (the process is alive), /readyz (caches synced; a standby
// replica is ready too, so a rollout does not wait on leadership) and /metrics.
import express from 'express';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  live(): boolean;
  ready(): boolean;
}

export function startHttpServer(port: number, registry: Registry, health: HealthSource): Promise<Server> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res
      .status(health.live() ? 200 : 503)
      .type('text/plain')
      .send(health.live() ? 'ok' : 'unhealthy');
  });
  app.get('/readyz', (_req, res) => {
    res
      .status(health.ready() ? 200 : 503)
      .type('text/plain')
      .send(health.ready() ? 'ok' : 'not ready');
  });
  app.get('/metrics', (_req, res, next) => {
    registry
      .metrics()
      .then((text) => res.type(registry.contentType).send(text))
      .catch(next);
  });
  return new Promise((resolve, reject) => {
    const server = app.listen(port, (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
