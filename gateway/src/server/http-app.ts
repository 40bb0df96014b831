// The gateway's HTTP surface: one node:http handler that sends the pipeline's paths (/v1 model endpoints,
// models, feedback) straight to it — unless the request came round a loop of gateways — and everything
// else — health, readiness, metrics, unknown paths — to a small express app; and how a drain closes its
// connections. With `v1ViaExpress` the /v1 paths go through express too (for the benchmark that measured
// the difference).
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { ConfigStore } from '../config/store.js';
import { gatewayError, sendError } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import type { RouteLearners } from '../routing/route-learners.js';
import type { PodState } from '../workers/pod-state.js';
import { loopRefusal, viaToken } from './loops.js';
import { requestIdOf, servesPath, type Pipeline } from './pipeline.js';

export interface HttpSurface {
  pipeline: Pipeline;
  store: ConfigStore;
  metrics: GatewayMetrics;
  /** True once the gateway is shutting down (readiness fails). */
  closing: () => boolean;
  v1ViaExpress: boolean;
  /** The learning routers, inspected and reset under /admin/router. */
  learners?: RouteLearners;
  /** In a worker of a pod: /metrics serves the pod's aggregate, /readyz names the worker. */
  pod?: Pick<PodState, 'workerId' | 'metricsText'>;
}

function expressApp(s: HttpSurface): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    res.setHeader(HEADERS.requestId, requestIdOf(req.headers));
    res.setHeader(HEADERS.configRevision, s.store.current()?.config.revision ?? 'none');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const c = s.store.current();
    if (c === undefined || s.closing())
      res.status(503).json({ status: s.closing() ? 'shutting-down' : 'no-config' });
    else
      res.json({
        status: 'ready',
        revision: c.config.revision,
        ...(s.pod !== undefined ? { worker: s.pod.workerId } : {}),
      });
  });
  app.get('/metrics', (_req, res, next) => {
    (s.pod?.metricsText() ?? s.metrics.registry.metrics())
      .then((text) => res.type(s.metrics.registry.contentType).send(text))
      .catch(next);
  });
  if (s.learners !== undefined) routerAdmin(app, s.learners);
  if (s.v1ViaExpress) app.all(/^\/v1\//, (req, res) => pipelineOrLoop(s, req, res));
  app.use((req, res) => sendError(res, gatewayError(404, `unknown path ${req.path}`, 'unknown_url')));
  return app;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * The learning routers' state, read like /metrics (counts, no request content), and their reset — which
 * forgets what every replica learnt, so it is taken only from inside the pod (kubectl port-forward arrives
 * on loopback): a client of the Service cannot reach it.
 */
function routerAdmin(app: express.Express, learners: RouteLearners): void {
  app.get('/admin/router', (_req, res) => {
    res.json({ routes: learners.routes().map((r) => ({ route: r, ...learners.state(r)?.summary })) });
  });
  app.get('/admin/router/:namespace/:name', (req, res) => {
    const state = learners.state(`${req.params.namespace}/${req.params.name}`);
    if (state === undefined)
      return sendError(res, gatewayError(404, 'no learning router for that route', 'unknown_route'));
    res.json(state);
  });
  app.post('/admin/router/:namespace/:name/reset', (req, res, next) => {
    if (!LOOPBACK.has(req.socket.remoteAddress ?? ''))
      return sendError(
        res,
        gatewayError(
          403,
          'reset the learning router from inside the pod (kubectl port-forward)',
          'forbidden',
        ),
      );
    learners
      .reset(`${req.params.namespace}/${req.params.name}`)
      .then((done) =>
        done
          ? res.json({ reset: true })
          : sendError(res, gatewayError(404, 'no learning router for that route', 'unknown_route')),
      )
      .catch(next);
  });
}

/** The pipeline, unless the request came round in a loop of gateways (loops.ts): then a 508. */
function pipelineOrLoop(s: HttpSurface, req: IncomingMessage, res: ServerResponse): void {
  const via = req.headers.via;
  const config = via !== undefined ? s.store.current()?.config : undefined;
  const loop = config !== undefined ? loopRefusal(via, viaToken(config)) : undefined;
  if (loop === undefined) return s.pipeline.handle(req, res);
  res.setHeader(HEADERS.requestId, requestIdOf(req.headers));
  s.metrics.request(NO_ROUTE, loop.status);
  sendError(res, loop);
}

const NO_ROUTE = { namespace: '', route: '', backend: '', variant: '' };

export function httpHandler(s: HttpSurface): RequestListener {
  const app = expressApp(s);
  if (s.v1ViaExpress) return app;
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    if (servesPath(q < 0 ? url : url.slice(0, q))) pipelineOrLoop(s, req, res);
    else app(req, res);
  };
}

/**
 * Draining: every answer in progress closes its connection when it is done. A client kept alive on this
 * replica (through a Service the connection outlives the endpoint) then sends its next request on a new
 * connection, to a replica that is not stopping, instead of on this one, where the end of the drain would
 * cut it. An answer whose headers are out (a stream) closes its connection as it finishes.
 */
export function closeConnectionsAfterAnswers(answering: ReadonlySet<ServerResponse>): void {
  for (const res of answering) {
    if (!res.headersSent) {
      res.setHeader('connection', 'close');
      continue;
    }
    const socket = res.socket;
    res.once('finish', () => socket?.end());
  }
}
