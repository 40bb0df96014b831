// Where a ModelGateway's instances serve /metrics. In a cluster: the Running pods matched by the gateway's
// status.selector (podIP:port/metrics). For local processes (demo, e2e): a static map from the operator flag
// `--gateway-metrics-url <gateway>=<url>[,…]` (or BEASTMODE_GATEWAY_METRICS_URLS).
import type { V1Pod } from '@kubernetes/client-node';

export interface GatewayRef {
  namespace: string;
  name: string;
}

export interface GatewayEndpoints {
  /** The /metrics URLs of every instance of the gateway; empty when none is known. */
  resolve(gateway: GatewayRef): Promise<string[]>;
}

/**
 * Parses `default=http://127.0.0.1:8080/metrics,llm/edge=http://…` — a gateway as `name` (any namespace) or
 * `namespace/name`; repeat a gateway for several instances. A URL without a path gets `/metrics`.
 */
export function parseGatewayMetricsUrls(value: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of value.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`--gateway-metrics-url: "${part}" is not <gateway>=<url>`);
    const key = part.slice(0, eq).trim();
    let url: URL;
    try {
      url = new URL(part.slice(eq + 1).trim());
    } catch {
      throw new Error(`--gateway-metrics-url: "${part.slice(eq + 1)}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`--gateway-metrics-url: ${url.href} must be http(s)`);
    }
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/metrics';
    out.set(key, [...(out.get(key) ?? []), url.href]);
  }
  return out;
}

export class StaticGatewayEndpoints implements GatewayEndpoints {
  constructor(private readonly urls: Map<string, string[]>) {}

  resolve(gateway: GatewayRef): Promise<string[]> {
    return Promise.resolve(
      this.urls.get(`${gateway.namespace}/${gateway.name}`) ?? this.urls.get(gateway.name) ?? [],
    );
  }
}

const DEFAULT_METRICS_PORT = 8080;

/** The port of the gateway container that serves /metrics: one named "metrics", else "http", else the first. */
export function metricsPort(pod: V1Pod): number {
  const ports = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const named = ports.find((p) => p.name === 'metrics') ?? ports.find((p) => p.name === 'http') ?? ports[0];
  return named?.containerPort ?? DEFAULT_METRICS_PORT;
}

function isReady(pod: V1Pod): boolean {
  return (
    pod.status?.phase === 'Running' &&
    pod.status.podIP !== undefined &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** What the cluster resolver reads: the gateway's pod selector (status.selector) and its pods. */
export interface PodSource {
  gatewaySelector(gateway: GatewayRef): string | undefined;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
}

export class KubeGatewayEndpoints implements GatewayEndpoints {
  /** `source` may be unset until the controller has a client (it binds one on its first reconcile). */
  constructor(private readonly source: () => PodSource | undefined) {}

  async resolve(gateway: GatewayRef): Promise<string[]> {
    const src = this.source();
    const selector = src?.gatewaySelector(gateway);
    if (src === undefined || selector === undefined || selector === '') return [];
    const pods = await src.listPods(gateway.namespace, selector);
    return pods
      .filter(isReady)
      .map((p) => {
        const ip = p.status?.podIP ?? '';
        const host = ip.includes(':') ? `[${ip}]` : ip;
        return `http://${host}:${metricsPort(p)}/metrics`;
      })
      .sort();
  }
}

/** The static map first (local processes), then the cluster. */
export class ChainedGatewayEndpoints implements GatewayEndpoints {
  constructor(private readonly resolvers: GatewayEndpoints[]) {}

  async resolve(gateway: GatewayRef): Promise<string[]> {
    for (const r of this.resolvers) {
      const urls = await r.resolve(gateway);
      if (urls.length > 0) return urls;
    }
    return [];
  }
}
