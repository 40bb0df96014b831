// Redis-backed limits that survive a Redis outage, per GatewayConfig redis.failurePolicy:
// - "local": enforce the same limits per replica (a MemoryLimitStore) until Redis answers again. Budget
//   counters are seeded with the last values seen in Redis, and budget spend made locally is replayed
//   into Redis on recovery, so an outage neither lets unlimited traffic through nor loses spend.
// - "closed": refuse requests that have limits or budgets (StoreUnavailableError → 503).
// The first failure flips the store to degraded (logged once, gauge beastmode_redis_up=0); from then on
// requests skip Redis and a probe PINGs it every probeMs; the first PONG flips it back (logged once).
import type { Redis } from 'ioredis';
import type { Gauge } from 'prom-client';
import type { Logger } from '../log.js';
import type { Clock } from '../policy/types.js';
import { MemoryLimitStore } from './memory-store.js';
import { RedisLimitStore } from './redis-store.js';
import type { AdjustRequest, LimitStore, ReserveRequest, ReserveResult, StoreRoute } from './store.js';

export type FailurePolicy = 'local' | 'closed';

export class StoreUnavailableError extends Error {
  constructor() {
    super('shared limit store unavailable and redis.failurePolicy is closed');
  }
}

export interface ResilientStoreOptions {
  failurePolicy: FailurePolicy;
  logger: Logger;
  clock: Clock;
  /** Gauge beastmode_redis_up (1 reachable, 0 not), labelled by component. */
  upGauge: Gauge<'component'>;
  probeMs?: number;
  /** Most budget counters remembered for seeding. */
  maxSeeds?: number;
}

export class ResilientLimitStore implements LimitStore {
  private readonly remote: RedisLimitStore;
  readonly local = new MemoryLimitStore();
  private healthy = true;
  private probe: NodeJS.Timeout | undefined;
  private readonly lastSeen = new Map<string, { usedUsd: number; expireAtMs: number }>();
  private readonly pendingSpend = new Map<string, { deltaUsd: number; expireAtMs: number }>();
  private readonly probeMs: number;
  private readonly maxSeeds: number;

  constructor(
    private readonly redis: Redis,
    private readonly options: ResilientStoreOptions,
  ) {
    this.remote = new RedisLimitStore(redis);
    this.probeMs = options.probeMs ?? 1000;
    this.maxSeeds = options.maxSeeds ?? 100_000;
    options.upGauge.set({ component: 'limits' }, 1);
  }

  setFailurePolicy(policy: FailurePolicy): void {
    this.options.failurePolicy = policy;
  }

  get isHealthy(): boolean {
    return this.healthy;
  }

  async reserve(req: ReserveRequest, nowMs: number): Promise<ReserveResult> {
    if (this.healthy) {
      try {
        const result = await this.remote.reserve(req, nowMs);
        this.remember(req, result.budgetUsedUsd);
        return { ...result, via: 'redis' };
      } catch (err) {
        this.markDown(err);
      }
    }
    if (this.options.failurePolicy === 'closed') throw new StoreUnavailableError();
    const result = this.local.reserve(req, nowMs);
    if (result.ok) {
      for (const b of req.budgets) this.addPending(b.key, b.amountUsd, b.expireAtMs);
    }
    return { ...result, via: 'local' };
  }

  async adjust(req: AdjustRequest, nowMs: number, route: StoreRoute = 'redis'): Promise<void> {
    if (route === 'redis' && this.healthy) {
      try {
        await this.remote.adjust(req, nowMs);
        return;
      } catch (err) {
        this.markDown(err);
      }
    }
    // Settling locally: a Redis reservation whose settle cannot reach Redis, or a local one.
    this.local.adjust(req, nowMs);
    for (const b of req.budgets) {
      // A Redis reservation is already in Redis: only the correction is owed. A local one owes it all
      // (its reservation was added to pendingSpend at reserve time).
      this.addPending(b.key, b.deltaUsd, b.expireAtMs);
    }
    if (this.healthy) this.flushPending().catch((err: unknown) => this.markDown(err));
  }

  close(): void {
    if (this.probe) clearInterval(this.probe);
    this.probe = undefined;
  }

  private remember(req: ReserveRequest, used: number[]): void {
    req.budgets.forEach((b, i) => {
      this.lastSeen.delete(b.key);
      this.lastSeen.set(b.key, { usedUsd: used[i] ?? 0, expireAtMs: b.expireAtMs });
    });
    while (this.lastSeen.size > this.maxSeeds) {
      const oldest = this.lastSeen.keys().next().value;
      if (oldest === undefined) break;
      this.lastSeen.delete(oldest);
    }
  }

  private addPending(key: string, deltaUsd: number, expireAtMs: number): void {
    if (deltaUsd === 0) return;
    const p = this.pendingSpend.get(key);
    this.pendingSpend.set(key, { deltaUsd: (p?.deltaUsd ?? 0) + deltaUsd, expireAtMs });
  }

  private markDown(err: unknown): void {
    if (!this.healthy) return;
    this.healthy = false;
    this.options.upGauge.set({ component: 'limits' }, 0);
    const mode =
      this.options.failurePolicy === 'local'
        ? 'enforcing limits and budgets per replica'
        : 'refusing requests that have limits or budgets';
    this.options.logger.log('error', `Redis unreachable, ${mode}`, {
      component: 'limits',
      failurePolicy: this.options.failurePolicy,
      error: err instanceof Error ? err.message : String(err),
    });
    for (const [key, seen] of this.lastSeen) this.local.seedBudget(key, seen.usedUsd, seen.expireAtMs);
    this.probe = setInterval(() => void this.tryRecover(), this.probeMs);
    this.probe.unref();
  }

  /** One probe: PING, then replay local budget spend; on success the store is healthy again. */
  async tryRecover(): Promise<boolean> {
    if (this.healthy) return true;
    try {
      await this.redis.ping();
      await this.flushPending();
    } catch {
      return false;
    }
    this.healthy = true;
    this.close();
    this.options.upGauge.set({ component: 'limits' }, 1);
    this.options.logger.log('info', 'Redis reachable again, enforcing shared limits', {
      component: 'limits',
    });
    return true;
  }

  /** Replays budget spend made locally into Redis. Entries leave the map before the await, so two
   * concurrent flushes never apply one twice; a failed entry goes back. */
  private async flushPending(): Promise<void> {
    const entries = [...this.pendingSpend];
    this.pendingSpend.clear();
    for (const [i, [key, p]] of entries.entries()) {
      try {
        await this.remote.adjust(
          { periodMs: 60_000, rates: [], budgets: [{ key, ...p }] },
          this.options.clock.now(),
        );
      } catch (err) {
        for (const [k, rest] of entries.slice(i)) this.addPending(k, rest.deltaUsd, rest.expireAtMs);
        throw err;
      }
    }
  }
}
