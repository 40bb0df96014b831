// The operator's autoscaling runtime, on every replica (the APIService's Service may route the HPA's
// requests to a standby too): every scrape interval it reads the AutoscalingPolicies from the informer cache,
// scrapes the gateways they depend on, feeds the forecasts, and serves the results as external metrics.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeClient } from '../../../kube/client.js';
import { R } from '../../../kube/resources.js';
import { policyView } from './policy-view.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayEndpoints } from '../rollout/providers/endpoints.js';
import type { Cache } from '../runtime/framework.js';
import { startMetricsApi, type MetricsApiTrust } from './metrics-api.js';
import { PolicyMetrics } from './policy-metrics.js';
import { SignalScraper } from './scraper.js';
import { DEFAULT_SIGNAL_OPTIONS, GatewaySignals } from './signals.js';

export interface AutoscalingRuntimeOptions {
  endpoints: GatewayEndpoints;
  cache: Cache;
  intervalMs: number;
  log: Logger;
  now?: () => number;
}

export interface AutoscalingRuntime {
  metrics: PolicyMetrics;
  scraper: SignalScraper;
  start(): void;
  stop(): Promise<void>;
}

export function createAutoscalingRuntime(o: AutoscalingRuntimeOptions): AutoscalingRuntime {
  const now = o.now ?? Date.now;
  // Rates over at least three scrapes; an instance is gone after three missed ones.
  const windowMs = Math.max(DEFAULT_SIGNAL_OPTIONS.windowMs, 3 * o.intervalMs);
  const signals = new GatewaySignals({ windowMs, staleMs: windowMs });
  const failing = new Set<string>();
  // The two refer to each other through callbacks, which run only once both exist.
  const scraper: SignalScraper = new SignalScraper({
    endpoints: o.endpoints,
    signals,
    now,
    intervalMs: o.intervalMs,
    afterRound: () => metrics.observeRates(),
    onError: (g, reason) => {
      const k = `${g.namespace}/${g.name}`;
      if (!failing.has(k))
        o.log.warn('Cannot scrape gateway for autoscaling', {
          kind: 'ModelGateway',
          namespace: g.namespace,
          name: g.name,
          reason,
        });
      failing.add(k);
    },
  });
  const metrics = new PolicyMetrics({ signals, failures: (g) => scraper.failures(g), now });
  const refresh = (): void => {
    const views = o.cache
      .list<AutoscalingPolicy>('AutoscalingPolicy')
      .flatMap((p) => policyView(p, o.cache) ?? []);
    metrics.setPolicies(views);
    const gateways = new Map(views.map((v) => [`${v.gateway.namespace}/${v.gateway.name}`, v.gateway]));
    scraper.follow([...gateways.values()]);
    for (const k of failing)
      if ((scraper.failures(gateways.get(k) ?? { namespace: '', name: '' }) ?? 0) === 0) failing.delete(k);
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    metrics,
    scraper,
    start() {
      const tick = (): void => {
        refresh();
        void scraper.round();
      };
      timer ??= setInterval(tick, o.intervalMs);
      timer.unref();
      tick();
    },
    async stop() {
      clearInterval(timer);
      await scraper.stop();
    },
  };
}

export interface MetricsApiSettings {
  port: number;
  certDir: string;
  /** The front proxy's CA file; else the cluster's extension-apiserver-authentication ConfigMap. */
  clientCaFile?: string | undefined;
}

/** The front proxy's CA and allowed names, as the cluster publishes them for aggregated API servers. */
async function frontProxyTrust(
  client: KubeClient,
  file: string | undefined,
): Promise<{ ca: string; names: string[] }> {
  if (file !== undefined) return { ca: readFileSync(file, 'utf8'), names: [] };
  const cm = await client.get(R.ConfigMap, 'kube-system', 'extension-apiserver-authentication');
  const data = (cm.data ?? {}) as Record<string, string>;
  const ca = data['requestheader-client-ca-file'];
  if (ca === undefined) {
    throw new Error(
      'kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the API server has no front proxy configured',
    );
  }
  const names = JSON.parse(data['requestheader-allowed-names'] ?? '[]') as string[];
  return { ca, names };
}

/** How often the serving certificate and the front proxy's CA are read again (renewals, rotations). */
const TRUST_RELOAD_MS = 60_000;

/** The serving certificate and the front proxy's trust, as the API uses them. */
async function readTrust(s: MetricsApiSettings, client: KubeClient): Promise<MetricsApiTrust> {
  const trust = await frontProxyTrust(client, s.clientCaFile);
  return {
    cert: readFileSync(path.join(s.certDir, 'tls.crt'), 'utf8'),
    key: readFileSync(path.join(s.certDir, 'tls.key'), 'utf8'),
    clientCa: trust.ca,
    allowedNames: trust.names,
  };
}

const trustId = (t: MetricsApiTrust): string => JSON.stringify([t.cert, t.key, t.clientCa, t.allowedNames]);

/**
 * Starts the external metrics API; resolves once it listens. Every minute it reads its certificate (a
 * renewed Secret reaches the mounted files) and the front proxy's CA again, and serves new connections with
 * them when they changed.
 */
export async function serveExternalMetrics(
  s: MetricsApiSettings,
  client: KubeClient,
  metrics: PolicyMetrics,
  log: Logger,
): Promise<{ port: number; close(): void }> {
  let trust = await readTrust(s, client);
  const api = await startMetricsApi({
    port: s.port,
    ...trust,
    source: metrics,
    onRefused: (why) => log.warn('Refused an external metrics request', { reason: why }),
  });
  log.info('Serving external metrics', { port: api.port, group: 'external.metrics.k8s.io' });
  const reload = async (): Promise<void> => {
    const next = await readTrust(s, client);
    if (trustId(next) === trustId(trust)) return;
    api.update(next);
    trust = next;
    log.info('Reloaded the external metrics certificates', { certDir: s.certDir });
  };
  const timer = setInterval(() => {
    reload().catch((e: unknown) =>
      log.warn('Cannot reload the external metrics certificates; serving the previous ones', {
        reason: (e as Error).message,
      }),
    );
  }, TRUST_RELOAD_MS);
  timer.unref();
  return {
    port: api.port,
    close: () => {
      clearInterval(timer);
      api.server.close();
    },
  };
}
