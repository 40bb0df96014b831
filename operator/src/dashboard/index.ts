// The operator's web dashboard, wired to the rest of the operator: the informers of the five kinds (shared
// with the controllers: no watch of its own, and never one of Secrets) feed views to the SSE hub as they
// change, the collector feeds the series from the gateways' /metrics, and the server serves both. Off unless
// --dashboard-port is set.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type {
  AutoscalingPolicy,
  Canary,
  Experiment,
  ModelGateway,
  ModelRoute,
} from '../../../api/v1alpha1/index.js';
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import type { KnownKind } from '../../../kube/resources.js';
import type { Logger } from '../observability/logger.js';
import type { GatewayEndpoints } from '../rollout/providers/endpoints.js';
import type { Cache } from '../runtime/framework.js';
import type { Informer } from '../../../kube/informer.js';
import { runCanaryAction, viewerClients } from './actions.js';
import { SharedTokenAuth, TokenReviewAuth, type AuthMode, type Authenticator } from './auth.js';
import { DashboardCollector } from './collector.js';
import { runExperimentAction } from './experiment-actions.js';
import { experimentView } from './experiment-view.js';
import { PrometheusSeries } from './prometheus.js';
import { SeriesStore } from './series.js';
import { DashboardServer } from './server.js';
import { frame, SseHub } from './sse.js';
import { CanaryTimelines } from './timeline.js';
import { autoscalerView, canaryView, gatewayView, routeView, viewKey, type View } from './views.js';

export interface DashboardSettings {
  port: number;
  host?: string | undefined;
  auth: AuthMode;
  tokenFile?: string | undefined;
  kubeconfig?: string | undefined;
  namespaces?: string[] | undefined;
  scrapeIntervalMs: number;
  /** A Prometheus that scrapes the gateways: the routes' history comes from it when set. */
  prometheusUrl?: string | undefined;
}

export interface DashboardDeps {
  informer: (kind: KnownKind) => Informer;
  cache: Cache;
  client: KubeClient;
  endpoints: GatewayEndpoints;
  log: Logger;
}

const KINDS: { kind: KnownKind; view: (o: KubeObject) => View }[] = [
  { kind: 'ModelGateway', view: (o) => gatewayView(o as unknown as ModelGateway) },
  { kind: 'ModelRoute', view: (o) => routeView(o as unknown as ModelRoute) },
  { kind: 'Canary', view: (o) => canaryView(o as unknown as Canary) },
  { kind: 'AutoscalingPolicy', view: (o) => autoscalerView(o as unknown as AutoscalingPolicy) },
  { kind: 'Experiment', view: (o) => experimentView(o as unknown as Experiment) },
];

/** The page's files: next to this module under tsx; in the source tree when run from a dist/ build. */
export function staticDir(): string {
  const here = fileURLToPath(new URL('./static/', import.meta.url));
  if (existsSync(here)) return here;
  const source = fileURLToPath(new URL('../../../../operator/src/dashboard/static/', import.meta.url));
  if (existsSync(source)) return source;
  throw new Error(`the dashboard's static files are missing (looked in ${here} and ${source})`);
}

function authenticator(s: DashboardSettings, client: KubeClient): Authenticator {
  switch (s.auth) {
    case 'token':
      if (s.tokenFile === undefined)
        throw new Error('--dashboard-auth token needs --dashboard-token-file (a file holding the token)');
      return new SharedTokenAuth(s.tokenFile);
    case 'tokenreview':
      return new TokenReviewAuth(client, s.namespaces);
    default: {
      const never: never = s.auth;
      throw new Error(`unknown dashboard auth mode ${String(never)}`);
    }
  }
}

export class Dashboard {
  private readonly views = new Map<string, { view: View; json: string }>();
  readonly timelines = new CanaryTimelines();
  readonly hub: SseHub;
  readonly store: SeriesStore;
  readonly collector: DashboardCollector;
  readonly server: DashboardServer;
  private readonly prometheus: PrometheusSeries | undefined;

  /** Call before the manager starts its informers, so the first list reaches the views too. */
  constructor(
    private readonly s: DashboardSettings,
    private readonly d: DashboardDeps,
  ) {
    const auth = authenticator(s, d.client);
    const viewers = s.auth === 'tokenreview' ? viewerClients(s.kubeconfig) : undefined;
    this.prometheus =
      s.prometheusUrl === undefined
        ? undefined
        : new PrometheusSeries(s.prometheusUrl, Math.max(15, Math.round(s.scrapeIntervalMs / 1000)));
    this.hub = new SseHub(undefined, (reason) => d.log.info('Dropped a dashboard client', { reason }));
    this.store = new SeriesStore({
      capacity: Math.ceil(3600_000 / s.scrapeIntervalMs),
      maxOwners: 512,
      maxFigures: 2048,
    });
    this.collector = new DashboardCollector({
      endpoints: d.endpoints,
      cache: d.cache,
      store: this.store,
      intervalMs: s.scrapeIntervalMs,
      onError: (gateway, reason) => d.log.debug('Dashboard cannot scrape a gateway', { gateway, reason }),
      onRound: (at, figures) => {
        if (figures.size > 0)
          this.hub.publish(`points/${at}`, 'points', { at, figures: Object.fromEntries(figures) });
      },
    });
    this.server = new DashboardServer({
      port: s.port,
      host: s.host,
      staticDir: staticDir(),
      auth,
      hub: this.hub,
      source: {
        snapshot: () => this.snapshot(),
        snapshotFrame: () => frame('snapshot', this.snapshot()),
        series: (key) => this.series(key),
      },
      act:
        viewers &&
        ((p, action, ns, name, target) => {
          if (p.credential === undefined)
            return Promise.resolve({
              status: 403,
              message: 'this session has no Kubernetes identity to act with',
            });
          return target === 'experiments'
            ? runExperimentAction(viewers(p.credential), action, ns, name)
            : runCanaryAction(viewers(p.credential), action, ns, name);
        }),
      onAction: (p, action, key, outcome) =>
        d.log.info('Dashboard action', { user: p.user, action, object: key, status: outcome.status }),
    });
    for (const k of KINDS) {
      d.informer(k.kind).onChange((type, obj) => {
        if (type === 'delete') this.remove(k.view(obj).key);
        else this.upsert(k.view(obj));
      });
    }
  }

  async start(): Promise<number> {
    const port = await this.server.listen();
    this.collector.start();
    void this.collector.round();
    this.d.log.info('Serving the dashboard', { port, auth: this.s.auth });
    return port;
  }

  async stop(): Promise<void> {
    this.server.close();
    await this.collector.stop();
  }

  /** Routes from Prometheus when one is configured, else (and autoscalers always) from the rings. */
  private async series(key: string): Promise<unknown> {
    const [kind, ns = '', name = ''] = key.split('/');
    if (kind === 'route' && this.prometheus) {
      try {
        return { ...(await this.prometheus.route(ns, name, Date.now())), source: 'prometheus' };
      } catch (e) {
        throw new Error(`Prometheus did not answer the route's history: ${(e as Error).message}`);
      }
    }
    return { ...(this.store.dump(key) ?? { at: [], values: {} }), source: 'operator' };
  }

  snapshot(): { at: number; views: unknown[] } {
    return { at: Date.now(), views: [...this.views.values()].map((v) => this.withTimeline(v.view)) };
  }

  private withTimeline(v: View): unknown {
    return v.kind === 'canary' ? { ...v, timeline: this.timelines.of(v.key) } : v;
  }

  private upsert(v: View): void {
    if (v.kind === 'canary') this.timelines.observe(v, Date.now());
    const json = JSON.stringify(v);
    if (this.views.get(v.key)?.json === json) return; // a resync or a status write that changed nothing shown
    this.views.set(v.key, { view: v, json });
    this.hub.publish(v.key, 'upsert', this.withTimeline(v));
  }

  private remove(key: string): void {
    if (!this.views.delete(key)) return;
    this.timelines.forget(key);
    this.hub.publish(key, 'delete', { key });
  }
}

export { viewKey };
