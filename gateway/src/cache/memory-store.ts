// Per-replica LRU cache: a Map in recency order (a hit re-inserts its key), bounded by entry count and
// total bytes, with per-entry expiry read from the injected clock. Entries are kept encoded (UTF-8 bytes),
// so a hit writes a Buffer instead of encoding the same text again.
import type { Clock } from '../policy/types.js';
import { encodeUtf8, type CacheEntry, type EncodedEntry } from './entry.js';
import type { CacheStore } from './store.js';

export interface MemoryCacheOptions {
  clock: Clock;
  maxEntries: number;
  /** Bound on the sum of entry sizes. Default 256 MiB. */
  maxTotalBytes?: number;
}

export class MemoryCacheStore implements CacheStore {
  private readonly entries = new Map<string, { entry: EncodedEntry; bytes: number; expiresAt: number }>();
  private totalBytes = 0;
  private readonly maxTotalBytes: number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.maxTotalBytes = options.maxTotalBytes ?? 256 * 1024 * 1024;
  }

  setMaxEntries(maxEntries: number): void {
    this.options.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get(key: string): Promise<EncodedEntry | undefined> {
    const e = this.entries.get(key);
    if (e === undefined) return Promise.resolve(undefined);
    this.entries.delete(key);
    if (e.expiresAt <= this.options.clock.now()) {
      this.totalBytes -= e.bytes;
      return Promise.resolve(undefined);
    }
    this.entries.set(key, e);
    return Promise.resolve(e.entry);
  }

  set(key: string, text: CacheEntry, ttlMs: number): Promise<void> {
    const entry = encodeUtf8(text);
    const bytes = entry.bytes.length;
    const prev = this.entries.get(key);
    if (prev !== undefined) {
      this.entries.delete(key);
      this.totalBytes -= prev.bytes;
    }
    this.entries.set(key, { entry, bytes, expiresAt: this.options.clock.now() + ttlMs });
    this.totalBytes += bytes;
    while (this.entries.size > this.options.maxEntries || this.totalBytes > this.maxTotalBytes) {
      const oldest = this.entries.entries().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest[0]);
      this.totalBytes -= oldest[1].bytes;
    }
    return Promise.resolve();
  }
}
