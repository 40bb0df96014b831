// The operator process (`beastmode operator`): configuration, informers, controllers, leader election,
// health and metrics endpoints, graceful shutdown.
import { loadConfig, type OperatorConfig } from './config.js';
import { createAutoscalingRuntime, serveExternalMetrics } from './autoscaling/runtime.js';
import { gatewayInstances } from './controllers/gateway-instances.js';
import { operatorControllers } from './controllers/index.js';
import { Manager } from './runtime/manager.js';
import { KubeClient } from '../../kube/client.js';
import { LeaderElector } from './runtime/leader.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { startHttpServer } from './observability/server.js';
import { Dashboard } from './dashboard/index.js';

type Logger = ReturnType<typeof createLogger>;
type Metrics = ReturnType<typeof createMetrics>;

/** The manager with every controller, and the autoscaling runtime when external metrics are served. */
function createManager(cfg: OperatorConfig, client: KubeClient, log: Logger, metrics: Metrics) {
  const manager = new Manager({
    client,
    log,
    metrics,
    namespaces: cfg.namespaces,
    identity: cfg.identity,
    gatewayImage: cfg.gatewayImage,
    debounceQuietMs: cfg.debounceMs,
    debounceMaxWaitMs: cfg.debounceMaxWaitMs,
    resyncPeriodMs: cfg.resyncSeconds * 1000,
  });
  const instances = gatewayInstances(cfg.gatewayMetricsUrls);
  instances.bind({ cache: manager.cache, client });
  const autoscaling =
    cfg.metricsApiPort > 0
      ? createAutoscalingRuntime({
          endpoints: instances.endpoints,
          cache: manager.cache,
          intervalMs: cfg.scrapeIntervalSeconds * 1000,
          log,
        })
      : undefined;
  for (const c of operatorControllers(cfg, { instances, autoscaling })) manager.add(c);
  // Built before the informers start so their first list reaches it; it reads the same informers.
  const dashboard =
    cfg.dashboardPort > 0
      ? new Dashboard(
          {
            port: cfg.dashboardPort,
            host: cfg.dashboardAddress,
            auth: cfg.dashboardAuth,
            tokenFile: cfg.dashboardTokenFile,
            kubeconfig: cfg.kubeconfig,
            namespaces: cfg.namespaces,
            scrapeIntervalMs: cfg.scrapeIntervalSeconds * 1000,
            prometheusUrl: cfg.dashboardPrometheusUrl,
          },
          {
            informer: (k) => manager.informer(k),
            cache: manager.cache,
            client,
            endpoints: instances.endpoints,
            log,
          },
        )
      : undefined;
  return { manager, autoscaling, dashboard };
}

/** Leads at once without leader election; else campaigns for the Lease and exits when it loses it. */
function lead(cfg: OperatorConfig, client: KubeClient, manager: Manager, log: Logger, metrics: Metrics) {
  const startLeading = (): void => {
    metrics.isLeader.set(1);
    log.info('Started leading', { identity: cfg.identity });
    manager.startLeading();
  };
  if (!cfg.leaderElect) {
    startLeading();
    return undefined;
  }
  const elector = new LeaderElector(client, {
    namespace: cfg.leaseNamespace,
    name: cfg.leaseName,
    identity: cfg.identity,
    leaseDurationMs: cfg.leaseDurationSeconds * 1000,
    renewDeadlineMs: cfg.renewDeadlineSeconds * 1000,
    retryPeriodMs: cfg.retryPeriodSeconds * 1000,
    onStartedLeading: startLeading,
    onStoppedLeading: () => {
      metrics.isLeader.set(0);
      log.error('Lost the leader lease: exiting so a clean instance can campaign again');
      void manager.stopLeading().finally(() => process.exit(1));
    },
    onError: (e) => log.warn('Leader election failed', { error: (e as Error).message }),
  });
  elector.start();
  return elector;
}

async function run(cfg: OperatorConfig): Promise<void> {
  const log = createLogger(cfg.logLevel);
  const metrics = createMetrics();
  const client = KubeClient.fromFile(cfg.kubeconfig);
  client.writeObserver = (verb, kind) => metrics.apiWrites.inc({ verb, kind });
  const { manager, autoscaling, dashboard } = createManager(cfg, client, log, metrics);
  const server = await startHttpServer(cfg.metricsPort, metrics.registry, {
    live: () => true,
    ready: () => manager.synced,
  });
  log.info('Operator starting', {
    identity: cfg.identity,
    controllers: manager.controllerNames,
    namespaces: cfg.namespaces ?? 'all',
    leaderElect: cfg.leaderElect,
  });
  await manager.start();
  log.info('Caches synced');
  let metricsApi: { close(): void } | undefined;
  if (autoscaling !== undefined) {
    autoscaling.start();
    const settings = {
      port: cfg.metricsApiPort,
      certDir: cfg.metricsApiCertDir,
      clientCaFile: cfg.metricsApiClientCa,
    };
    metricsApi = await serveExternalMetrics(settings, client, autoscaling.metrics, log);
  }
  await dashboard?.start();
  const elector = lead(cfg, client, manager, log, metrics);

  let shuttingDown = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (shuttingDown) return;
    shuttingDown = true;
    log.info('Shutting down', { signal });
    setTimeout(() => process.exit(1), 20_000).unref();
    await manager.stopLeading();
    await autoscaling?.stop();
    metricsApi?.close();
    await dashboard?.stop();
    await elector?.release();
    await manager.shutdown();
    server.close();
    log.info('Stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // SIGUSR1 would clash with the Node inspector; SIGHUP forces a resync (the e2e suite uses it).
  process.on('SIGHUP', () => {
    log.info('Resync requested');
    if (manager.isLeading) manager.resync();
  });
}

/** `beastmode operator [flags]`: resolves with an exit code for --help or bad flags, else keeps serving. */
export async function runOperator(argv: string[], env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const fail = (e: unknown): void => {
    process.stderr.write(
      `${JSON.stringify({ level: 'error', message: 'Operator failed', error: (e as Error).message })}\n`,
    );
  };
  let cfg: OperatorConfig | { help: string };
  try {
    cfg = loadConfig(argv, env);
  } catch (e) {
    fail(e);
    return 2;
  }
  if ('help' in cfg) {
    process.stdout.write(cfg.help);
    return 0;
  }
  try {
    await run(cfg);
  } catch (e) {
    fail(e);
    return 1;
  }
  return undefined;
}
