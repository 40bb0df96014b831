// Shared cache in Redis: one key per entry with its TTL (SET … PX), so replicas share hits. Eviction
// under memory pressure is Redis's (run it with maxmemory and an allkeys-lru policy). Values are JSON,
// deflated above compressAboveBytes when compression is on: a one-byte header says which.
//
// Keys are `<prefix>:cache:<producer>:<request key>`, so a retired producer's entries are found by prefix:
// the replica that claims a producer's purge first (SET NX) walks the keyspace with SCAN MATCH, deleting
// batch by batch with UNLINK, one round trip at a time and within a time bound; replicas that apply the
// same config meanwhile skip it. The claim goes when the purge ends, so a later retirement of the same
// producer (a rolled-back revision rolled out and back again) is purged again.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { systemClock, type Clock } from '../policy/types.js';
import type { CacheEntry } from './entry.js';
import type { CacheStore, FoundEntry, PurgeResult } from './store.js';

const RAW = 0;
const DEFLATE = 1;
/** How long a purge claim holds at most, should its replica die mid-purge. */
const CLAIM_MS = 60_000;

export interface RedisCacheOptions {
  prefix: string;
  compress?: boolean;
  compressAboveBytes?: number;
  /** For the purge's time bound. */
  clock?: Clock;
  /** A purge stops after this long; what it leaves is never looked up and expires with its TTL. */
  purgeBoundMs?: number;
  /** Keys SCAN examines per round trip. */
  scanCount?: number;
}

export function encodeEntry(entry: CacheEntry, compress: boolean, threshold = 1024): Buffer {
  const json = Buffer.from(JSON.stringify(entry));
  if (!compress || json.length < threshold) return Buffer.concat([Buffer.from([RAW]), json]);
  return Buffer.concat([Buffer.from([DEFLATE]), deflateRawSync(json, { level: 1 })]);
}

export function decodeEntry(buf: Buffer): CacheEntry {
  const body = buf.subarray(1);
  const json = buf[0] === DEFLATE ? inflateRawSync(body) : body;
  return JSON.parse(json.toString()) as CacheEntry;
}

/** A literal for a SCAN MATCH pattern. */
const globLiteral = (s: string): string => s.replace(/[*?[\]\\]/g, '\\$&');

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';

  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCacheOptions,
  ) {}

  async find(producers: readonly string[], request: string): Promise<FoundEntry | undefined> {
    if (producers.length === 1) {
      const buf = await this.redis.getBuffer(this.key(producers[0] as string, request));
      return buf === null ? undefined : { producerIndex: 0, entry: decodeEntry(buf) };
    }
    if (producers.length === 0) return undefined;
    const bufs = await this.redis.mgetBuffer(...producers.map((p) => this.key(p, request)));
    const i = bufs.findIndex((b) => b !== null);
    return i < 0 ? undefined : { producerIndex: i, entry: decodeEntry(bufs[i] as Buffer) };
  }

  async set(producer: string, request: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    const value = encodeEntry(entry, this.options.compress ?? false, this.options.compressAboveBytes);
    await this.redis.set(this.key(producer, request), value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async purge(producers: readonly string[]): Promise<PurgeResult> {
    const clock = this.options.clock ?? systemClock;
    const until = clock.now() + (this.options.purgeBoundMs ?? 60_000);
    const result: PurgeResult = { deleted: 0, purgedElsewhere: 0, complete: true };
    try {
      for (const producer of producers) {
        const claim = `${this.options.prefix}:cache-purge:${producer}`;
        if ((await this.redis.set(claim, '1', 'PX', CLAIM_MS, 'NX')) !== 'OK') {
          result.purgedElsewhere++;
          continue;
        }
        const done = await this.purgeOne(producer, until, clock, result);
        await this.redis.del(claim);
        if (!done) return { ...result, complete: false };
      }
    } catch (err) {
      return { ...result, complete: false, error: err instanceof Error ? err.message : String(err) };
    }
    return result;
  }

  /** Deletes one producer's keys; false when the time bound cut it short. */
  private async purgeOne(
    producer: string,
    until: number,
    clock: Clock,
    result: PurgeResult,
  ): Promise<boolean> {
    const match = `${globLiteral(this.options.prefix)}:cache:${producer}:*`;
    const count = this.options.scanCount ?? 500;
    let cursor = '0';
    do {
      if (clock.now() > until) return false;
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', match, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) result.deleted += await this.redis.unlink(...keys);
    } while (cursor !== '0');
    return true;
  }

  private key(producer: string, request: string): string {
    return `${this.options.prefix}:cache:${producer}:${request}`;
  }
}
