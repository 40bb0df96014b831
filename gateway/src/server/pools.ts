// One pooled keep-alive undici Pool per backend origin, shared across config revisions (a reload that
// keeps a backend keeps its warm connections). Every connection goes through the egress guard; a config
// that narrows the egress allow-list closes the pools, so no connection opened under the wider one lives on.
import { Agent, Pool } from 'undici';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import { EgressPolicy, guardedConnector, type EgressGuard } from './egress.js';
import type { GatewayMetrics } from './metrics.js';

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();
  private readonly connect;
  /**
   * For embeddings servers (any origin, few calls), through the same guard. Its idle connections close
   * after 4 s, so a narrower policy holds there within seconds without closing it.
   */
  readonly embeddings: Agent;

  constructor(
    guard: EgressGuard,
    private readonly connections = 256,
  ) {
    this.connect = guardedConnector(guard);
    this.embeddings = new Agent({ connect: this.connect, keepAliveTimeout: 4000 });
  }

  get(origin: string): Pool {
    let p = this.pools.get(origin);
    if (p === undefined) {
      p = new Pool(origin, {
        connections: this.connections,
        keepAliveTimeout: 30_000,
        // Each upstream attempt enforces its firstToken/total timeouts itself; undici's own stay out of the way.
        headersTimeout: 0,
        bodyTimeout: 0,
        pipelining: 1,
        connect: this.connect,
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  /** Drops every pool (their connections close once idle): the next request connects under the new policy. */
  reconnect(): void {
    const all = [...this.pools.values()];
    this.pools.clear();
    for (const p of all) void p.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    const all: (Pool | Agent)[] = [...this.pools.values(), this.embeddings];
    this.pools.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }
}

/**
 * The egress policy of the config in force, counted and logged when it refuses a connection (once per
 * host and reason for each config, so a refused backend does not log every request).
 */
function egressGuard(store: ConfigStore, metrics: GatewayMetrics, logger: Logger): EgressGuard {
  const policies = new WeakMap<GatewayConfig, EgressPolicy>();
  const publicOnly = new EgressPolicy([]);
  let said = new Set<string>();
  store.onChange(() => (said = new Set()));
  return {
    policy: () => {
      const config = store.current()?.config;
      if (config === undefined) return publicOnly;
      let p = policies.get(config);
      if (p === undefined) policies.set(config, (p = new EgressPolicy(config.egress?.allow ?? [])));
      return p;
    },
    refused: (e) => {
      metrics.egressRefusals.inc({ reason: e.reason });
      if (said.has(`${e.host}/${e.reason}`)) return;
      said.add(`${e.host}/${e.reason}`);
      logger.log(
        'warn',
        'Egress refused: the backend resolves to an address the ModelGateway does not allow',
        {
          host: e.host,
          address: e.address,
          reason: e.reason,
        },
      );
    },
  };
}

/** The upstream connections, under the egress policy; a config that changes it reconnects them. */
export function upstreamPools(store: ConfigStore, metrics: GatewayMetrics, logger: Logger): UpstreamPools {
  const pools = new UpstreamPools(egressGuard(store, metrics, logger));
  let allowed = '';
  store.onChange(({ config }) => {
    const now = JSON.stringify(config.egress?.allow ?? []);
    if (now !== allowed && allowed !== '') pools.reconnect();
    allowed = now;
  });
  return pools;
}
