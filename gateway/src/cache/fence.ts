// The fence between the cache and the producers a config retired. Each applied config names the producers
// it serves (cache/producer.ts); from that moment the cache neither returns nor stores an entry of any
// other producer — requests already in flight on the previous config included — so a rolled-back canary's
// answers stop at the config apply, on every replica, whatever the store. The retired producers' entries
// are then deleted in the background (one purge at a time), counted, timed and logged.
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from '../log.js';
import type { Clock } from '../policy/types.js';
import { retiredProducers } from './producer.js';
import type { CacheStore, PurgeResult } from './store.js';

/** The fence's metrics (the gateway's registry holds them). */
export interface FenceMetrics {
  /** beastmode_cache_fenced_entries_total{store}: entries deleted because their producer retired. */
  fencedEntries: Counter<'store'>;
  /** beastmode_cache_last_fence_timestamp_seconds: when a config last retired a producer. */
  lastFence: Gauge;
  /** beastmode_cache_last_fence_purge_seconds: how long deleting the last fence's entries took. */
  lastFencePurge: Gauge;
}

export interface FenceDeps {
  store: CacheStore;
  metrics: FenceMetrics;
  logger: Logger;
  clock: Clock;
}

/** What one fence came to: the log line's fields. */
export interface FenceReport extends PurgeResult {
  revision: string;
  producers: string[];
  store: CacheStore['kind'];
  purgeMs: number;
}

export class CacheFence {
  private live: ReadonlySet<string> | undefined;
  private purging: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: FenceDeps) {}

  /** Whether the config being served has this producer (everything is, before the first config). */
  serves(producer: string): boolean {
    return this.live === undefined || this.live.has(producer);
  }

  /**
   * Serves the producers of a newly applied config from now on. When it retired some, resolves with the
   * report once their entries are deleted; otherwise at once with undefined.
   */
  follow(live: ReadonlySet<string>, revision: string): Promise<FenceReport | undefined> {
    const before = this.live;
    this.live = live;
    const retired = before === undefined ? [] : retiredProducers(before, live);
    if (retired.length === 0) return Promise.resolve(undefined);
    const fencedAt = this.deps.clock.now();
    this.deps.metrics.lastFence.set(fencedAt / 1000);
    const report = this.purging.then(() => this.purge(retired, fencedAt, revision));
    this.purging = report.catch(() => undefined);
    return report;
  }

  private async purge(producers: string[], fencedAt: number, revision: string): Promise<FenceReport> {
    const { store, metrics, logger, clock } = this.deps;
    const result = await store.purge(producers);
    const report: FenceReport = {
      ...result,
      revision,
      producers,
      store: store.kind,
      purgeMs: clock.now() - fencedAt,
    };
    if (result.deleted > 0) metrics.fencedEntries.inc({ store: store.kind }, result.deleted);
    metrics.lastFencePurge.set(report.purgeMs / 1000);
    logger.log(result.complete ? 'info' : 'warn', 'Cache entries of a retired producer fenced', {
      component: 'cache',
      ...report,
    });
    return report;
  }
}
