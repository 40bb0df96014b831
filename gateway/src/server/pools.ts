// One pooled keep-alive undici Pool per backend origin, shared across config revisions (a reload that
// keeps a backend keeps its warm connections). Every connection goes through the egress guard; a config
// that narrows the egress allow-list closes the pools, so no connection opened under the wider one lives on.
import { Agent, Pool } from 'undici';
import { guardedConnector, type EgressGuard } from './egress.js';

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
