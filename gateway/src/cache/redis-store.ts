// Shared cache in Redis: one key per entry with its TTL (SET … PX), so replicas share hits. Eviction
// under memory pressure is Redis's (run it with maxmemory and an allkeys-lru policy). Values are JSON,
// deflated above compressAboveBytes when compression is on: a one-byte header says which.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import type { CacheEntry } from './entry.js';
import type { CacheStore } from './store.js';

const RAW = 0;
const DEFLATE = 1;

export interface RedisCacheOptions {
  prefix: string;
  compress?: boolean;
  compressAboveBytes?: number;
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

export class RedisCacheStore implements CacheStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: RedisCacheOptions,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const buf = await this.redis.getBuffer(`${this.options.prefix}:cache:${key}`);
    return buf === null ? undefined : decodeEntry(buf);
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    const value = encodeEntry(entry, this.options.compress ?? false, this.options.compressAboveBytes);
    await this.redis.set(`${this.options.prefix}:cache:${key}`, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }
}
