// Assembles a gateway: config store and source, metrics, breakers, upstream pools, the policy layer, the
// /v1 pipeline on bare node:http and an express app for health, readiness and metrics. `startGateway` is
// what main.ts, tests, the demo and e2e call; it runs four steps: assemble the parts, build the HTTP
// server, follow the config, listen. `close` drains requests in flight, then releases everything.
import http from 'node:http';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { KubeClient } from '../../../kube/client.js';
import net, { type AddressInfo } from 'node:net';
import { watchConfigMap } from '../config/configmap.js';
import { defaultSecretResolver, type SecretResolver } from '../config/secrets.js';
import type { ConfigSource } from '../config/sources.js';
import { watchConfigFile, watchRoutesDir } from '../config/sources.js';
import { ConfigStore } from '../config/store.js';
import { RecentRequests } from '../feedback/recent-requests.js';
import { createLogger, type Logger } from '../log.js';
import { GatewayPolicy, type PolicySettings } from '../policy/policy.js';
import { CircuitBreakers, DEFAULT_BREAKER, type BreakerOptions } from '../resilience/breaker.js';
import { ConcurrencyLimits } from '../resilience/concurrency.js';
import type { RouteLearners } from '../routing/route-learners.js';
import type { ConfigMapWatch, RouterModels } from '../routing/router-models.js';
import { AttemptRunner } from './attempt-runner.js';
import { closeConnectionsAfterAnswers, httpHandler } from './http-app.js';
import { GatewayMetrics } from './metrics.js';
import { ObservedStatsStore } from './observed.js';
import { Pipeline } from './pipeline.js';
import { shadowMirror } from '../shadow/assemble.js';
import { viaToken } from './loops.js';
import { upstreamPools, type UpstreamPools } from './pools.js';
import { followRouterModels, selectionParts } from './selection-parts.js';
import { UpstreamCaller } from './upstream-attempt.js';
import type { PodState } from '../workers/pod-state.js';
import { Tracer, type TracingOptions } from '../tracing/tracer.js';

export type ConfigOrigin =
  | { file: string }
  | { routesDir: string }
  /** The GatewayConfig ConfigMap, watched through the API server with the gateway's one client. */
  | { configMap: { namespace: string; name: string }; client: KubeClient }
  /** A config object applied once (tests); more can be applied through `state.store`. */
  | { config: unknown }
  | { none: true };

export interface GatewayOptions {
  port?: number;
  host?: string;
  source: ConfigOrigin;
  secretsDir?: string | undefined;
  secrets?: SecretResolver;
  /** How the policy layer is wired (keys file, Redis); POLICY_OFF serves without it. Default: in memory. */
  policy?: PolicySettings;
  logger?: Logger;
  breaker?: BreakerOptions;
  /**
   * How the router model ConfigMaps routes name are read; default: through the API server when the config
   * comes from a ConfigMap, none otherwise (tests inject one).
   */
  routerModelWatch?: ConfigMapWatch;
  /** How often the learning routers share their counts (ms; 0: only at close). Default 5000. */
  learnerSyncMs?: number;
  /** Serve /v1/* through express instead of bare node:http (for the benchmark that decided it). */
  v1ViaExpress?: boolean;
  now?: () => number;
  random?: () => number;
  /**
   * Set in a worker of a pod with several: what the workers share through the primary. The worker then
   * listens with SO_REUSEPORT beside the others, and /metrics serves the whole pod's figures.
   */
  pod?: PodState | undefined;
  /** Tracing while the config names none (a standalone gateway's flags), and the pod's identity. */
  tracing?: TracingOptions;
}

export interface GatewayState {
  store: ConfigStore;
  metrics: GatewayMetrics;
  recent: RecentRequests;
  breakers: CircuitBreakers;
  policy: GatewayPolicy;
  /** The learning routers of the routes that declare learning. */
  learners: RouteLearners;
  /** The router models of quality-cost routes. */
  models: RouterModels;
  inflight(): number;
  ready(): boolean;
}

export interface Gateway {
  url: string;
  port: number;
  state: GatewayState;
  /**
   * Stops accepting, lets in-flight requests finish for up to `deadlineMs`, then closes everything. For
   * `idleGraceMs` (within the deadline) connections kept alive but idle stay open: a request a client sends
   * on one in that time is answered (with `connection: close`) instead of meeting a closed socket.
   */
  close(deadlineMs?: number, idleGraceMs?: number): Promise<void>;
}

/** Everything a running gateway holds. */
interface Parts {
  state: GatewayState;
  pipeline: Pipeline;
  pools: UpstreamPools;
  logger: Logger;
  now: () => number;
  tracer: Tracer;
}

// The parser stays strict even under NODE_OPTIONS=--insecure-http-parser (conflicting Content-Length and
// Transfer-Encoding, obs-fold, bare CR or NUL in a header are request smuggling: answered 400); headers are
// bounded at node's 16 KiB whatever --max-http-header-size says; and the headers and request timeouts are
// checked every second, not node's default 30 s, so a client sending headers a byte at a time is cut off
// at limits.headersTimeoutSeconds, not up to half a minute later.
const SERVER_OPTIONS: http.ServerOptions = {
  keepAliveTimeout: 65_000,
  requestTimeout: 600_000,
  headersTimeout: 30_000,
  connectionsCheckingInterval: 1_000,
  insecureHTTPParser: false,
  maxHeaderSize: 16_384,
  requireHostHeader: true,
};

function configStore(metrics: GatewayMetrics, logger: Logger): ConfigStore {
  return new ConfigStore({
    loaded: (result, revision) => {
      metrics.configLoads.inc({ result });
      if (result === 'applied' && revision !== undefined) metrics.configRevision(revision);
    },
    log: (level, msg, fields) => logger.log(level, msg, fields),
  });
}

function circuitBreakers(opts: GatewayOptions, metrics: GatewayMetrics, logger: Logger): CircuitBreakers {
  return new CircuitBreakers(opts.breaker ?? DEFAULT_BREAKER, (key, st) => {
    const [namespace = '', route = '', backend = '', variant = ''] = key.split('/');
    metrics.breaker({ namespace, route, backend, variant }, st);
    logger.log('info', 'Circuit breaker changed state', { namespace, route, backend, variant, state: st });
  });
}

/** Before any config: a request is never sent upstream then, but the Via pseudonym needs a name. */
const NO_CONFIG = { gateway: { namespace: '', name: '' } } as GatewayConfig;

/** Step 1: the parts, wired together; nothing listens or loads yet. */
function assembleParts(opts: GatewayOptions): Parts {
  const logger = opts.logger ?? createLogger('info');
  const now = opts.now ?? Date.now;
  const metrics = new GatewayMetrics();
  const store = configStore(metrics, logger);
  const breakers = circuitBreakers(opts, metrics, logger);
  const observed = new ObservedStatsStore();
  const pools = upstreamPools(store, metrics, logger);
  const recent = new RecentRequests();
  const pod = opts.pod;
  if (pod !== undefined) {
    pod.attach(recent, metrics.registry);
    recent.elsewhere = (id) => pod.findServed(id);
  }
  const dispatcher = pools.embeddings;
  const policy = new GatewayPolicy(opts.policy ?? {}, { metrics, logger, recent, pod, dispatcher });
  const secrets = opts.secrets ?? defaultSecretResolver(opts.secretsDir);
  const self = (): string => viaToken(store.current()?.config ?? NO_CONFIG);
  const upstream = new UpstreamCaller({ pools, secrets, metrics, now, log: logger, self });
  const limits = new ConcurrencyLimits(now);
  metrics.watchBounds(() => limits.states());
  metrics.watchSemanticEntries(() => policy.semanticEntries());
  const { learners, models, routerMetrics, embeddings } = selectionParts(
    opts,
    policy,
    store,
    metrics,
    logger,
    dispatcher,
  );
  const tracer = new Tracer({ ...opts.tracing, registry: metrics.registry, log: logger });
  store.onChange((c) => {
    tracer.apply(c.config);
    const routes = [...c.routes.values()];
    limits.retain(new Set(routes.flatMap((r) => [...r.backends.values()].map((b) => b.key))));
    models.apply(c.config);
    followRouterModels(c.config, learners, models, routerMetrics);
  });
  const runner = new AttemptRunner({ upstream, breakers, limits, metrics, observed, now, log: logger });
  const random = opts.random ?? Math.random;
  const planning = {
    ...{ breakers, limits, observed, log: logger, now, random },
    ...{ learners, models, routerMetrics, embeddings },
  };
  const shadow = shadowMirror({ pools, secrets, metrics, now, log: logger, self }, store, () => pipeline);
  const deps = { store, policy, runner, planning, metrics, recent, tracer, shadow };
  const pipeline = new Pipeline({ ...deps, log: logger });
  const state: GatewayState = {
    store,
    metrics,
    recent,
    breakers,
    policy,
    learners,
    models,
    inflight: () => pipeline.inflightRequests,
    // Ready with a config, once a new replica's shared semantic cache has warmed.
    ready: () => store.current() !== undefined && policy.isWarm(),
  };
  return { state, pipeline, pools, logger, now, tracer };
}

/** Step 3: every applied config retunes the server's limits, the log level and the policy layer. */
function followConfig(parts: Parts, server: http.Server): void {
  const { store, policy } = parts.state;
  store.onChange(({ config }) => {
    server.headersTimeout = config.limits.headersTimeoutSeconds * 1000;
    server.requestTimeout = config.limits.requestTimeoutSeconds * 1000;
    parts.logger.setLevel(config.logLevel);
    policy.apply(config);
  });
}

function startSource(o: ConfigOrigin, store: ConfigStore, logger: Logger): ConfigSource | undefined {
  if ('file' in o) return watchConfigFile(o.file, store);
  if ('routesDir' in o) return watchRoutesDir(o.routesDir, store);
  if ('configMap' in o) {
    return watchConfigMap({
      ...o.configMap,
      client: o.client,
      store,
      log: (level, msg, fields) => logger.log(level, msg, fields),
    });
  }
  if ('config' in o) store.apply(o.config, 'options');
  return undefined;
}

/** Step 4. A worker of a pod binds the port itself beside its siblings: the kernel spreads connections. */
async function listen(server: http.Server, port: number, host: string, shared: boolean): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, ...(shared ? { reusePort: true, exclusive: true } : {}) }, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

async function closeGateway(
  parts: Parts,
  server: http.Server,
  source: ConfigSource | undefined,
  deadline: { ms: number; idleGraceMs: number },
  answering: ReadonlySet<http.ServerResponse>,
): Promise<void> {
  source?.stop();
  closeConnectionsAfterAnswers(answering);
  const until = parts.now() + deadline.ms;
  // http.Server#close would also close the idle keep-alive connections at once, racing a client that is
  // sending its next request on one (a POST cut after it was sent: not safe to retry). The listener stops
  // now; idle connections close after the grace, and what arrives on them meanwhile is answered.
  const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
  const grace = Math.min(deadline.idleGraceMs, deadline.ms);
  if (grace > 0) await new Promise((r) => setTimeout(r, grace));
  server.closeIdleConnections();
  while (parts.pipeline.inflightRequests > 0 && parts.now() < until)
    await new Promise((r) => setTimeout(r, 20));
  server.closeAllConnections();
  await closed;
  server.close(); // the http part of close: stops the connection-checking timer
  await parts.pools.close();
  await parts.state.learners.close();
  parts.state.models.close();
  await parts.state.policy.close();
  await parts.tracer.close();
}

export async function startGateway(opts: GatewayOptions): Promise<Gateway> {
  const parts = assembleParts(opts);
  const { state, logger } = parts;
  let closing = false;
  const v1ViaExpress = opts.v1ViaExpress === true;
  const handler = httpHandler({
    ...state,
    pipeline: parts.pipeline,
    closing: () => closing,
    v1ViaExpress,
    ...(opts.pod !== undefined ? { pod: opts.pod } : {}),
  });
  // The answers in progress, for a drain to close their connections (closeConnectionsAfterAnswers); once
  // draining, every new answer closes its connection.
  const answering = new Set<http.ServerResponse>();
  const server = http.createServer(SERVER_OPTIONS, (req, res) => {
    if (closing) res.setHeader('connection', 'close');
    else {
      answering.add(res);
      res.on('close', () => answering.delete(res));
    }
    handler(req, res);
  });
  followConfig(parts, server);
  const source = startSource(opts.source, state.store, logger);
  if (source !== undefined && !('configMap' in opts.source)) await source.ready;
  const host = opts.host ?? '127.0.0.1';
  const port = await listen(server, opts.port ?? 0, host, opts.pod !== undefined);
  logger.log('info', 'Gateway listening', { host, port, v1: v1ViaExpress ? 'express' : 'node:http' });
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    port,
    state,
    close: async (deadlineMs = 10_000, idleGraceMs = 0) => {
      closing = true;
      await closeGateway(parts, server, source, { ms: deadlineMs, idleGraceMs }, answering);
    },
  };
}
