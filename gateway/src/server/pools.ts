// One pooled keep-alive undici Pool per backend origin, shared across config revisions (a reload that
// keeps a backend keeps its warm connections).
import { Pool } from 'undici';

export class UpstreamPools {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly connections = 256) {}

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
      });
      this.pools.set(origin, p);
    }
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }
}
