// Assembles a gateway: config store and source, metrics, breakers, upstream pools, the /v1 pipeline on
// bare node:http and an express app for everything else (health, readiness, metrics, and routes added by
// the policy modules). `startGateway` is what main.ts, tests, the demo and e2e call.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { ConfigSource } from '../config/sources.js';
import { watchConfigFile, watchRoutesDir } from '../config/sources.js';
import { watchConfigMap } from '../config/configmap.js';
import { ConfigStore } from '../config/store.js';
import { defaultSecretResolver, type SecretResolver } from '../config/secrets.js';
import { createLogger, type Logger } from '../log.js';
import { CircuitBreakers, DEFAULT_BREAKER, type BreakerOptions } from '../resilience/breaker.js';
import { GatewayMetrics } from './metrics.js';
import { ObservedStatsStore } from './observed.js';
import { MODEL_ENDPOINTS, Pipeline } from './pipeline.js';
import { noopPolicy, type RequestPolicy } from './policy.js';
import { UpstreamPools } from './pools.js';
import { Proxy } from './proxy.js';
import { RecentRequests } from './recent.js';

export type ConfigOrigin =
  | { file: string }
  | { routesDir: string }
  | { configMap: { namespace: string; name: string }; kubeconfig?: string | undefined }
  /** A config object applied once (tests); more can be applied through `state.store`. */
  | { config: unknown }
  | { none: true };

export interface GatewayOptions {
  port?: number;
  host?: string;
  source: ConfigOrigin;
  secretsDir?: string | undefined;
  secrets?: SecretResolver;
  policy?: RequestPolicy;
  logger?: Logger;
  breaker?: BreakerOptions;
  /** Serve /v1/* through express instead of bare node:http (for the benchmark that decided it). */
  v1ViaExpress?: boolean;
  /** Adds routes to the express app (issue #6: feedback, admin of keys…). */
  configureApp?: (app: Express, state: GatewayState) => void;
  now?: () => number;
  random?: () => number;
}

export interface GatewayState {
  store: ConfigStore;
  metrics: GatewayMetrics;
  recent: RecentRequests;
  breakers: CircuitBreakers;
  inflight(): number;
  ready(): boolean;
}

export interface Gateway {
  url: string;
  port: number;
  state: GatewayState;
  /** Stops accepting, lets in-flight requests finish for up to `deadlineMs`, then closes everything. */
  close(deadlineMs?: number): Promise<void>;
}

function startSource(o: ConfigOrigin, store: ConfigStore, logger: Logger): ConfigSource | undefined {
  if ('file' in o) return watchConfigFile(o.file, store);
  if ('routesDir' in o) return watchRoutesDir(o.routesDir, store);
  if ('configMap' in o) {
    return watchConfigMap({
      ...o.configMap,
      kubeconfig: o.kubeconfig,
      store,
      log: (level, msg, fields) => logger.log(level, msg, fields),
    });
  }
  if ('config' in o) store.apply(o.config, 'options');
  return undefined;
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const logger = opts.logger ?? createLogger('info');
  const now = opts.now ?? Date.now;
  const metrics = new GatewayMetrics();
  const store = new ConfigStore({
    loaded: (result, revision) => {
      metrics.configLoads.inc({ result });
      if (result === 'applied' && revision !== undefined) metrics.configRevision(revision);
    },
    log: (level, msg, fields) => logger.log(level, msg, fields),
  });
  const breakers = new CircuitBreakers(opts.breaker ?? DEFAULT_BREAKER, (key, st) => {
    const [namespace = '', route = '', backend = '', variant = ''] = key.split('/');
    metrics.breaker({ namespace, route, backend, variant }, st);
    logger.log('info', 'Circuit breaker changed state', { namespace, route, backend, variant, state: st });
  });
  const observed = new ObservedStatsStore();
  const pools = new UpstreamPools();
  const recent = new RecentRequests();
  const proxy = new Proxy({
    pools,
    breakers,
    metrics,
    observed,
    secrets: opts.secrets ?? defaultSecretResolver(opts.secretsDir),
    now,
    countTokens: !opts.policy?.ownsMetrics?.tokensAndCost,
    log: (level, msg, fields) => logger.log(level, msg, fields),
  });
  const pipeline = new Pipeline({
    store,
    proxy,
    policy: opts.policy ?? noopPolicy,
    metrics,
    recent,
    breakers,
    observed,
    log: logger,
    now,
    random: opts.random ?? Math.random,
  });
  const state: GatewayState = {
    store,
    metrics,
    recent,
    breakers,
    inflight: () => pipeline.inflightRequests,
    ready: () => store.current() !== undefined,
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const id = req.headers[HEADERS.requestId];
    res.setHeader(
      HEADERS.requestId,
      typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id) ? id : randomUUID(),
    );
    res.setHeader(HEADERS.configRevision, store.current()?.config.revision ?? 'none');
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const c = store.current();
    if (c === undefined || closing) res.status(503).json({ status: closing ? 'shutting-down' : 'no-config' });
    else res.json({ status: 'ready', revision: c.config.revision });
  });
  app.get('/metrics', (_req, res, next) => {
    metrics.registry
      .metrics()
      .then((text) => res.type(metrics.registry.contentType).send(text))
      .catch(next);
  });
  if (opts.v1ViaExpress) app.all(/^\/v1\//, (req, res) => pipeline.handle(req, res));
  opts.configureApp?.(app, state);
  app.use((req, res) => {
    res.status(404).json({
      error: {
        message: `unknown path ${req.path}`,
        type: 'invalid_request_error',
        param: null,
        code: 'unknown_url',
      },
    });
  });

  const fast = !opts.v1ViaExpress;
  const server = http.createServer(
    { keepAliveTimeout: 65_000, requestTimeout: 600_000, headersTimeout: 30_000 },
    (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q < 0 ? url : url.slice(0, q);
      if (fast && (MODEL_ENDPOINTS[path] !== undefined || path === '/v1/models')) pipeline.handle(req, res);
      else app(req, res);
    },
  );
  const applyLimits = () => {
    const c = store.current()?.config;
    if (c === undefined) return;
    server.headersTimeout = c.limits.headersTimeoutSeconds * 1000;
    server.requestTimeout = c.limits.requestTimeoutSeconds * 1000;
    logger.setLevel(c.logLevel);
  };
  store.onChange(applyLimits);
  let closing = false;
  const source = startSource(opts.source, store, logger);
  applyLimits();
  if (source !== undefined && !('configMap' in opts.source)) await source.ready;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? '127.0.0.1';
  logger.log('info', 'Gateway listening', { host, port, v1: fast ? 'node:http' : 'express' });
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    state,
    close: async (deadlineMs = 10_000) => {
      closing = true;
      source?.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const until = now() + deadlineMs;
      while (pipeline.inflightRequests > 0 && now() < until) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      await pools.close();
      await opts.policy?.close?.();
    },
  };
}
